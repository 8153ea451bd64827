"""Broker counters and their `$SYS/broker/...` topics, named as mosquitto names them."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

_LOAD_WINDOWS = (("1min", 60.0), ("5min", 300.0), ("15min", 900.0))
_LOADED = ("messages/received", "messages/sent", "bytes/received", "bytes/sent", "publish/received",
           "publish/sent", "connections")


class Stats:
    """Plain integer counters bumped on the hot path; everything derived is computed only when published."""

    __slots__ = (
        "_last",
        "_last_time",
        "_load",
        "bytes_received",
        "bytes_sent",
        "clients_connected",
        "clients_maximum",
        "connections_total",
        "dropped",
        "dropped_qos0",
        "messages_received",
        "messages_sent",
        "publish_received",
        "publish_sent",
        "refused",
        "started",
    )

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.bytes_received = 0
        self.bytes_sent = 0
        self.messages_received = 0
        self.messages_sent = 0
        self.publish_received = 0
        self.publish_sent = 0
        self.clients_connected = 0
        self.clients_maximum = 0
        self.connections_total = 0
        self.refused = 0
        self.dropped = 0
        self.dropped_qos0 = 0
        self._last: dict[str, int] = {}
        self._last_time = self.started
        self._load: dict[str, float] = {}

    def snapshot(self) -> dict[str, int]:
        """All counters as a dict, for events and the console."""
        return {
            "bytes_received": self.bytes_received,
            "bytes_sent": self.bytes_sent,
            "messages_received": self.messages_received,
            "messages_sent": self.messages_sent,
            "publish_received": self.publish_received,
            "publish_sent": self.publish_sent,
            "clients_connected": self.clients_connected,
            "clients_maximum": self.clients_maximum,
            "connections_total": self.connections_total,
            "refused": self.refused,
            "dropped": self.dropped,
            "dropped_qos0": self.dropped_qos0,
        }

    def _update_load(self) -> None:
        now = time.monotonic()
        elapsed = max(now - self._last_time, 1e-6)
        current = {
            "messages/received": self.messages_received,
            "messages/sent": self.messages_sent,
            "bytes/received": self.bytes_received,
            "bytes/sent": self.bytes_sent,
            "publish/received": self.publish_received,
            "publish/sent": self.publish_sent,
            "connections": self.connections_total,
        }
        for name in _LOADED:
            rate = (current[name] - self._last.get(name, 0)) * 60.0 / elapsed  # per minute, like mosquitto
            for label, window in _LOAD_WINDOWS:
                key = f"{name}/{label}"
                factor = math.exp(-elapsed / window)
                self._load[key] = rate + factor * (self._load.get(key, rate) - rate)
        self._last = current
        self._last_time = now

    def sys_topics(self, version: str, subscriptions: int, retained: int, sessions: int) -> Iterator[tuple[str, str]]:
        """(topic, payload) for every `$SYS/broker/...` value, in mosquitto's names."""
        self._update_load()
        uptime = int(time.monotonic() - self.started)
        base = "$SYS/broker/"
        yield base + "version", version
        yield base + "uptime", f"{uptime} seconds"
        yield base + "clients/connected", str(self.clients_connected)
        yield base + "clients/active", str(self.clients_connected)
        yield base + "clients/total", str(sessions)
        yield base + "clients/disconnected", str(max(sessions - self.clients_connected, 0))
        yield base + "clients/maximum", str(self.clients_maximum)
        yield base + "messages/received", str(self.messages_received)
        yield base + "messages/sent", str(self.messages_sent)
        yield base + "publish/messages/received", str(self.publish_received)
        yield base + "publish/messages/sent", str(self.publish_sent)
        yield base + "publish/messages/dropped", str(self.dropped + self.dropped_qos0)
        yield base + "bytes/received", str(self.bytes_received)
        yield base + "bytes/sent", str(self.bytes_sent)
        yield base + "subscriptions/count", str(subscriptions)
        yield base + "retained messages/count", str(retained)
        for key, value in self._load.items():
            yield base + "load/" + key, f"{value:.2f}"
