"""The console's one batched delivery: messages from any thread are queued (bounded) and handed to the GUI thread
as one list per tick, so every consumer (the table, a topic tree, charts) costs one call per tick, not per message."""

from __future__ import annotations

import gc
import threading
import time
from collections import deque
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from workbench.core.console.messages import ConsoleMessage, MessageRing

_FREEZE_EVERY = 10_000  # messages between gc.freeze() calls


class MessageFeed(QObject):
    """Queues messages from any thread and appends them to the ring on the GUI thread, one batch per tick.

    The queue holds at most the ring's capacity: when the GUI thread falls that far behind, the oldest queued
    messages could never be shown (the ring would push them out in the same tick), so they are let go at once and
    counted in `dropped_capacity` (always in a tick that also delivers a batch). `received` counts every message
    offered, so that received == appended to the ring + dropped_capacity + still queued.

    Signals:
        batch: list[ConsoleMessage], the messages just appended to the ring, oldest first, on the GUI thread.
            Consumers connect here; none of them sees a per-message signal.
    """

    batch = Signal(object)  # object, not list: PySide would convert a list element by element

    def __init__(self, ring: MessageRing, flush_ms: int = 50, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ring = ring
        self._incoming: deque[tuple[Any, ...]] = deque()
        self._lock = threading.Lock()
        self.received = 0
        self.dropped_capacity = 0
        self._since_freeze = 0
        self._timer = QTimer(self)
        self._timer.setInterval(flush_ms)
        self._timer.timeout.connect(self.flush)
        self._timer.start()

    def add(self, direction: str, topic: str, payload: bytes, qos: int = 0, retain: bool = False,
            properties: dict[str, Any] | None = None, subscription: str = "") -> None:
        """Queue one message; safe from any thread (paho's network thread calls this for every message)."""
        item = (time.time(), direction, topic, payload, qos, retain, properties or {}, subscription)
        with self._lock:
            self.received += 1
            self._incoming.append(item)
            if len(self._incoming) > self.ring.capacity:
                self._incoming.popleft()
                self.dropped_capacity += 1

    @property
    def queued(self) -> int:
        """Messages waiting for the next tick."""
        return len(self._incoming)

    def flush(self) -> list[ConsoleMessage]:
        """Append what is queued to the ring and hand it to the consumers as one batch (GUI thread)."""
        with self._lock:
            if not self._incoming:
                items: list[tuple[Any, ...]] = []
            else:
                items = list(self._incoming)
                self._incoming.clear()
        if not items:
            return []
        added = self.ring.extend(items)
        self._since_freeze += len(added)
        if self._since_freeze >= _FREEZE_EVERY:
            # Buffered messages leave the cyclic GC's scans (refcounting still frees them when they are evicted):
            # with 100,000 of them a full collection would pause the GUI for 50-80 ms (bench/console.py).
            gc.freeze()
            self._since_freeze = 0
        self.batch.emit(added)
        return added

    def reset_counts(self) -> None:
        """Forget the counts (the user cleared the console)."""
        with self._lock:
            self.received = len(self._incoming)
            self.dropped_capacity = 0

    def stop(self) -> None:
        """No more ticks (the console is closing)."""
        self._timer.stop()
