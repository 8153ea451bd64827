"""Assembles listeners around the engine: plain TCP accept, optional TLS upgrade, start/stop, events, admin verbs.

`Broker` runs on the caller's asyncio loop; `BackgroundBroker` runs one on its own loop in a thread for
synchronous code and tests.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from embedded_broker import __version__
from embedded_broker.config import BrokerConfig, ListenerConfig
from embedded_broker.errors import BrokerError
from embedded_broker.events import EventBus, EventKind, EventListener
from embedded_broker.mqtt.codec.reason_codes import ReasonCode
from embedded_broker.mqtt.connection import Connection
from embedded_broker.mqtt.engine import Engine
from embedded_broker.mqtt.extension import ClientInfo
from embedded_broker.mqtt.message import Message

log = logging.getLogger("embedded_broker.server")

T = TypeVar("T")
_STOP_TIMEOUT = 5.0


class Broker:
    """A running MQTT broker: `async with Broker(config) as broker:` then `broker.ports["mqtt"]`."""

    def __init__(self, config: BrokerConfig | None = None, extension: object | None = None) -> None:
        self.config = config or BrokerConfig()
        self._events = EventBus()
        self.engine = Engine(self.config.limits, self._events, extension, self.config.server_keep_alive,
                             f"embedded-broker {__version__}")
        self.ports: dict[str, int] = {}
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._gate: Any = None  # tls_server.HandshakeGate, made at start() when a listener has TLS

    async def __aenter__(self) -> Broker:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    async def start(self) -> None:
        """Bind every listener (port 0 gets a free port, reported in `ports`) and start `$SYS` updates."""
        loop = asyncio.get_running_loop()
        if any(listener.tls is not None for listener in self.config.listeners):
            from embedded_broker.tls_server import HandshakeGate

            self._gate = HandshakeGate(self.config.limits.tls_handshake_threads)
        try:
            for listener in self.config.listeners:
                if listener.tls is None:
                    server = await asyncio.start_server(functools.partial(self._on_client, listener), listener.host,
                                                        listener.port)
                else:
                    server = await loop.create_server(functools.partial(self._tls_protocol, listener), listener.host,
                                                      listener.port)
                self._servers.append(server)
                self.ports[listener.name] = server.sockets[0].getsockname()[1]
        except OSError as exc:
            await self.stop()
            raise BrokerError(f"cannot listen on {listener.host}:{listener.port} ({listener.name}): {exc}") from exc
        self.engine.start_sys(self.config.sys_interval)
        log.info("broker listening on %s", ", ".join(f"{n}={p}" for n, p in self.ports.items()))

    async def stop(self) -> None:
        """Close listeners first, then DISCONNECT every client (v5 SERVER_SHUTTING_DOWN), then wait for their tasks."""
        self._stopping = True
        for server in self._servers:
            server.close()
        if self._gate is not None:
            self._gate.close()
        self.engine.shutdown()
        tasks = set(self._tasks)
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=_STOP_TIMEOUT)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()

    def _refuse(self, listener: ListenerConfig, peer: object, reason: str) -> None:
        self.engine.stats.refused += 1
        self._events.emit(EventKind.REFUSED, listener=listener.name, peer=str(peer),
                          reason_code=ReasonCode.QUOTA_EXCEEDED, reason=reason)

    def _admit(self, listener: ListenerConfig, peer: object) -> bool:
        """Whether a new socket may stay: not while stopping, nor over the connection (or pending handshake) limit."""
        limits = self.config.limits
        if self._stopping:
            self._refuse(listener, peer, "server shutting down")
        elif len(self.engine.all_connections) >= limits.max_connections:
            self._refuse(listener, peer, "too many connections")
        elif listener.tls is not None and len(self._gate.pending) >= limits.max_pending_handshakes:
            self._refuse(listener, peer, f"too many pending TLS handshakes (limit {limits.max_pending_handshakes})")
        else:
            return True
        return False

    async def _on_client(self, listener: ListenerConfig, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if not self._admit(listener, writer.get_extra_info("peername")):
            writer.transport.abort()
            return
        await self._serve(listener, reader, writer, None)

    async def _serve(self, listener: ListenerConfig, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     tls_peer: Any) -> None:
        """The MQTT connection; its CONNECT clock starts now (after the TLS handshake, if any)."""
        deadline = asyncio.get_running_loop().time() + self.config.limits.connect_timeout
        conn = Connection(self.engine, reader, writer, listener.name, tls_peer)
        self.engine.register(conn)
        await conn.run(deadline)

    def _tls_protocol(self, listener: ListenerConfig) -> asyncio.Protocol:
        """A TLS socket: its handshake runs on its own clock; nothing it waits for holds anything shared."""
        from embedded_broker.tls_server import TlsServerProtocol

        return TlsServerProtocol(listener.tls, self._gate, self.config.limits.tls_handshake_timeout,
                                 functools.partial(self._admit, listener),
                                 functools.partial(self._on_tls_client, listener),
                                 functools.partial(self._tls_failed, listener))

    def _on_tls_client(self, listener: ListenerConfig, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       tls_peer: Any) -> None:
        if self._stopping:
            writer.transport.abort()
            return
        task = asyncio.get_running_loop().create_task(self._serve(listener, reader, writer, tls_peer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _tls_failed(self, listener: ListenerConfig, peer: str, reason: str, alert: str) -> None:
        """A failed handshake becomes a `tls_failed` event with words, never a traceback."""
        log.info("TLS handshake with %s on %s failed: %s", peer, listener.name, reason)
        self._events.emit(EventKind.TLS_FAILED, listener=listener.name, peer=peer, reason=reason,
                          detail={"alert": alert})

    # ---------------------------------------------------------------- public verbs (call on the broker's loop)

    def add_event_listener(self, listener: EventListener) -> None:
        """Receive every BrokerEvent (called synchronously on the broker's loop)."""
        self._events.add(listener)

    def remove_event_listener(self, listener: EventListener) -> None:
        """Stop receiving events."""
        self._events.remove(listener)

    def set_extension(self, extension: object | None) -> None:
        """Install the platform extension (hooks take effect for the next packet)."""
        self.engine.set_extension(extension)

    def send_to_client(self, client_id: str, topic: str, payload: bytes, qos: int = 0, retain: bool = False,
                       properties: dict[str, Any] | None = None) -> bool:
        """Send one message to one client, subscribed or not (queued if it is offline with a session).

        `client_id` is the client's session key: its client id, unless the extension namespaced it
        (`ClientInfo.session_key`).
        """
        return self.engine.send_to_client(client_id, Message(topic, payload, qos, retain, properties))

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False,
                properties: dict[str, Any] | None = None) -> None:
        """Publish as the broker itself, to every matching subscriber."""
        self.engine.route(Message(topic, payload, qos, retain, properties))

    def disconnect_clients(self, predicate: Callable[[ClientInfo], bool],
                           reason_code: int = ReasonCode.ADMINISTRATIVE_ACTION,
                           reason_string: str = "disconnected by the server") -> int:
        """Disconnect every client the predicate selects (it sees identity and TLS peer); returns how many."""
        return self.engine.disconnect_clients(predicate, reason_code, reason_string)

    def release_delivery(self, client_id: str) -> bool:
        """End a delivery hold requested by the extension's `hold_delivery` hook (`client_id`: the session key)."""
        return self.engine.release_delivery(client_id)

    def clients(self) -> list[ClientInfo]:
        """Every connected client."""
        return [c.info for c in self.engine.connections.values() if c.info is not None]

    @property
    def stats(self) -> dict[str, Any]:
        """Message, byte and client counters."""
        return self.engine.snapshot()


