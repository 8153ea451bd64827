"""Bytes to packets for MQTT 3.1, 3.1.1 and 5.0. Any input either decodes or raises MalformedPacket/ProtocolError."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from embedded_broker.errors import MalformedPacket, PacketTooLarge, ProtocolError

from . import properties as props_table
from .packets import (
    Auth,
    Connack,
    Connect,
    Disconnect,
    Packet,
    PacketType,
    PingReq,
    PingResp,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Suback,
    Subscribe,
    Subscription,
    Unsuback,
    Unsubscribe,
    Will,
)
from .properties import Wire
from .reason_codes import ReasonCode


class UnsupportedProtocolVersion(ProtocolError):
    """CONNECT with a protocol name/level we do not speak: refused with UNSUPPORTED_PROTOCOL_VERSION (v3: CONNACK 1)."""

    def __init__(self, message: str, version: int = 4) -> None:
        super().__init__(message, ReasonCode.UNSUPPORTED_PROTOCOL_VERSION)
        self.version = version


_PROTOCOLS = {("MQIsdp", 3), ("MQTT", 4), ("MQTT", 5)}

_P = TypeVar("_P")


class _Reader:
    """Cursor over a packet body; every short read is a MalformedPacket."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes | bytearray | memoryview, pos: int = 0) -> None:
        self.data = bytes(data)
        self.pos = pos
        self.end = len(self.data)

    def remaining(self) -> int:
        return self.end - self.pos

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise MalformedPacket("packet is shorter than its fields")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int(struct.unpack(">H", self.take(2))[0])

    def u32(self) -> int:
        return int(struct.unpack(">I", self.take(4))[0])

    def varint(self) -> int:
        value, shift = 0, 0
        for i in range(4):
            byte = self.u8()
            if i and byte == 0:
                raise MalformedPacket("variable byte integer not in its shortest form [MQTT-1.5.5-1]")
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
        raise MalformedPacket("variable byte integer longer than 4 bytes")

    def binary(self) -> bytes:
        return self.take(self.u16())

    def utf8(self) -> str:
        raw = self.binary()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedPacket("string is not valid UTF-8") from exc
        if "\x00" in text:
            raise MalformedPacket("string contains U+0000")
        return text

    def properties(self, context: int) -> dict[str, Any]:
        length = self.varint()
        if length > self.remaining():
            raise MalformedPacket("property length runs past the packet")
        end = self.pos + length
        result: dict[str, Any] = {}
        while self.pos < end:
            ident = self.varint()
            entry = props_table.TABLE.get(ident)
            if entry is None:
                raise MalformedPacket(f"unknown property identifier 0x{ident:02X}")
            wire = entry[1]
            value: Any
            if wire is Wire.BYTE:
                value = self.u8()
            elif wire is Wire.U16:
                value = self.u16()
            elif wire is Wire.U32:
                value = self.u32()
            elif wire is Wire.VARINT:
                value = self.varint()
            elif wire is Wire.UTF8:
                value = self.utf8()
            elif wire is Wire.BINARY:
                value = self.binary()
            else:
                value = (self.utf8(), self.utf8())
            if self.pos > end:
                raise MalformedPacket("property runs past the property length")
            props_table.add_decoded(result, ident, value, context)
        return result

    def done(self) -> None:
        if self.pos != self.end:
            raise MalformedPacket("unexpected bytes at the end of the packet")


def parse_fixed_header(buf: bytes | bytearray | memoryview, offset: int = 0) -> tuple[int, int, int] | None:
    """(first byte, remaining length, header length), or None until enough bytes have arrived."""
    available = len(buf) - offset
    if available < 2:
        return None
    value, shift = 0, 0
    for i in range(1, 5):
        if i >= available:
            return None
        byte = buf[offset + i]
        if i > 1 and byte == 0:
            raise MalformedPacket("remaining length not in its shortest form [MQTT-1.5.5-1]")
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return buf[offset], value, i + 1
        shift += 7
    raise MalformedPacket("remaining length is longer than 4 bytes")


def _packet_id(r: _Reader) -> int:
    packet_id = r.u16()
    if packet_id == 0:
        raise MalformedPacket("packet identifier 0 is not allowed", ReasonCode.PROTOCOL_ERROR)
    return packet_id


def _check_topic_name(topic: str) -> None:
    if "+" in topic or "#" in topic:
        raise MalformedPacket(f"topic name '{topic}' contains a wildcard", ReasonCode.TOPIC_NAME_INVALID)


