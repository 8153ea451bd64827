"""The broker core shared by all connections: routing, session attach/take-over/expiry, wills, batched flushing.

Everything here runs on the broker's event loop; nothing blocks and nothing sleeps. Take-over is
deterministic: the old connection is closed and its will handled before the new CONNACK is written.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from embedded_broker.events import EventBus, EventKind
from embedded_broker.mqtt.codec.packets import Will
from embedded_broker.mqtt.codec.reason_codes import ReasonCode
from embedded_broker.mqtt.extension import Action, ClientInfo, Hooks
from embedded_broker.mqtt.limits import Limits
from embedded_broker.mqtt.message import Message
from embedded_broker.mqtt.retain import RetainStore
from embedded_broker.mqtt.sessions import NEVER_EXPIRES, Session, SessionStore
from embedded_broker.mqtt.stats import Stats
from embedded_broker.mqtt.subscriptions import TopicTree

if TYPE_CHECKING:
    from embedded_broker.mqtt.connection import Connection

log = logging.getLogger("embedded_broker.engine")



class Engine:
    """Routing and session state for every listener of one broker."""

    def __init__(self, limits: Limits, events: EventBus, extension: object | None = None,
                 server_keep_alive: int | None = None, version: str = "embedded-broker") -> None:
        self.limits = limits
        self.events = events
        self.hooks = Hooks(extension)
        self.server_keep_alive = server_keep_alive
        self.version = version
        self.stats = Stats()
        self.sessions = SessionStore()
        self.tree = TopicTree()
        self.retained = RetainStore()
        self.connections: dict[str, Connection] = {}
        self.all_connections: set[Connection] = set()
        self._dirty: list[Connection] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ids = itertools.count(1)
        self._id_prefix = f"auto-{os.getpid():x}-"
        self._sys_handle: asyncio.TimerHandle | None = None

    def set_extension(self, extension: object | None) -> None:
        """Install (or remove) the platform extension; its hooks are resolved once here."""
        self.hooks = Hooks(extension)

    def new_client_id(self) -> str:
        """A unique client identifier for a client that sent an empty one."""
        return f"{self._id_prefix}{next(self._ids)}"

    # ---------------------------------------------------------------- output batching

    def mark_dirty(self, conn: Connection) -> None:
        """Schedule one flush for this loop iteration (the first write of a connection calls this)."""
        dirty = self._dirty
        if not dirty:
            loop = self._loop
            if loop is None:
                loop = self._loop = asyncio.get_running_loop()
            loop.call_soon(self._flush)
        dirty.append(conn)

    def _flush(self) -> None:
        dirty = self._dirty
        self._dirty = []
        for conn in dirty:
            conn.flush()

    # ---------------------------------------------------------------- routing

    def route(self, message: Message) -> None:
        """Store if retained, then deliver to every matching subscriber (shared groups: one member each)."""
        if message.retain:
            self.retained.store(message)
        match = self.tree.match(message.topic)
        mqos = message.qos
        sender = message.sender
        retain = message.retain
        for session, qos, ids, no_local, rap in match.direct:
            if no_local and session is sender:
                continue
            session.deliver(message, qos if qos < mqos else mqos, retain and rap, ids)
        for group in match.shared:
            picked = group.pick()
            if picked is not None:
                session, opts = picked
                ids = (opts.subscription_id,) if opts.subscription_id else ()
                session.deliver(message, min(opts.qos, mqos), retain and opts.retain_as_published, ids)

    def send_to_client(self, key: str, message: Message) -> bool:
        """Deliver to one session (by session key) regardless of its subscriptions; False if there is none."""
        session = self.sessions.get(key)
        if session is None:
            return False
        session.deliver(message, message.qos, message.retain, ())
        return True

    # ---------------------------------------------------------------- sessions

    def register(self, conn: Connection) -> None:
        """Count a new network connection (before CONNECT)."""
        self.all_connections.add(conn)
        self.stats.connections_total += 1

    def attach(self, conn: Connection, clean_start: bool, expiry: int, will: Will | None) -> tuple[Session, bool]:
        """Bind `conn` to its session key's session: take over any current connection first, then resume or start.

        The key is the client id unless the extension's AuthResult gave another (`ClientInfo.session_key`).
        """
        client_id = conn.client_id
        key = conn.info.session_key if conn.info is not None and conn.info.session_key else client_id
        old = self.connections.get(key)
        if old is not None and old is not conn:
            log.info("client %s taken over by %s", client_id, conn.peer)
            old.abort_with(ReasonCode.SESSION_TAKEN_OVER, "session taken over by another connection")
            self.detach(old)
        session = self.sessions.get(key)
        present = False
        if session is not None:
            if clean_start:
                self.discard(session)
                session = None
            else:
                session.cancel_timers()
                session.will = None  # reconnected within the will delay: the old will is not sent
                present = True
        if session is None:
            session = Session(client_id, self.limits, self.stats, key)
            self.sessions.add(session)
        session.connection = conn
        session.expiry_interval = expiry
        session.will = will
        session.will_client = conn.info
        session.held = False
        conn.session = session
        self.connections[key] = conn
        return session, present

    def client_connected(self, conn: Connection) -> None:
        """CONNACK sent: counters, event, extension hooks (including the delivery gate)."""
        stats = self.stats
        stats.clients_connected += 1
        stats.clients_maximum = max(stats.clients_maximum, stats.clients_connected)
        self.events.emit(EventKind.CONNECTED, client_id=conn.client_id, listener=conn.listener, peer=conn.peer,
                         identity=conn.identity, detail={"protocol_version": conn.version})
        hooks = self.hooks
        if hooks.hold_delivery is not None and conn.session is not None and hooks.hold_delivery(conn.info):
            conn.session.held = True
        if hooks.on_connected is not None:
            hooks.on_connected(conn.info)

    def release_delivery(self, key: str) -> bool:
        """End the delivery hold of a session (by key): queued messages go out in order. False if there is none."""
        session = self.sessions.get(key)
        if session is None:
            return False
        if session.held:
            session.held = False
            session.drain()
        return True

    def detach(self, conn: Connection) -> None:
        """The connection is gone: handle the will, then end or keep the session per its expiry."""
        session = conn.session
        if session is None or session.connection is not conn:
            return
        session.connection = None
        if self.connections.get(session.key) is conn:
            del self.connections[session.key]
        will = session.will
        if will is not None and conn.will_on_close:
            delay = will.properties.get("will_delay_interval", 0) if conn.version == 5 else 0
            delay = min(delay, session.expiry_interval)
            if delay:
                loop = asyncio.get_running_loop()
                session.will_handle = loop.call_later(delay, self._fire_will, session)
            else:
                session.will = None
                self.publish_will(will, session)
        else:
            session.will = None
        if session.expiry_interval == 0:
            self.discard(session)
        elif session.expiry_interval != NEVER_EXPIRES:
            loop = asyncio.get_running_loop()
            session.expiry_handle = loop.call_later(session.expiry_interval, self._expire, session)

    def _fire_will(self, session: Session) -> None:
        session.will_handle = None
        will, session.will = session.will, None
        if will is not None:
            self.publish_will(will, session)

    def _expire(self, session: Session) -> None:
        session.expiry_handle = None
        if session.connection is None:
            self.discard(session)
            self.events.emit(EventKind.SESSION_EXPIRED, client_id=session.client_id)

    def discard(self, session: Session) -> None:
        """End a session: a pending delayed will is sent now, subscriptions and queues are dropped."""
        pending_will = session.will if session.will_handle is not None else None
        session.cancel_timers()
        session.will = None
        if pending_will is not None:
            self.publish_will(pending_will, session)
        for topic_filter in session.subscriptions:
            self.tree.remove(topic_filter, session)
        session.subscriptions.clear()
        session.queue.clear()
        session.inflight.clear()
        self.sessions.remove(session)

    def publish_will(self, will: Will, session: Session) -> None:
        """Route a will message, if the client's identity may still publish there."""
        info: ClientInfo | None = session.will_client
        authorize = self.hooks.authorize
        if authorize is not None and authorize(info.identity if info else None, Action.PUBLISH, will.topic):
            log.info("will of %s to %r refused by policy", session.client_id, will.topic)
            return
        self.route(Message(will.topic, will.payload, will.qos, will.retain, will.properties or None, session))

    def connection_closed(self, conn: Connection) -> None:
        """Final bookkeeping of a connection: detach, counters, event and hook."""
        self.all_connections.discard(conn)
        self.detach(conn)
        if conn.connected:
            self.stats.clients_connected -= 1
            self.events.emit(EventKind.DISCONNECTED, client_id=conn.client_id, listener=conn.listener,
                             peer=conn.peer, identity=conn.identity, reason_code=conn.close_code,
                             reason=conn.close_reason)
            if self.hooks.on_disconnected is not None:
                self.hooks.on_disconnected(conn.info, conn.close_code, conn.close_reason)
        else:
            self.stats.refused += 1
            self.events.emit(EventKind.REFUSED, client_id=conn.client_id, listener=conn.listener, peer=conn.peer,
                             reason_code=conn.close_code, reason=conn.close_reason)

    def disconnect_clients(self, predicate: Callable[[ClientInfo], bool], reason_code: int, reason: str) -> int:
        """Close every connected client the predicate selects (it sees identity and TLS peer); returns the count."""
        count = 0
        for conn in list(self.connections.values()):
            if conn.info is not None and predicate(conn.info):
                conn.abort_with(reason_code, reason)
                count += 1
        return count

    def shutdown(self) -> None:
        """Tell every client the server is going away (v5 SERVER_SHUTTING_DOWN) and close all connections, no wills."""
        for conn in list(self.all_connections):
            conn.abort_with(ReasonCode.SERVER_SHUTTING_DOWN, "server shutting down", will=False)
        self.stop_sys()

    # ---------------------------------------------------------------- $SYS

    def start_sys(self, interval: float) -> None:
        """Publish `$SYS/broker/...` retained every `interval` seconds (0 disables)."""
        if interval > 0:
            self._publish_sys(interval)

    def _publish_sys(self, interval: float) -> None:
        for topic, value in self.stats.sys_topics(self.version, self.tree.count, len(self.retained),
                                                  len(self.sessions)):
            self.route(Message(topic, value.encode(), 0, True))
        self.events.emit(EventKind.STATS, detail=self.stats.snapshot())
        self._sys_handle = asyncio.get_running_loop().call_later(interval, self._publish_sys, interval)

    def stop_sys(self) -> None:
        """Stop the periodic `$SYS` publishing."""
        if self._sys_handle is not None:
            self._sys_handle.cancel()
            self._sys_handle = None

    def snapshot(self) -> dict[str, Any]:
        """Counters plus sizes, for the console and tests."""
        data: dict[str, Any] = dict(self.stats.snapshot())
        data.update(sessions=len(self.sessions), subscriptions=self.tree.count, retained=len(self.retained))
        return data
