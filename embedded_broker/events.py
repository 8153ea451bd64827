"""The broker's event stream: what happened to which client and why, for the console, the platform and tests."""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("embedded_broker.events")


class EventKind(enum.Enum):
    """Kinds of broker events."""

    CONNECTED = "connected"
    REFUSED = "refused"
    DISCONNECTED = "disconnected"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    TLS_FAILED = "tls_failed"
    SESSION_EXPIRED = "session_expired"
    STATS = "stats"


@dataclass(frozen=True, slots=True)
class BrokerEvent:
    """One event; `reason_code` is a v5 reason code value, `reason` a sentence for people."""

    kind: EventKind
    client_id: str = ""
    listener: str = ""
    peer: str = ""
    reason_code: int = 0
    reason: str = ""
    identity: Any = None
    detail: dict[str, Any] = field(default_factory=dict)
    timestamp: float = field(default_factory=time.time)


EventListener = Callable[[BrokerEvent], None]


class EventBus:
    """Calls listeners synchronously on the broker loop; a failing listener is logged, never fatal."""

    def __init__(self) -> None:
        self._listeners: list[EventListener] = []

    def add(self, listener: EventListener) -> None:
        """Register a callback for every future event."""
        self._listeners.append(listener)

    def remove(self, listener: EventListener) -> None:
        """Stop calling `listener` (no error if it was not registered)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def emit(self, kind: EventKind, **fields: Any) -> None:
        """Build and deliver an event, only if anyone listens."""
        if not self._listeners:
            return
        event = BrokerEvent(kind, **fields)
        for listener in tuple(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("broker event listener %r failed on %s", listener, kind.value)
