"""One client connection: read loop, dispatch table by packet type, batched writes, and the ONE place where
exceptions become a reason code and a close (refusing CONNACK before the session, DISCONNECT after).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from embedded_broker.errors import AuthError, BrokerError, ProtocolError
from embedded_broker.mqtt.codec.decode import PacketReader, UnsupportedProtocolVersion, decode_packet
from embedded_broker.mqtt.codec.encode import encode, encode_publish
from embedded_broker.mqtt.codec.packets import Connack, Connect, Disconnect, Pubrel
from embedded_broker.mqtt.codec.reason_codes import ReasonCode, sends_disconnect
from embedded_broker.mqtt.handlers import HANDLERS
from embedded_broker.mqtt.message import Message

if TYPE_CHECKING:
    from embedded_broker.mqtt.engine import Engine
    from embedded_broker.mqtt.extension import ClientInfo
    from embedded_broker.mqtt.sessions import Session
    from embedded_broker.tls import TlsPeer

log = logging.getLogger("embedded_broker.connection")

_READ_SIZE = 65536
_CLOSE_GRACE = 2.0  # seconds a closing TLS transport may take before it is aborted


class ConnectionLost(BrokerError):
    """The peer closed the socket or it failed; no packet can be sent any more."""


class Connection:
    """State machine of one network connection: CONNECT, then packets until closed."""

    __slots__ = ("__weakref__", "_keepalive_handle", "_out", "_packets", "_reader", "_writer", "alias_out_max",
                 "aliases_in", "aliases_out", "client_id", "close_code", "close_reason", "closing", "connect",
                 "connected", "engine", "identity", "info", "keepalive", "last_rx", "limits", "listener",
                 "max_out_packet", "peer", "problem_info", "send_window", "session", "stats", "tls_peer",
                 "transport", "version", "will_on_close")

    def __init__(self, engine: Engine, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 listener: str, tls_peer: TlsPeer | None = None) -> None:
        self.engine = engine
        self.limits = engine.limits
        self.stats = engine.stats
        self._reader = reader
        self._writer = writer
        self.transport: Any = writer.transport
        self.listener = listener
        self.tls_peer = tls_peer
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer or "")
        self.version = 0
        self.connect: Connect | None = None
        self.client_id = ""
        self.identity: Any = None
        self.info: ClientInfo | None = None
        self.session: Session | None = None
        self.connected = False
        self.closing = False
        self.send_window = self.limits.max_inflight
        self.max_out_packet = 0  # 0: no client limit
        self.alias_out_max = 0
        self.aliases_out: dict[str, int] = {}
        self.aliases_in: dict[int, str] = {}
        self.problem_info = True
        self.keepalive = 0
        self.last_rx = 0.0
        self.will_on_close = True
        self.close_code: int = ReasonCode.SUCCESS
        self.close_reason = ""
        self._keepalive_handle: asyncio.TimerHandle | None = None
        self._out: list[bytes] = []
        self._packets = PacketReader()
        self._packets.max_packet_size = self.limits.max_packet_size

    def __repr__(self) -> str:
        return f"Connection({self.client_id!r}, {self.peer}, v{self.version})"

    # ---------------------------------------------------------------- lifecycle

    async def run(self, connect_deadline: float) -> None:
        """Serve this connection until it closes; never raises (except cancellation)."""
        loop = asyncio.get_running_loop()
        try:
            pending: list[tuple[int, bytes]] = []
            async with asyncio.timeout_at(connect_deadline):
                pending = await self._read_connect()
            self.last_rx = loop.time()
            self._schedule_keepalive()
            await self._serve(pending)
        except asyncio.CancelledError:
            self._abort_transport()
            raise
        except BaseException as exc:  # the one exception → reason code mapping
            self._fail(exc)
        finally:
            self._finish()

    async def _read_connect(self) -> list[tuple[int, bytes]]:
        """Read until the first packet; it must be CONNECT. Returns frames that arrived after it."""
        frames: list[tuple[int, bytes]] = []
        while not frames:
            data = await self._reader.read(_READ_SIZE)
            if not data:
                raise ConnectionLost("closed before CONNECT")
            self.stats.bytes_received += len(data)
            self._packets.feed(data)
            frames = list(self._packets)
        first_byte, body = frames[0]
        if first_byte >> 4 != 1:
            raise ProtocolError("the first packet was not CONNECT", ReasonCode.PROTOCOL_ERROR)
        connect = decode_packet(first_byte, body, 4)
        if not isinstance(connect, Connect):
            raise ProtocolError("the first packet was not CONNECT", ReasonCode.PROTOCOL_ERROR)
        self.version = connect.protocol_version
        self.connect = connect
        self.stats.messages_received += 1
        await HANDLERS[1](self, connect)
        return frames[1:]

    async def _serve(self, pending: list[tuple[int, bytes]]) -> None:
        read = self._reader.read
        packets = self._packets
        stats = self.stats
        loop = asyncio.get_running_loop()
        frames: Any = pending
        while True:
            for first_byte, body in frames:
                packet = decode_packet(first_byte, body, self.version)
                stats.messages_received += 1
                await HANDLERS[first_byte >> 4](self, packet)
                if self.closing:
                    return
            data = await read(_READ_SIZE)
            if not data:
                if self.closing:
                    return
                raise ConnectionLost("the client closed the connection")
            self.last_rx = loop.time()
            stats.bytes_received += len(data)
            packets.feed(data)
            frames = packets

    def _fail(self, exc: BaseException) -> None:
        """Map any exception to a reason code, tell the client when the protocol allows, and close."""
        if self.closing:
            return
        network = isinstance(exc, (ConnectionLost, ConnectionError, OSError, asyncio.IncompleteReadError))
        if isinstance(exc, ProtocolError | AuthError):
            code, reason = exc.reason_code, str(exc)
            if isinstance(exc, UnsupportedProtocolVersion):
                self.version = exc.version  # answer in the form the client can read
        elif isinstance(exc, TimeoutError):
            code, reason = ReasonCode.UNSPECIFIED_ERROR, "no CONNECT within the connect timeout"
            network = True
        elif network:
            code, reason = ReasonCode.UNSPECIFIED_ERROR, str(exc) or type(exc).__name__
        else:
            log.exception("internal error serving %r", self)
            code, reason = ReasonCode.IMPLEMENTATION_SPECIFIC_ERROR, f"internal error: {type(exc).__name__}"
        if not network:
            log.info("closing %s (%s, %s): %s (0x%02X)", self.client_id or "-", self.peer, self.listener, reason,
                     code)
            if not self.connected:
                self._refuse(code, reason)
            elif sends_disconnect(self.version):
                self._send_disconnect(code, reason)  # flushes what is queued (the CONNACK owed) before it
            else:
                self.flush()  # v3: no DISCONNECT, but what is owed (a CONNACK, acks) still goes out first
        self._close(code, reason)

    def _refuse(self, code: int, reason: str) -> None:
        """A refusing CONNACK (the codec maps the v5 code to a v3 return code, or to none)."""
        if self.connect is None and code != ReasonCode.UNSUPPORTED_PROTOCOL_VERSION:
            return  # no valid CONNECT: we cannot know the version, so just close
        version = self.version if self.version in (3, 4, 5) else 4
        props = {"reason_string": reason} if version == 5 and reason else {}
        try:
            self.write(encode(Connack(False, code, props), version))
        except ProtocolError:
            return  # this reason has no CONNACK form in this version: closing is the answer
        self.flush()

    def _send_disconnect(self, code: int, reason: str) -> None:
        props = {"reason_string": reason} if reason else {}
        self.write(encode(Disconnect(code, props), 5))
        self.flush()

    def abort_with(self, code: int, reason: str, *, will: bool = True) -> None:
        """Server-initiated close (take-over, quota, kick, shutdown): DISCONNECT for v5, then close."""
        if self.closing:
            return
        self.will_on_close = will
        if self.connected and sends_disconnect(self.version):
            self._send_disconnect(code, reason)
        else:
            self.flush()
        self._close(code, reason)

    def closed_by_client(self, code: int, reason: str, *, will: bool) -> None:
        """The client sent DISCONNECT: close without answering."""
        self.will_on_close = will
        self.flush()
        self._close(code, reason)

    def _close(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        self.close_code = code
        self.close_reason = reason
        if self._keepalive_handle is not None:
            self._keepalive_handle.cancel()
            self._keepalive_handle = None
        transport = self.transport
        if not transport.is_closing():
            transport.close()
            asyncio.get_running_loop().call_later(_CLOSE_GRACE, self._abort_transport)

    def _abort_transport(self) -> None:
        self.transport.abort()

    def _finish(self) -> None:
        if not self.closing:
            self._close(ReasonCode.UNSPECIFIED_ERROR, "connection lost")
        self.engine.connection_closed(self)

    # ---------------------------------------------------------------- keepalive

    def start_keepalive(self, seconds: int) -> None:
        """Enforce 1.5 × the negotiated keep alive (0 disables it)."""
        self.keepalive = seconds

    def _schedule_keepalive(self) -> None:
        if self.keepalive and not self.closing:
            loop = asyncio.get_running_loop()
            self._keepalive_handle = loop.call_at(self.last_rx + self.keepalive * 1.5, self._check_keepalive)

    def _check_keepalive(self) -> None:
        self._keepalive_handle = None
        if self.closing:
            return
        if asyncio.get_running_loop().time() >= self.last_rx + self.keepalive * 1.5:
            log.info("keep alive timeout for %s (%s)", self.client_id, self.peer)
            if sends_disconnect(self.version):
                self._send_disconnect(ReasonCode.KEEP_ALIVE_TIMEOUT, "keep alive timeout")
            self._close(ReasonCode.KEEP_ALIVE_TIMEOUT, "keep alive timeout")
        else:
            self._schedule_keepalive()

    # ---------------------------------------------------------------- output

    def write(self, data: bytes) -> None:
        """Queue bytes; they go out in one transport.write per connection per loop iteration."""
        out = self._out
        if not out:
            self.engine.mark_dirty(self)
        out.append(data)

    def flush(self) -> None:
        """Write everything queued now (called by the engine once per loop iteration, and before closing)."""
        out = self._out
        if not out:
            return
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        if self.transport.is_closing():
            return
        self.stats.bytes_sent += len(data)
        self.transport.write(data)

    def send_packet(self, packet: Any) -> None:
        """Encode and queue any control packet for this client's protocol version."""
        self.stats.messages_sent += 1
        self.write(encode(packet, self.version))

    def send_pubrel(self, packet_id: int) -> None:
        """Resend a PUBREL for a QoS 2 message whose PUBREC arrived before a reconnect."""
        self.send_packet(Pubrel(packet_id))

    def send_publish(self, message: Message, qos: int, retain: bool, sub_ids: tuple[int, ...],
                     packet_id: int | None, dup: bool) -> None:
        """The delivery hot path: QoS 0 bytes are encoded once per wire form and shared by all subscribers."""
        if self.closing:
            return
        if not qos:
            if self.transport.get_write_buffer_size() > self.limits.max_write_buffer:
                self.stats.dropped_qos0 += 1
                return
            if self.alias_out_max:
                data = self._encode_aliased(message, 0, retain, sub_ids, None, False)
            else:
                key: tuple[object, ...] = (self.version == 5, retain, sub_ids)
                data = message.encoded.get(key)  # type: ignore[assignment]
                if data is None:
                    props = message.properties_for_delivery(sub_ids) if self.version == 5 else None
                    data = encode_publish(message.topic, message.payload, 0, retain, False, None, props,
                                          self.version)
                    message.encoded[key] = data
        elif self.alias_out_max:
            data = self._encode_aliased(message, qos, retain, sub_ids, packet_id, dup)
        else:
            # QoS 1/2: one template per wire form, with only the packet identifier patched per delivery.
            key = (self.version == 5, qos, retain, dup, sub_ids)
            cached = message.encoded.get(key)
            if cached is None:
                props = message.properties_for_delivery(sub_ids) if self.version == 5 else None
                template = encode_publish(message.topic, message.payload, qos, retain, dup, 0, props, self.version)
                header = 2 if template[1] < 0x80 else (3 if template[2] < 0x80 else (4 if template[3] < 0x80 else 5))
                offset = header + 2 + len(message.topic.encode())
                cached = message.encoded[key] = (template, offset)
            template, offset = cached
            buffer = bytearray(template)
            buffer[offset] = packet_id >> 8  # type: ignore[operator]
            buffer[offset + 1] = packet_id & 0xFF  # type: ignore[operator]
            data = buffer  # type: ignore[assignment]  # written as is: no extra copy
        if self.max_out_packet and len(data) > self.max_out_packet:
            # [MQTT-3.1.2-25]: too large for the client: discard as if delivered.
            self.stats.dropped += 1
            if packet_id is not None and self.session is not None:
                self.session.inflight.pop(packet_id)
            return
        self.stats.messages_sent += 1
        self.stats.publish_sent += 1
        out = self._out
        if not out:
            self.engine.mark_dirty(self)
        out.append(data)

    def _encode_aliased(self, message: Message, qos: int, retain: bool, sub_ids: tuple[int, ...],
                        packet_id: int | None, dup: bool) -> bytes:
        """Per-connection encoding with an outgoing topic alias (v5 Topic Alias Maximum from the client)."""
        props = dict(message.properties_for_delivery(sub_ids))
        topic = message.topic
        alias = self.aliases_out.get(topic)
        if alias is not None:
            props["topic_alias"] = alias
            topic = ""
        elif len(self.aliases_out) < self.alias_out_max:
            alias = len(self.aliases_out) + 1
            self.aliases_out[topic] = alias
            props["topic_alias"] = alias
        return encode_publish(topic, message.payload, qos, retain, dup, packet_id, props, self.version)


Handler = Callable[[Connection, Any], Awaitable[None]]
