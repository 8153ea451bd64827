"""The console's one batched delivery: messages from any thread are queued (bounded) and handed to the GUI thread
as one list per tick, so every consumer (the table, a topic tree, charts) costs one call per tick, not per message."""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from workbench.core.console.messages import ConsoleMessage, MessageRing

_FREEZE_EVERY = 10_000  # messages between gc.freeze() calls
_BATCH_PER_TICK = 1_000  # messages one tick appends at most: a backlog drains over ticks, never in one long stall


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
        self._lock = threading.RLock()  # the GUI thread may re-enter (a consumer of a batch adds a message)
        self.received = 0
        self.dropped_capacity = 0
        self._since_freeze = 0
        self._timer = QTimer(self)
        self._timer.setInterval(flush_ms)
        self._timer.timeout.connect(self._tick)
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

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold the feeding threads at `add` while the GUI thread runs many short Python calls in a row (a paint).

        A paint of the message table calls the model's data() about 750 times from C++, each taking the GIL anew;
        with paho's network thread parsing 10,000 messages/s it would get the GIL back between calls (a convoy that
        stretched one paint past 40 ms). Held, paho's thread waits on this lock, off the GIL, for the paint's few
        milliseconds; the messages wait in the socket meanwhile.
        """
        with self._lock:
            yield

    @property
    def queued(self) -> int:
        """Messages waiting for the next tick."""
        return len(self._incoming)

    def _tick(self) -> None:
        self.flush(_BATCH_PER_TICK)

    def flush(self, limit: int | None = None) -> list[ConsoleMessage]:
        """Append what is queued (the oldest `limit` of it, if given) to the ring and hand it to the consumers as
        one batch (GUI thread). The timer's ticks pass a limit: when the GUI thread fell behind, a backlog of
        thousands drains over several ticks with the event loop running in between, instead of in one stall."""
        with self._lock:  # the whole tick: paho's thread waits at add(), off the GIL (see held)
            incoming = self._incoming
            if limit is None or len(incoming) <= limit:
                items: list[tuple[Any, ...]] = list(incoming)
                incoming.clear()
            else:
                items = [incoming.popleft() for _ in range(limit)]
            if not items:
                return []
            added = self.ring.extend(items)
            self._since_freeze += len(added)
            if self._since_freeze >= _FREEZE_EVERY:
                # Buffered messages leave the cyclic GC's scans (refcounting still frees them when they are
                # evicted): with 100,000 of them a full collection would pause the GUI for 50-80 ms (bench/console.py).
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
