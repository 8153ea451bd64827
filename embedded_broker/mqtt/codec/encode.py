"""Packets to bytes for MQTT 3.1, 3.1.1 and 5.0, with a fast path for PUBLISH (the broker's hot loop)."""

from __future__ import annotations

import struct
from typing import Any

from . import reason_codes
from .packets import (
    Auth,
    Connack,
    Connect,
    Disconnect,
    Packet,
    PingReq,
    PingResp,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Suback,
    Subscribe,
    Unsuback,
    Unsubscribe,
)
from .properties import BY_NAME, Wire

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_SMALL_LENGTHS = [bytes([n]) for n in range(128)]  # most packets: one-byte remaining length, precomputed


def encode_remaining_length(n: int) -> bytes:
    """MQTT variable byte integer (also used for property lengths and subscription identifiers)."""
    if n < 128:
        return _SMALL_LENGTHS[n]
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def _utf8(text: str) -> bytes:
    raw = text.encode("utf-8")
    return _U16.pack(len(raw)) + raw


def _binary(data: bytes) -> bytes:
    return _U16.pack(len(data)) + bytes(data)


def _one_property(ident: int, wire: Wire, value: Any) -> bytes:
    head = encode_remaining_length(ident)
    if wire is Wire.BYTE:
        return head + bytes([value])
    if wire is Wire.U16:
        return head + _U16.pack(value)
    if wire is Wire.U32:
        return head + _U32.pack(value)
    if wire is Wire.VARINT:
        return head + encode_remaining_length(value)
    if wire is Wire.UTF8:
        return head + _utf8(value)
    if wire is Wire.BINARY:
        return head + _binary(value)
    return head + _utf8(value[0]) + _utf8(value[1])


def encode_properties(properties: dict[str, Any] | None) -> bytes:
    """The property block: length then each property (lists for user_property and subscription_identifier)."""
    if not properties:
        return b"\x00"
    parts: list[bytes] = []
    for name, value in properties.items():
        ident, wire = BY_NAME[name]
        values = value if name in ("user_property", "subscription_identifier") else (value,)
        parts.extend(_one_property(ident, wire, v) for v in values)
    body = b"".join(parts)
    return encode_remaining_length(len(body)) + body


def _frame(first: int, body: bytes) -> bytes:
    return bytes([first]) + encode_remaining_length(len(body)) + body


def encode_publish(topic: str | bytes, payload: bytes, qos: int, retain: bool, dup: bool, packet_id: int | None,
                   properties: dict[str, Any] | None, version: int) -> bytes:
    """PUBLISH without building a dataclass: encode once per delivery shape, write to many subscribers."""
    raw_topic = topic.encode("utf-8") if isinstance(topic, str) else topic
    first = 0x30 | (qos << 1) | (0x08 if dup else 0) | (0x01 if retain else 0)
    variable = _U16.pack(len(raw_topic)) + raw_topic
    if qos:
        variable += _U16.pack(packet_id or 0)
    if version == 5:
        variable += encode_properties(properties)
    length = len(variable) + len(payload)
    return b"".join((bytes([first]), encode_remaining_length(length), variable, payload))


def _encode_connect(p: Connect) -> bytes:
    flags = 0x02 if p.clean_start else 0
    if p.will is not None:
        flags |= 0x04 | (p.will.qos << 3) | (0x20 if p.will.retain else 0)
    if p.username is not None:
        flags |= 0x80
    if p.password is not None:
        flags |= 0x40
    name = "MQIsdp" if p.protocol_version == 3 else "MQTT"
    parts = [_utf8(name), bytes([p.protocol_version, flags]), _U16.pack(p.keepalive)]
    if p.protocol_version == 5:
        parts.append(encode_properties(p.properties))
    parts.append(_utf8(p.client_id))
    if p.will is not None:
        if p.protocol_version == 5:
            parts.append(encode_properties(p.will.properties))
        parts += [_utf8(p.will.topic), _binary(p.will.payload)]
    if p.username is not None:
        parts.append(_utf8(p.username))
    if p.password is not None:
        parts.append(_binary(p.password))
    return _frame(0x10, b"".join(parts))


def _encode_ack(first: int, packet_id: int, reason: int, properties: dict[str, Any], version: int) -> bytes:
    body = _U16.pack(packet_id)
    if reason_codes.has_ack_reason_codes(version) and (reason or properties):
        body += bytes([reason])
        if properties:
            body += encode_properties(properties)
    return _frame(first, body)


def _encode_reason_only(first: int, reason: int, properties: dict[str, Any], version: int) -> bytes:
    if version < 5 or (not reason and not properties):
        return _frame(first, b"")
    return _frame(first, bytes([reason]) + (encode_properties(properties) if properties else b""))


def encode(packet: Packet, version: int) -> bytes:
    """Serialise any packet for a client speaking ``version`` (3, 4 or 5)."""
    v5 = version == 5
    if isinstance(packet, Publish):
        return encode_publish(packet.topic, packet.payload, packet.qos, packet.retain, packet.dup,
                              packet.packet_id, packet.properties, version)
    if isinstance(packet, Puback | Pubrec | Pubrel | Pubcomp):
        first = {Puback: 0x40, Pubrec: 0x50, Pubrel: 0x62, Pubcomp: 0x70}[type(packet)]
        return _encode_ack(first, packet.packet_id, packet.reason_code, packet.properties, version)
    if isinstance(packet, Connack):
        code = reason_codes.connack_return_code(packet.reason_code, version)
        body = bytes([1 if packet.session_present else 0, code])
        return _frame(0x20, body + (encode_properties(packet.properties) if v5 else b""))
    if isinstance(packet, Suback):
        codes = bytes(reason_codes.suback_code(c, version) for c in packet.reason_codes)
        props = encode_properties(packet.properties) if v5 else b""
        return _frame(0x90, _U16.pack(packet.packet_id) + props + codes)
    if isinstance(packet, Unsuback):
        tail = encode_properties(packet.properties) + bytes(packet.reason_codes) if v5 else b""
        return _frame(0xB0, _U16.pack(packet.packet_id) + tail)
    if isinstance(packet, PingReq | PingResp):
        return b"\xc0\x00" if isinstance(packet, PingReq) else b"\xd0\x00"
    if isinstance(packet, Disconnect):
        return _encode_reason_only(0xE0, packet.reason_code, packet.properties, version)
    if isinstance(packet, Auth):
        return _encode_reason_only(0xF0, packet.reason_code, packet.properties, version)
    if isinstance(packet, Connect):
        return _encode_connect(packet)
    if isinstance(packet, Subscribe):
        parts = [_U16.pack(packet.packet_id), encode_properties(packet.properties) if v5 else b""]
        for s in packet.subscriptions:
            options = s.qos | ((s.no_local << 2) | (s.retain_as_published << 3) | (s.retain_handling << 4)
                               if v5 else 0)
            parts += [_utf8(s.topic_filter), bytes([options])]
        return _frame(0x82, b"".join(parts))
    if isinstance(packet, Unsubscribe):
        parts = [_U16.pack(packet.packet_id), encode_properties(packet.properties) if v5 else b""]
        parts += [_utf8(f) for f in packet.topic_filters]
        return _frame(0xA2, b"".join(parts))
    raise TypeError(f"cannot encode {type(packet).__name__}")
