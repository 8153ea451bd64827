"""Which devices hold an MQTT connection right now, and when each was last seen: kept by the MQTT rules as they
accept and drop connections, read by the REST overview, so "connected" is a fact rather than a replay of events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, str]  # (tenant, device id)


@dataclass(frozen=True)
class DeviceSession:
    """One open connection: the MQTT client id and, for a certificate device, the trusted CA it chained to.

    `session_key` is the broker's key of the connection's session (tenant, user and device id), the address for
    `Broker.send_to_client`; `connection` tells one connection from a later one with the same client id.
    """

    client_id: str
    anchor_fingerprint: str | None
    since: float
    session_key: str = ""
    connection: Any = field(default=None, compare=False)


class DeviceSessions:
    """One connection per device (a new one takes over); connect and disconnect times are remembered."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._open: dict[Key, DeviceSession] = {}
        self._seen: dict[Key, float] = {}
        self._anchor: dict[Key, str] = {}

    def opened(self, key: Key, client_id: str, anchor_fingerprint: str | None, session_key: str = "",
               connection: Any = None) -> DeviceSession | None:
        """Record a new connection; returns the session it takes over, if any."""
        previous = self._open.get(key)
        now = self._clock()
        self._open[key] = DeviceSession(client_id, anchor_fingerprint, now, session_key or client_id, connection)
        self._seen[key] = now
        if anchor_fingerprint is not None:
            self._anchor[key] = anchor_fingerprint
        return previous

    def closed(self, key: Key, client_id: str, connection: Any = None) -> None:
        """Forget the connection, unless another one of the device has taken over since (even with the same id)."""
        self._seen[key] = self._clock()
        current = self._open.get(key)
        if current is None:
            return
        same = current.connection is connection if connection is not None else current.client_id == client_id
        if same:
            del self._open[key]

    def current(self, key: Key) -> DeviceSession | None:
        """The open connection of a device, if any."""
        return self._open.get(key)

    def open_sessions(self) -> Iterator[tuple[Key, DeviceSession]]:
        """Every open connection (a copy: callers may close sessions while iterating)."""
        return iter(tuple(self._open.items()))

    def last_seen(self, key: Key) -> float | None:
        """When the device last connected or disconnected (since the platform started)."""
        return self._seen.get(key)

    def anchor(self, key: Key) -> str | None:
        """The trusted CA the device's chain last reached."""
        return self._anchor.get(key)

    def known(self, tenant: str) -> list[str]:
        """Device ids of one tenant seen on MQTT since the start."""
        return [device for (t, device) in self._seen if t == tenant]
