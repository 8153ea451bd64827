"""One simulated device as an asyncio task: paho's Client without its thread (its socket read and written from the
loop's callbacks), so a thousand devices share one thread; only the blocking TCP + TLS connect runs on a small pool.

Per device: mutual TLS as `d:<CN>`, a token over `s/uat` → `71,<jwt>` on `s/dat`, renewal at half-life, SmartREST
measurements at the chosen rate and pattern, operations answered (`510` → `501` EXECUTING → `503` SUCCESSFUL),
reconnects with exponential backoff and jitter after a drop, and (an EST-enrolled device, when asked) certificate
renewal: re-enrolment over EST once a fraction of the validity has passed, the folder rewritten, a reconnect with the
new certificate.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import dataclasses
import datetime as dt
import logging
import math
import random
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from cryptography import x509

from workbench.core.mqtt_errors import connack_error
from workbench.core.platform_client.smartrest import parse_error_line, parse_line, parse_token_line
from workbench.core.platform_client.tokens import DeviceToken, decode_token
from workbench.core.tls import ClientIdentity, client_context
from workbench.errors import WorkbenchError
from workbench.services.cert_lifecycle import EstTarget, reenroll, renewal_due
from workbench.services.fleet_simulator.figures import Figures, error_reason
from workbench.services.fleet_simulator.source import FleetDevice

PATTERNS = ("steady", "random", "burst")
MEASUREMENT = "200,c8y_Temperature,T,{value},C"
RESTART_REPLIES = ("501,c8y_Restart", "503,c8y_Restart")
_V3_CONNACK = {0x84: 1, 0x85: 2, 0x88: 3, 0x86: 4, 0x87: 5}  # paho reports a 3.1.1 refusal as its MQTT 5 code


@dataclass(frozen=True)
class Target:
    """Where the devices connect: the platform (token flow, `d:<CN>`) or a standards broker in plain MQTT mode."""

    host: str
    port: int
    platform: bool = True
    tls: bool = True
    server_trust: tuple[x509.Certificate, ...] = ()  # empty: the system's trust
    verify_server: bool = True

    def describe(self) -> str:
        """For messages: host:port and the mode."""
        mode = "platform" if self.platform else ("MQTT over TLS" if self.tls else "plain MQTT")
        return f"{self.host}:{self.port} ({mode})"


@dataclass(frozen=True)
class Behaviour:
    """What every device does, and how hard it retries."""

    interval: float = 1.0  # seconds between measurements of one device
    pattern: str = "steady"  # steady: fixed interval, random phase; random: exponential gaps; burst: all on the second
    qos: int = 1  # measurements at QoS 1 give the publish latency (PUBACK)
    keepalive: int = 60
    connect_timeout: float = 10.0
    token_timeout: float = 15.0
    backoff_min: float = 0.5
    backoff_max: float = 30.0
    topic: str = "s/us"
    renew_cert_at: float | None = None  # EST devices re-enroll once this fraction of the validity passed; None: off
    cert_retry: float = 30.0  # seconds after a failed certificate renewal before the next try (while still valid)


class _ErrorCatcher:
    """paho's logger stand-in: keeps the last socket exception paho logged (a TLS alert after the handshake)."""

    def __init__(self) -> None:
        self.last: BaseException | None = None

    def log(self, level: int, fmt: str, *args: Any) -> None:
        if level >= logging.ERROR:
            self.last = next((a for a in args if isinstance(a, BaseException)), self.last)


