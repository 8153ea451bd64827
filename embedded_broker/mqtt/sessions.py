"""Session state that outlives a connection: subscriptions, in-flight and queued messages, will, expiry.

Delivery decisions for one client live here (window, queue bound, hold gate); the wire work is the
connection's. A session has at most one connection; take-over swaps it deterministically in the engine.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

from embedded_broker.mqtt.codec.packets import Will
from embedded_broker.mqtt.codec.reason_codes import ReasonCode
from embedded_broker.mqtt.inflight import Inflight, OutFlight
from embedded_broker.mqtt.limits import Limits
from embedded_broker.mqtt.message import Message
from embedded_broker.mqtt.subscriptions import SubOptions

if TYPE_CHECKING:
    from embedded_broker.mqtt.connection import Connection
    from embedded_broker.mqtt.extension import ClientInfo
    from embedded_broker.mqtt.stats import Stats

NEVER_EXPIRES = 0xFFFFFFFF


class Session:
    """One client id's state; `connection` is None while the client is offline."""

    __slots__ = (
        "__weakref__",
        "client_id",
        "connection",
        "expiry_handle",
        "expiry_interval",
        "held",
        "incoming_qos2",
        "inflight",
        "key",
        "limits",
        "queue",
        "stats",
        "subscriptions",
        "will",
        "will_client",
        "will_handle",
    )

    def __init__(self, client_id: str, limits: Limits, stats: Stats, key: str | None = None) -> None:
        self.client_id = client_id
        self.key = key or client_id  # what the store files it under (see AuthResult.session_key)
        self.limits = limits
        self.stats = stats
        self.connection: Connection | None = None
        self.subscriptions: dict[str, SubOptions] = {}
        self.inflight = Inflight()
        self.queue: deque[tuple[Message, int, bool, tuple[int, ...]]] = deque()
        self.incoming_qos2: set[int] = set()
        self.expiry_interval = 0
        self.expiry_handle: asyncio.TimerHandle | None = None
        self.will: Will | None = None
        self.will_client: ClientInfo | None = None
        self.will_handle: asyncio.TimerHandle | None = None
        self.held = False

    def __repr__(self) -> str:
        return f"Session({self.client_id!r}, online={self.connection is not None})"

    def deliver(self, message: Message, qos: int, retain: bool, sub_ids: tuple[int, ...]) -> None:
        """Send now if possible, else queue (QoS > 0, or anything while held), within the limits."""
        conn = self.connection
        if conn is None or self.held:
            if qos or self.held:
                self._enqueue(message, qos, retain, sub_ids)
            return
        if not qos:
            conn.send_publish(message, 0, retain, sub_ids, None, False)
            return
        if self.queue:  # keep order behind already queued messages
            self._enqueue(message, qos, retain, sub_ids)
            self.drain()
            return
        if len(self.inflight) >= conn.send_window:
            self._enqueue(message, qos, retain, sub_ids)
            return
        pid = self.inflight.add(OutFlight(message, qos, retain, sub_ids))
        conn.send_publish(message, qos, retain, sub_ids, pid, False)

    def _enqueue(self, message: Message, qos: int, retain: bool, sub_ids: tuple[int, ...]) -> None:
        if len(self.queue) >= self.limits.max_queued:
            self.stats.dropped += 1
            conn = self.connection
            if conn is not None and conn.version == 5 and not self.held:
                conn.abort_with(ReasonCode.QUOTA_EXCEEDED, "too many undelivered messages for this client")
            return
        self.queue.append((message, qos, retain, sub_ids))

    def resume(self) -> None:
        """After (re)connect: resend unacknowledged messages with DUP / PUBREL, then drain the queue."""
        conn = self.connection
        if conn is None:
            return
        for pid, flight in self.inflight.items():
            if flight.released:
                conn.send_pubrel(pid)
            elif flight.message.expired():
                self.inflight.pop(pid)
            else:
                conn.send_publish(flight.message, flight.qos, flight.retain, flight.sub_ids, pid, True)
        self.drain()

    def drain(self) -> None:
        """Move queued messages into the window while there is room (called after acks and on release)."""
        conn = self.connection
        if conn is None or self.held:
            return
        queue = self.queue
        window = conn.send_window
        inflight = self.inflight
        while queue and (len(inflight) < window or not queue[0][1]):
            message, qos, retain, sub_ids = queue.popleft()
            if message.expired():
                continue
            if qos:
                pid = inflight.add(OutFlight(message, qos, retain, sub_ids))
                conn.send_publish(message, qos, retain, sub_ids, pid, False)
            else:
                conn.send_publish(message, 0, retain, sub_ids, None, False)

    def acknowledge(self, packet_id: int) -> bool:
        """PUBACK or PUBCOMP: free the slot and refill the window; False if the id was unknown."""
        if self.inflight.pop(packet_id) is None:
            return False
        if self.queue:
            self.drain()
        return True

    def cancel_timers(self) -> None:
        """Stop pending expiry and will-delay timers."""
        for handle in (self.expiry_handle, self.will_handle):
            if handle is not None:
                handle.cancel()
        self.expiry_handle = None
        self.will_handle = None


class SessionStore:
    """All sessions by session key (the client id unless the extension namespaces it)."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, key: str) -> Session | None:
        """The session filed under `key`, if one exists."""
        return self._sessions.get(key)

    def add(self, session: Session) -> None:
        """Register a new session (replacing any with the same key)."""
        self._sessions[session.key] = session

    def remove(self, session: Session) -> None:
        """Forget `session` if it is still the registered one for its key."""
        if self._sessions.get(session.key) is session:
            del self._sessions[session.key]

    def all(self) -> list[Session]:
        """Every session (snapshot)."""
        return list(self._sessions.values())

    def online(self) -> list[Any]:
        """Connections of every online session."""
        return [s.connection for s in self._sessions.values() if s.connection is not None]
