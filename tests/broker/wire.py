"""Hand-built MQTT bytes and a blocking raw socket client, for exact wire tests (paho's test style).

Deliberately independent of our codec: packets are assembled field by field here.
"""

from __future__ import annotations

import selectors
import socket
import ssl
import struct
import time
from contextlib import ExitStack


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value % 128, value // 128
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def utf8(text: str) -> bytes:
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def packet(first_byte: int, body: bytes) -> bytes:
    return bytes([first_byte]) + varint(len(body)) + body


def props(*items: bytes) -> bytes:
    data = b"".join(items)
    return varint(len(data)) + data


def connect(client_id: str = "raw", version: int = 4, clean: bool = True, keepalive: int = 60,
            will: tuple[str, bytes, int, bool] | None = None, properties: bytes = b"\x00",
            will_properties: bytes = b"\x00", username: str | None = None, password: bytes | None = None) -> bytes:
    name = utf8("MQIsdp") if version == 3 else utf8("MQTT")
    flags = 0x02 if clean else 0
    payload = utf8(client_id)
    if will is not None:
        topic, message, qos, retain = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        if version == 5:
            payload += will_properties
        payload += utf8(topic) + struct.pack("!H", len(message)) + message
    if username is not None:
        flags |= 0x80
        payload += utf8(username)
    if password is not None:
        flags |= 0x40
        payload += struct.pack("!H", len(password)) + password
    body = name + bytes([version, flags]) + struct.pack("!H", keepalive)
    if version == 5:
        body += properties
    return packet(0x10, body + payload)


def publish(topic: str, payload: bytes = b"", qos: int = 0, retain: bool = False, dup: bool = False,
            packet_id: int = 1, version: int = 4, properties: bytes = b"\x00") -> bytes:
    body = utf8(topic)
    if qos:
        body += struct.pack("!H", packet_id)
    if version == 5:
        body += properties
    return packet(0x30 | (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0), body + payload)


def subscribe(packet_id: int, *filters: tuple[str, int], version: int = 4, properties: bytes = b"\x00") -> bytes:
    body = struct.pack("!H", packet_id) + (properties if version == 5 else b"")
    for topic_filter, options in filters:
        body += utf8(topic_filter) + bytes([options])
    return packet(0x82, body)


def unsubscribe(packet_id: int, *filters: str, version: int = 4) -> bytes:
    body = struct.pack("!H", packet_id) + (b"\x00" if version == 5 else b"")
    return packet(0xA2, body + b"".join(utf8(f) for f in filters))


def ack(kind: int, packet_id: int, reason: int | None = None) -> bytes:
    """PUBACK (0x40), PUBREC (0x50), PUBREL (0x62), PUBCOMP (0x70) with an optional v5 reason code."""
    body = struct.pack("!H", packet_id) + (bytes([reason]) if reason is not None else b"")
    return packet(kind, body)


PINGREQ = b"\xc0\x00"
PINGRESP = b"\xd0\x00"
DISCONNECT = b"\xe0\x00"


def disconnect_v5(reason: int, properties: bytes = b"\x00") -> bytes:
    return packet(0xE0, bytes([reason]) + properties)


def prop_int(identifier: int, value: int, size: int) -> bytes:
    return bytes([identifier]) + value.to_bytes(size, "big")


class RawClient:
    """A blocking socket that sends bytes and reads whole packets, with a timeout on every read."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self._buffer = b""

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, size: int) -> bool:
        while len(self._buffer) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                return False
            self._buffer += chunk
        return True

    def recv_packet(self) -> bytes | None:
        """The next whole packet (fixed header included), or None when the server closed the connection."""
        if not self._fill(2):
            return None
        length, multiplier, index = 0, 1, 1
        while True:
            if not self._fill(index + 1):
                return None
            byte = self._buffer[index]
            length += (byte & 0x7F) * multiplier
            multiplier *= 128
            index += 1
            if not byte & 0x80:
                break
        if not self._fill(index + length):
            return None
        data, self._buffer = self._buffer[: index + length], self._buffer[index + length:]
        return data

    def expect(self, data: bytes) -> None:
        got = self.recv_packet()
        assert got == data, f"expected {data!r}, got {got!r}"

    def expect_closed(self) -> bytes | None:
        """Read until the server closes; returns the last packet seen before the close (e.g. a DISCONNECT)."""
        last = None
        try:
            while (got := self.recv_packet()) is not None:
                last = got
        except ConnectionResetError:
            pass
        return last

    def connect(self, client_id: str = "raw", version: int = 4, **kwargs: object) -> bytes:
        self.send(connect(client_id, version, **kwargs))  # type: ignore[arg-type]
        got = self.recv_packet()
        assert got is not None and got[0] == 0x20, f"no CONNACK: {got!r}"
        return got


def split_header(data: bytes) -> tuple[int, bytes]:
    """(first byte, body) of one whole packet."""
    index = 1
    while data[index] & 0x80:
        index += 1
    return data[0], data[index + 1:]


def parse_publish(data: bytes, version: int = 4) -> tuple[str, bytes, int, int | None, bytes]:
    """(topic, payload, qos, packet id, raw v5 property bytes) of a PUBLISH."""
    first, body = split_header(data)
    assert first >> 4 == 3, f"not a PUBLISH: {data!r}"
    qos = (first >> 1) & 3
    size = struct.unpack("!H", body[:2])[0]
    topic, rest = body[2:2 + size].decode(), body[2 + size:]
    pid = None
    if qos:
        pid, rest = struct.unpack("!H", rest[:2])[0], rest[2:]
    raw_props = b""
    if version == 5:
        length, shift, index = 0, 0, 0
        while True:
            byte = rest[index]
            length |= (byte & 0x7F) << shift
            shift += 7
            index += 1
            if not byte & 0x80:
                break
        raw_props, rest = rest[index:index + length], rest[index + length:]
    return topic, rest, qos, pid, raw_props


def tls_connack(port: int, ctx: ssl.SSLContext, client_id: str = "d:dev-1", *, server_name: str = "localhost",
                timeout: float = 5.0) -> bytes:
    """An MQTT 3.1.1 CONNECT over a fresh TLS connection; the 4 bytes back (the CONNACK, b"" on a close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw, \
            ctx.wrap_socket(raw, server_hostname=server_name) as tls:
        tls.sendall(connect(client_id))
        return tls.recv(4)


def silent_sockets(port: int, count: int, stack: ExitStack) -> list[socket.socket]:
    """`count` TCP connections that never speak (a handshake flood), closed when `stack` closes."""
    return [stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5)) for _ in range(count)]


def closed_within(sockets: list[socket.socket], seconds: float) -> list[socket.socket]:
    """The sockets the server closed (EOF or reset) within `seconds`; the others stayed open."""
    closed: list[socket.socket] = []
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            selector.register(sock, selectors.EVENT_READ)
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            for key, _mask in selector.select(left):
                ready = key.fileobj
                assert isinstance(ready, socket.socket)
                try:
                    data = ready.recv(1)
                except ConnectionResetError:
                    data = b""
                assert data == b""
                selector.unregister(ready)
                closed.append(ready)
    return closed