class DeviceFailure(Exception):
    """One attempt of a device failed; ``reason`` is its group in the figures."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class DeviceHooks:
    """What a device reports besides the figures: each request for Locust, and the operations it answered."""

    on_request: Callable[[str, float, str | None], None] | None = None  # (kind, seconds, error reason or None)
    chaos_note: Callable[[], str] = field(default=lambda: "")


class SimulatedFleetDevice:
    """A device's life: connect, register (token), serve (measure, renew, answer), and reconnect after a drop."""

    def __init__(self, spec: FleetDevice, target: Target, behaviour: Behaviour, figures: Figures,
                 pool: cf.Executor, gate: asyncio.Semaphore, *, hooks: DeviceHooks | None = None,
                 clock: Callable[[], float] = time.time, rng: random.Random | None = None,
                 renewal: EstTarget | None = None) -> None:
        self.spec = spec
        self.renewal = renewal  # the platform's EST side; None: this device keeps its certificate
        self.cert_renewals = 0
        self._cert_retry_at = 0.0
        self._cert_expired = False
        self._reconnect = False
        self.target = target
        self.behaviour = behaviour
        self.figures = figures
        self.pool = pool
        self.gate = gate
        self.hooks = hooks or DeviceHooks()
        self.clock = clock
        self.rng = rng or random.Random()
        self.state = "idle"
        self.token: DeviceToken | None = None
        self.client: mqtt.Client | None = None
        self._fd: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connack: asyncio.Future[int] | None = None
        self._token_line: asyncio.Future[str] | None = None
        self._lost = asyncio.Event()
        self._sent: dict[int, float] = {}
        self._catcher = _ErrorCatcher()
        self._stopping = False
        self._context: ssl.SSLContext | None = None

    # --- figures -------------------------------------------------------------------------------------------------
    def _set(self, state: str) -> None:
        self.figures.move(self.state, state)
        self.state = state

    def _request(self, kind: str, seconds: float, error: str | None = None) -> None:
        if error is None:
            self.figures.latency(kind, seconds)
        if self.hooks.on_request is not None:
            self.hooks.on_request(kind, seconds, error)

    def _fail(self, kind: str, started: float, reason: str) -> DeviceFailure:
        note = self.hooks.chaos_note()
        reason = f"{reason} ({note})" if note else reason
        self.figures.error(reason)
        self._request(kind, time.monotonic() - started, reason)
        return DeviceFailure(reason)

    # --- the life ------------------------------------------------------------------------------------------------
    @property
    def client_id(self) -> str:
        """`d:<CN>` on the platform; the id itself on a standards broker."""
        return f"d:{self.spec.device_id}" if self.target.platform else self.spec.device_id

    async def run(self) -> None:
        """Until cancelled: connect, register, serve; after a failure or a drop, back off and start over."""
        self._loop = asyncio.get_running_loop()
        attempt = 0
        try:
            while not self._stopping:
                try:
                    await self._connect()
                    attempt = 0
                    if self.target.platform:
                        await self._register()
                    self._set("connected")
                    await self._serve()
                    if self._reconnect and not self._stopping:  # a renewed certificate: a new session, no backoff
                        self._reconnect = False
                        self._close_socket(goodbye=True)
                        continue
                    if not self._stopping:
                        self.figures.count("drops")
                        self._fail("connection", time.monotonic(), self._lost_reason())
                except DeviceFailure:
                    pass
                self._close_socket()
                if self._stopping:
                    break
                self._set("failed")
                attempt += 1
                delay = min(self.behaviour.backoff_max, self.behaviour.backoff_min * 2 ** min(attempt - 1, 16))
                await asyncio.sleep(delay * self.rng.uniform(0.5, 1.0))
        finally:
            self._close_socket()
            self._set("stopped")

    def stop(self) -> None:
        """Leave the loop at the next step (the task is cancelled by the simulator as well)."""
        self._stopping = True
        self._lost.set()

    def drop(self) -> bool:
        """Chaos: cut this device's TCP connection as a network fault would (the device notices and reconnects)."""
        if self.client is None or self._fd is None or self.state != "connected":
            return False
        sock = self.client.socket()
        if not isinstance(sock, socket.socket):  # an SSLSocket is a socket
            return False
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            return False
        return True

    # --- connect -------------------------------------------------------------------------------------------------
    def _ssl_context(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = client_context(trust=list(self.target.server_trust) or None,
                                           verify=self.target.verify_server, identity=self.spec.identity)
        return self._context

    def _new_client(self) -> mqtt.Client:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv311,
                             clean_session=True)
        if self.target.tls:
            client.tls_set_context(self._ssl_context())
        client.enable_logger(self._catcher)  # type: ignore[arg-type]
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        return client

    def _open(self, client: mqtt.Client) -> None:
        """On the pool: TCP connect, TLS handshake, CONNECT written (paho writes it itself without callbacks)."""
        client.connect(self.target.host, self.target.port, self.behaviour.keepalive)

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        self._set("connecting")
        self._lost = asyncio.Event()
        self._catcher.last = None
        self._sent.clear()
        async with self.gate:
            started = time.monotonic()
            client = self.client = self._new_client()
            self._connack = loop.create_future()
            try:
                await loop.run_in_executor(self.pool, self._open, client)
            except (OSError, ValueError) as exc:
                raise self._fail("connect", started, error_reason(exc)) from None
            self._attach(client)
            try:
                code = await asyncio.wait_for(asyncio.shield(self._connack), self.behaviour.connect_timeout)
            except TimeoutError:
                raise self._fail("connect", started, "MQTT: no CONNACK in time") from None
            if code < 0:
                raise self._fail("connect", started, self._lost_reason(before_connack=True))
            if code != 0:
                words = error_reason(connack_error(code, 4 if code < 0x80 else 5, self.target.describe()))
                raise self._fail("connect", started, words)
        self.figures.count("connects")
        self._request("connect", time.monotonic() - started)

    def _attach(self, client: mqtt.Client) -> None:
        """Hand paho's socket to the loop: reads, writes when paho has output, and cleanup when paho closes it."""
        assert self._loop is not None
        sock = client.socket()
        if sock is None:
            self._on_disconnect(client, None, None, None, None)
            return
        self._fd = sock.fileno()
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        self._loop.add_reader(self._fd, self._readable)
        if client.want_write():
            self._loop.add_writer(self._fd, self._writable)

    def _readable(self) -> None:
        client = self.client
        if client is None:
            return
        rc = client.loop_read()
        sock = client.socket()
        while rc == mqtt.MQTT_ERR_SUCCESS and isinstance(sock, ssl.SSLSocket) and sock.pending():
            rc = client.loop_read()
            sock = client.socket()

    def _writable(self) -> None:
        if self.client is not None:
            self.client.loop_write()

    def _on_register_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        if self._loop is not None and self._fd is not None:
            self._loop.add_writer(self._fd, self._writable)

    def _on_unregister_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        if self._loop is not None and self._fd is not None:
            self._loop.remove_writer(self._fd)

    def _on_socket_close(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._unregister()

    def _unregister(self) -> None:
        if self._loop is not None and self._fd is not None:
            self._loop.remove_reader(self._fd)
            self._loop.remove_writer(self._fd)
        self._fd = None

    def _close_socket(self, goodbye: bool = False) -> None:
        """Forget the connection: unregister first (on the loop), then let paho close the socket (a clean stop and a
        reconnect after renewal say goodbye with DISCONNECT)."""
        client, self.client = self.client, None
        self._unregister()
        if client is not None:
            client.on_socket_close = None
            client.on_socket_register_write = None
            client.on_socket_unregister_write = None
            client.on_disconnect = None
            sock = client.socket()
            if sock is not None:
                try:
                    if (self._stopping or goodbye) and self.state == "connected":
                        client.disconnect()  # a clean stop says goodbye (one small packet, written now)
                        client.loop_write()
                    sock.close()
                except (OSError, ValueError):
                    pass

    def misc(self) -> None:
        """Keep-alive pings: the simulator's one ticker calls this for every device each second."""
        if self.client is not None and self._fd is not None:
            self.client.loop_misc()

    def _lost_reason(self, before_connack: bool = False) -> str:
        if self._catcher.last is not None:
            return error_reason(self._catcher.last)
        return "MQTT: closed before CONNACK" if before_connack else "MQTT: connection lost"

    # --- paho callbacks (all on the loop thread) -----------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if self._connack is not None and not self._connack.done():
            code = int(getattr(reason, "value", reason))
            self._connack.set_result(_V3_CONNACK.get(code, code))

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if self._connack is not None and not self._connack.done():
            self._connack.set_result(-1)
        if self._token_line is not None and not self._token_line.done():
            self._token_line.set_result("")
        self._lost.set()

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        started = self._sent.pop(mid, None)
        if started is not None:
            self._request("publish", time.monotonic() - started)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        text = message.payload.decode("utf-8", "replace")
        if message.topic == "s/dat":
            for line in text.splitlines():
                if parse_token_line(line) is not None and self._token_line is not None \
                        and not self._token_line.done():
                    self._token_line.set_result(line)
        elif message.topic == "s/ds":
            for line in text.splitlines():
                if parse_line(line)[:1] == ["510"]:
                    for reply in RESTART_REPLIES:
                        client.publish(self.behaviour.topic, reply, qos=1)
                    self.figures.count("operations")
        elif message.topic == "s/e":
            for line in text.splitlines():
                if line.strip():
                    self.figures.error(f"s/e {parse_error_line(line).describe()}"[:120])

    # --- register and serve --------------------------------------------------------------------------------------
    async def _register(self) -> None:
        """Subscribe the downstream topics and get the first token."""
        assert self.client is not None
        self._set("registering")
        self.client.subscribe([("s/dat", 0), ("s/ds", 0), ("s/e", 0)])
        await self._renew(first=True)

    async def _renew(self, first: bool = False) -> None:
        assert self.client is not None and self._loop is not None
        started = time.monotonic()
        self._token_line = self._loop.create_future()
        self.client.publish("s/uat", b"", qos=0)
        try:
            line = await asyncio.wait_for(asyncio.shield(self._token_line), self.behaviour.token_timeout)
        except TimeoutError:
            raise self._fail("token", started, "token: no 71 on s/dat in time") from None
        raw = parse_token_line(line) if line else None
        if raw is None:
            raise self._fail("token", started, self._lost_reason())
        try:
            self.token = decode_token(raw)
        except WorkbenchError as exc:
            raise self._fail("token", started, f"token: cannot be decoded ({type(exc).__name__})") from None
        self.figures.count("tokens" if first else "renewals")
        self._request("token", time.monotonic() - started)

    def _next_gap(self, first: bool) -> float:
        interval = self.behaviour.interval
        if self.behaviour.pattern == "random":
            return self.rng.expovariate(1.0 / interval)
        if self.behaviour.pattern == "burst":
            now = self.clock()
            return interval - math.fmod(now, interval) if interval > 0 else 0.0
        return self.rng.uniform(0, interval) if first else interval

    async def _serve(self) -> None:
        """Measurements until the connection is lost or the run stops; the token is renewed at half-life."""
        first = True
        while not self._lost.is_set():
            gap = self._next_gap(first)
            first = False
            try:
                await asyncio.wait_for(self._lost.wait(), gap)
                return
            except TimeoutError:
                pass
            client = self.client
            if client is None:
                return
            refresh = self.token.refresh_at if self.token is not None else None
            if self.target.platform and refresh is not None and self.clock() >= refresh.timestamp():
                await self._renew()
            if self._certificate_due() and await self._renew_certificate():
                self._reconnect = True
                return
            value = round(21.5 + self.rng.uniform(-1.5, 1.5), 1)
            info = client.publish(self.behaviour.topic, MEASUREMENT.format(value=value), qos=self.behaviour.qos)
            if info.rc == mqtt.MQTT_ERR_SUCCESS:
                self.figures.count("messages")
                if self.behaviour.qos > 0:
                    self._sent[info.mid] = time.monotonic()
                else:
                    self._request("publish", 0.0)

    # --- certificate renewal (EST devices) -----------------------------------------------------------------------
    def _certificate_due(self) -> bool:
        """Renewal is on for this device, its certificate is past the fraction, and no failed try is cooling down;
        an expired certificate is counted once and no longer tried (the platform would refuse it)."""
        fraction = self.behaviour.renew_cert_at
        identity = self.spec.identity
        if self.renewal is None or fraction is None or identity is None or self.token is None or self._cert_expired:
            return False
        now = self.clock()
        if now < self._cert_retry_at:
            return False
        moment = dt.datetime.fromtimestamp(now, dt.UTC)
        certificate = identity.chain[0]
        if moment >= certificate.not_valid_after_utc:
            self._cert_expired = True
            self.figures.error("cert renewal: the certificate expired before it was renewed")
            return False
        return renewal_due(certificate, fraction, moment)

    async def _renew_certificate(self) -> bool:
        """Re-enroll over EST with the device token, the folder rewritten by the lifecycle's one renewal step; the
        next connection uses the new certificate. A failure is counted by reason and tried again later."""
        assert self.renewal is not None and self.token is not None and self.spec.identity is not None
        if self.spec.folder is None:
            return False
        started = time.monotonic()
        try:
            enrolled = await reenroll(self.renewal, self.spec.folder, self.spec.identity, token=self.token.raw)
        except (WorkbenchError, OSError) as exc:
            self._cert_retry_at = self.clock() + self.behaviour.cert_retry
            reason = error_reason(exc).replace(self.spec.device_id, "<id>")
            self._fail("cert_renewal", started, f"cert renewal: {reason}")
            return False
        self.spec = dataclasses.replace(self.spec, identity=ClientIdentity(enrolled.key, enrolled.chain))
        self._context = None  # the next handshake presents the new certificate
        self.cert_renewals += 1
        self.figures.count("cert_renewals")
        self._request("cert_renewal", time.monotonic() - started)
        return True