def _decode_connect(r: _Reader) -> Connect:
    name = r.utf8()
    level = r.u8()
    if (name, level) not in _PROTOCOLS:
        raise UnsupportedProtocolVersion(f"unsupported protocol {name!r} level {level}", 5 if level == 5 else 4)
    flags = r.u8()
    if flags & 0x01:
        raise MalformedPacket("CONNECT reserved flag is set")
    will_flag, will_qos, will_retain = bool(flags & 0x04), (flags >> 3) & 0x03, bool(flags & 0x20)
    has_password, has_username = bool(flags & 0x40), bool(flags & 0x80)
    if not will_flag and (will_qos or will_retain):
        raise MalformedPacket("will QoS or retain set without the will flag")
    if will_qos == 3:
        raise MalformedPacket("will QoS 3 is not allowed")
    if level < 5 and has_password and not has_username:
        raise MalformedPacket("password flag without user name flag (MQTT 3.1.1)")
    keepalive = r.u16()
    properties = r.properties(PacketType.CONNECT) if level == 5 else {}
    client_id = r.utf8()
    will = None
    if will_flag:
        will_props = r.properties(props_table.WILL) if level == 5 else {}
        will_topic = r.utf8()
        _check_topic_name(will_topic)
        will = Will(will_topic, r.binary(), will_qos, will_retain, will_props)
    username = r.utf8() if has_username else None
    password = r.binary() if has_password else None
    r.done()
    return Connect(level, client_id, bool(flags & 0x02), keepalive, username, password, will, properties, name)


def _decode_publish_fast(flags: int, body: bytes | bytearray | memoryview) -> Publish | None:
    """The hot path: a v3 PUBLISH with an ASCII topic, parsed without the general reader; None to fall back."""
    qos = (flags >> 1) & 0x03
    if qos == 3 or (qos == 0 and flags & 0x08) or len(body) < 2:
        return None
    topic_len = (body[0] << 8) | body[1]
    end = 2 + topic_len
    if len(body) < end + (2 if qos else 0):
        return None
    raw = bytes(body[2:end])
    if not raw or not raw.isascii() or b"+" in raw or b"#" in raw or b"\x00" in raw:
        return None
    packet_id = None
    if qos:
        packet_id = (body[end] << 8) | body[end + 1]
        if packet_id == 0:
            return None
        end += 2
    return Publish(raw.decode("ascii"), bytes(body[end:]), qos, bool(flags & 0x01), bool(flags & 0x08), packet_id)


def _decode_publish(flags: int, r: _Reader, version: int) -> Publish:
    qos = (flags >> 1) & 0x03
    dup = bool(flags & 0x08)
    if qos == 3:
        raise MalformedPacket("PUBLISH with QoS 3")
    if dup and qos == 0:
        raise MalformedPacket("DUP set on a QoS 0 PUBLISH")
    topic = r.utf8()
    _check_topic_name(topic)
    packet_id = _packet_id(r) if qos else None
    properties = r.properties(PacketType.PUBLISH) if version == 5 else {}
    if not topic and "topic_alias" not in properties:
        raise MalformedPacket("empty topic name without a topic alias", ReasonCode.PROTOCOL_ERROR)
    payload = r.take(r.remaining())
    return Publish(topic, payload, qos, bool(flags & 0x01), dup, packet_id, properties)


def _decode_ack(cls: Callable[[int, int, dict[str, Any]], _P], kind: PacketType, r: _Reader, version: int) -> _P:
    packet_id = _packet_id(r)
    reason, properties = 0, {}
    if version == 5 and r.remaining():
        reason = r.u8()
        if r.remaining():
            properties = r.properties(kind)
    r.done()
    return cls(packet_id, reason, properties)


def _decode_subscribe(r: _Reader, version: int) -> Subscribe:
    packet_id = _packet_id(r)
    properties = r.properties(PacketType.SUBSCRIBE) if version == 5 else {}
    if len(properties.get("subscription_identifier", ())) > 1:
        raise ProtocolError("SUBSCRIBE with more than one subscription identifier", ReasonCode.PROTOCOL_ERROR)
    subs = []
    while r.remaining():
        topic_filter = r.utf8()
        options = r.u8()
        if not topic_filter:
            raise MalformedPacket("empty topic filter", ReasonCode.TOPIC_FILTER_INVALID)
        qos = options & 0x03
        retain_handling = (options >> 4) & 0x03
        reserved = options & (0xC0 if version == 5 else 0xFC)
        if qos == 3 or reserved or retain_handling == 3:
            raise MalformedPacket("invalid subscription options")
        subs.append(Subscription(topic_filter, qos, bool(options & 0x04) if version == 5 else False,
                                 bool(options & 0x08) if version == 5 else False,
                                 retain_handling if version == 5 else 0))
    if not subs:
        raise MalformedPacket("SUBSCRIBE without any topic filter", ReasonCode.PROTOCOL_ERROR)
    return Subscribe(packet_id, tuple(subs), properties)


