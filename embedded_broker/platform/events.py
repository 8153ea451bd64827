"""The platform's event log: connections, refusals with reasons, registrations, tokens, PoP and uploads.

The REST event stream and the workbench's live view read it; a bounded ring keeps the recent past for new
listeners, and every subscriber gets its own bounded queue so a slow reader never stalls the broker.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

from embedded_broker.platform.formats import iso_ms

log = logging.getLogger("embedded_broker.platform")
_HISTORY = 500
_QUEUE = 1000


class PlatformEvents:
    """Append-only event log with fan-out; `emit` is cheap and never blocks."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._ids = itertools.count(1)
        self.history: collections.deque[dict[str, Any]] = collections.deque(maxlen=_HISTORY)
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()
        self._callbacks: list[Callable[[dict[str, Any]], None]] = []

    def emit(self, kind: str, message: str, *, tenant: str = "", device: str = "", **detail: Any) -> dict[str, Any]:
        """Record one event; `message` is the sentence a person reads."""
        event = {"id": next(self._ids), "time": iso_ms(self._clock()), "kind": kind, "tenant": tenant,
                 "device": device, "message": message, "detail": detail}
        self.history.append(event)
        log.info("%s %s %s", kind, tenant, message)
        for queue in tuple(self._queues):
            if queue.full():
                queue.get_nowait()  # drop the oldest for a slow reader rather than grow without bound
            queue.put_nowait(event)
        for callback in tuple(self._callbacks):
            try:
                callback(event)
            except Exception:
                log.exception("platform event callback failed")
        return event

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        """A queue that receives every future event (call `unsubscribe` when done)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(_QUEUE)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """Stop feeding a queue."""
        self._queues.discard(queue)

    def close(self) -> None:
        """End every subscriber's stream (a None arrives in each queue) so servers can shut down at once."""
        for queue in tuple(self._queues):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(None)  # type: ignore[arg-type]

    def add_callback(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """Call `callback(event)` synchronously for every future event (tests and the CLI use it)."""
        self._callbacks.append(callback)

    def recent(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The remembered events, oldest first, optionally of one kind."""
        return [e for e in self.history if kind is None or e["kind"] == kind]
