"""Every configurable engine limit in one frozen value, so robustness rules are visible and testable in one place."""

from __future__ import annotations

from dataclasses import dataclass, fields

MAX_PACKET_SIZE_PROTOCOL = 268_435_455  # the largest remaining length MQTT can encode, plus headers


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that keep one client from hurting the others; all have safe defaults."""

    connect_timeout: float = 10.0
    """Seconds a new connection has to send CONNECT, counted after its TLS handshake if any (slowloris guard)."""
    tls_handshake_timeout: float = 50.0
    """Seconds a client has to complete its TLS handshake, as in the cloud; each socket runs on its own clock."""
    max_pending_handshakes: int = 1000
    """Sockets allowed in the TLS handshake phase at once; above it new sockets are closed at accept (refused)."""
    tls_handshake_threads: int = 2
    """Threads that run the CPU part of TLS handshakes off the event loop (0: on the loop thread)."""
    max_packet_size: int = 1_048_576
    """Largest packet accepted from a client, in bytes; announced as Maximum Packet Size (v5)."""
    max_connections: int = 10_000
    """Connections over this number are closed at accept."""
    receive_maximum: int = 100
    """Unacknowledged QoS 2 PUBLISH packets a client may have in flight to us (v5 Receive Maximum)."""
    max_inflight: int = 100
    """Unacknowledged QoS 1/2 messages we send to one client, also capped by its Receive Maximum."""
    max_queued: int = 1000
    """Messages kept per session while offline, held, or beyond the in-flight window."""
    max_write_buffer: int = 1_048_576
    """Bytes waiting in a client's socket buffer beyond which QoS 0 messages to it are dropped."""
    topic_alias_maximum: int = 10
    """Topic aliases a v5 client may set towards us (0 disables them)."""
    max_keepalive: int = 65_535
    """Largest keep alive accepted; a larger client value is replaced by this (v5 Server Keep Alive)."""
    max_session_expiry: int = 0xFFFFFFFF
    """Cap on a v5 session expiry interval in seconds (0xFFFFFFFF means never)."""
    retain_available: bool = True
    """Whether retained messages are supported at all."""

    def problems(self) -> list[str]:
        """List every invalid value (empty when valid), so a config error names them all at once."""
        found = []
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                continue
            if value < 0 or (value == 0 and f.name not in ("topic_alias_maximum", "max_keepalive",
                                                              "tls_handshake_threads")):
                found.append(f"limits.{f.name} must be positive, got {value!r}")
        if not 0 < self.receive_maximum <= 65_535:
            found.append(f"limits.receive_maximum must be 1..65535, got {self.receive_maximum}")
        if not 0 <= self.topic_alias_maximum <= 65_535:
            found.append(f"limits.topic_alias_maximum must be 0..65535, got {self.topic_alias_maximum}")
        if self.max_packet_size > MAX_PACKET_SIZE_PROTOCOL:
            found.append(f"limits.max_packet_size must be at most {MAX_PACKET_SIZE_PROTOCOL}")
        return found