def _decode_unsubscribe(r: _Reader, version: int) -> Unsubscribe:
    packet_id = _packet_id(r)
    properties = r.properties(PacketType.UNSUBSCRIBE) if version == 5 else {}
    filters = []
    while r.remaining():
        topic_filter = r.utf8()
        if not topic_filter:
            raise MalformedPacket("empty topic filter", ReasonCode.TOPIC_FILTER_INVALID)
        filters.append(topic_filter)
    if not filters:
        raise MalformedPacket("UNSUBSCRIBE without any topic filter", ReasonCode.PROTOCOL_ERROR)
    return Unsubscribe(packet_id, tuple(filters), properties)


def _decode_reason_only(cls: Callable[..., _P], kind: PacketType, r: _Reader, version: int) -> _P:
    if version < 5 or not r.remaining():
        r.done()
        return cls()
    reason = r.u8()
    properties = r.properties(kind) if r.remaining() else {}
    r.done()
    return cls(reason, properties)


_FLAGS_REQUIRED = {PacketType.PUBREL: 2, PacketType.SUBSCRIBE: 2, PacketType.UNSUBSCRIBE: 2}


def decode_packet(first_byte: int, body: bytes | bytearray | memoryview, version: int) -> Packet:
    """Decode one packet body; CONNECT brings its own protocol level, other packets use the session's.

    Raises:
        MalformedPacket / ProtocolError (with the reason code that closes the connection); nothing else.
    """
    kind_value, flags = first_byte >> 4, first_byte & 0x0F
    if kind_value == 3 and version < 5:  # PUBLISH fast path: no enum lookup, no general reader
        fast = _decode_publish_fast(flags, body)
        if fast is not None:
            return fast
    try:
        kind = PacketType(kind_value)
    except ValueError:
        raise MalformedPacket("reserved packet type 0") from None
    if kind is not PacketType.PUBLISH and flags != _FLAGS_REQUIRED.get(kind, 0):
        raise MalformedPacket(f"invalid fixed header flags for {kind.name}")
    if kind is PacketType.PUBLISH:
        return _decode_publish(flags, _Reader(body), version)
    r = _Reader(body)
    if kind is PacketType.CONNECT:
        return _decode_connect(r)
    if kind is PacketType.PUBACK:
        return _decode_ack(Puback, kind, r, version)
    if kind is PacketType.PUBREC:
        return _decode_ack(Pubrec, kind, r, version)
    if kind is PacketType.PUBREL:
        return _decode_ack(Pubrel, kind, r, version)
    if kind is PacketType.PUBCOMP:
        return _decode_ack(Pubcomp, kind, r, version)
    if kind is PacketType.SUBSCRIBE:
        return _decode_subscribe(r, version)
    if kind is PacketType.UNSUBSCRIBE:
        return _decode_unsubscribe(r, version)
    if kind in (PacketType.PINGREQ, PacketType.PINGRESP):
        r.done()
        return PingReq() if kind is PacketType.PINGREQ else PingResp()
    if kind is PacketType.DISCONNECT:
        return _decode_reason_only(Disconnect, kind, r, version)
    if kind is PacketType.AUTH:
        if version < 5:
            raise MalformedPacket("AUTH exists only in MQTT 5")
        return _decode_reason_only(Auth, kind, r, version)
    return _decode_server_packet(kind, r, version)


def _decode_server_packet(kind: PacketType, r: _Reader, version: int) -> Packet:
    """CONNACK, SUBACK and UNSUBACK: sent by servers, decoded for tests and tools."""
    if kind is PacketType.CONNACK:
        ack_flags = r.u8()
        if ack_flags & 0xFE:
            raise MalformedPacket("CONNACK reserved flags set")
        code = r.u8()
        properties = r.properties(PacketType.CONNACK) if version == 5 else {}
        r.done()
        return Connack(bool(ack_flags & 1), code, properties)
    packet_id = _packet_id(r)
    properties = r.properties(kind) if version == 5 else {}
    codes = tuple(r.take(r.remaining()))
    if kind is PacketType.SUBACK:
        return Suback(packet_id, codes, properties)
    return Unsuback(packet_id, codes if version == 5 else (), properties)


class PacketReader:
    """Splits a byte stream into (first byte, body) frames without quadratic copying."""

    def __init__(self, max_packet_size: int = 268_435_460) -> None:
        self.max_packet_size = max_packet_size
        self._buf = bytearray()
        self._pos = 0

    def feed(self, data: bytes) -> None:
        """Append bytes as they arrive from the socket."""
        if self._pos and self._pos >= len(self._buf) // 2:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        while True:
            header = parse_fixed_header(self._buf, self._pos)
            if header is None:
                return
            first, length, header_len = header
            if header_len + length > self.max_packet_size:
                raise PacketTooLarge(f"packet of {header_len + length} bytes exceeds {self.max_packet_size}")
            start = self._pos + header_len
            if len(self._buf) < start + length:
                return
            body = bytes(self._buf[start:start + length])
            self._pos = start + length
            yield first, body

    @property
    def buffered(self) -> int:
        """Bytes received but not yet framed (a slowloris client shows up here)."""
        return len(self._buf) - self._pos