class BackgroundBroker:
    """A Broker on its own event loop in a daemon thread, for synchronous callers and tests."""

    def __init__(self, config: BrokerConfig | None = None, extension: object | None = None) -> None:
        self.config = config or BrokerConfig()
        self._extension = extension
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.broker: Broker | None = None

    def __enter__(self) -> BackgroundBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def ports(self) -> dict[str, int]:
        """Bound ports by listener name."""
        assert self.broker is not None, "start() the broker first"
        return self.broker.ports

    def start(self, timeout: float = 10.0) -> BackgroundBroker:
        """Start the thread and wait until every listener is bound; raises the start error, if any."""
        self._thread = threading.Thread(target=self._run, name="embedded-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise BrokerError("the background broker did not start in time")
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        async with Broker(self.config, self._extension) as broker:
            self.broker = broker
            self._ready.set()
            await self._stop_event.wait()

    def call(self, func: Callable[..., T], *args: Any, timeout: float = 10.0, **kwargs: Any) -> T:
        """Run `func(*args, **kwargs)` on the broker's loop and return its result (use for the Broker verbs)."""
        assert self._loop is not None
        return call_on_loop(self._loop, func, *args, timeout=timeout, **kwargs)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the broker gracefully and join the thread."""
        if self._thread is not None:
            stop_loop_thread(self._loop, self._stop_event, self._thread, timeout)
            self._thread = None


def call_on_loop(loop: asyncio.AbstractEventLoop, func: Callable[..., T], *args: Any, timeout: float = 10.0,
                 **kwargs: Any) -> T:
    """Run `func` on another thread's loop and wait for its result (or its exception)."""
    future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        try:
            future.set_result(func(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)

    loop.call_soon_threadsafe(run)
    return future.result(timeout)


def stop_loop_thread(loop: asyncio.AbstractEventLoop | None, stop_event: asyncio.Event | None,
                     thread: threading.Thread, timeout: float) -> None:
    """Set the event that ends a loop thread's main coroutine, then join the thread."""
    if loop is not None and stop_event is not None and not loop.is_closed():
        try:
            loop.call_soon_threadsafe(stop_event.set)
        except RuntimeError:
            pass  # the loop already ended
    thread.join(timeout)
