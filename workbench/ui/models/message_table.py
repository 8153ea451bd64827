"""The console's message table: a virtual model over the ring buffer, fed in batches so the GUI never stalls."""

from __future__ import annotations

import datetime
import gc
import threading
import time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer, Signal

from workbench.core.console.messages import ConsoleMessage, MessageFilter, MessageRing

COLUMNS = ("Time", "Dir", "Topic", "QoS", "Retain", "Size")
ModelIndex = QModelIndex | QPersistentModelIndex

_FREEZE_EVERY = 10_000  # messages between gc.freeze() calls


class MessageTableModel(QAbstractTableModel):
    """Rows are the visible (filtered) messages of a MessageRing; `add_message()` is safe from any thread.

    Messages are queued and applied every ``flush_ms`` on the GUI thread as one row insertion, so a flood
    costs one model update per tick, not one per message. While paused the ring keeps filling (bounded), the
    view stays still and `pending` counts what it will show on resume.

    Signals:
        counts_changed: (shown, total kept, evicted, pending while paused), for the status line.
    """

    counts_changed = Signal(int, int, int, int)

    def __init__(self, ring: MessageRing, flush_ms: int = 50, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ring = ring
        self._rows: list[ConsoleMessage] = []
        self._head = 0  # rows before _head were evicted; compacted now and then
        self._incoming: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()
        self._filter = MessageFilter()
        self.paused = False
        self.pending = 0
        self._since_freeze = 0
        self.colours: dict[str, Any] = {}  # subscription filter -> QColor, for the rows it brought in
        self._timer = QTimer(self)
        self._timer.setInterval(flush_ms)
        self._timer.timeout.connect(self.flush)
        self._timer.start()

    # --- feeding -----------------------------------------------------------------------------------------
    # Not named `submit`: QAbstractItemModel.submit() is a virtual slot views call; overriding it crashes Qt.
    def add_message(self, direction: str, topic: str, payload: bytes, qos: int = 0, retain: bool = False,
               properties: dict[str, Any] | None = None, subscription: str = "") -> None:
        """Queue a message from any thread (paho's network thread calls this)."""
        item = (time.time(), direction, topic, payload, qos, retain, properties, subscription)
        with self._lock:
            self._incoming.append(item)

    def flush(self) -> None:
        """Apply queued messages: ring first (bounded), then the visible rows in one insertion."""
        with self._lock:
            batch, self._incoming = self._incoming, []
        if not batch:
            return
        added = [self.ring.append(*item) for item in batch]
        self._since_freeze += len(added)
        if self._since_freeze >= _FREEZE_EVERY:
            # Buffered messages leave the cyclic GC's scans (refcounting still frees them when they are evicted):
            # with 100,000 of them a full collection would pause the GUI for 50-80 ms (bench/console.py).
            gc.freeze()
            self._since_freeze = 0
        if self.paused:
            self.pending += len(added)
        else:
            self._show([m for m in added if self._filter.accepts(m)] if self._filter.active else added)
        self._emit_counts()

    def _show(self, new: list[ConsoleMessage]) -> None:
        self._drop_evicted()
        if new:
            first = self.rowCount()
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            self._rows.extend(new)
            self.endInsertRows()
        self._drop_evicted()

    def _drop_evicted(self) -> None:
        """Rows whose message fell out of the ring leave the top of the view."""
        oldest = self.ring.first_seq
        gone = 0
        while self._head + gone < len(self._rows) and self._rows[self._head + gone].seq < oldest:
            gone += 1
        if gone:
            self.beginRemoveRows(QModelIndex(), 0, gone - 1)
            self._head += gone
            if self._head > 4096 and self._head > len(self._rows) // 2:
                del self._rows[: self._head]
                self._head = 0
            self.endRemoveRows()

    # --- view controls ------------------------------------------------------------------------------------
    def set_filter(self, message_filter: MessageFilter) -> None:
        """Show only matching messages (recomputed once over the ring)."""
        self._filter = message_filter
        self._rebuild()

    def set_paused(self, paused: bool) -> None:
        """Freeze the view; resume shows what arrived meanwhile (as far as the ring kept it)."""
        self.paused = paused
        if not paused:
            self.pending = 0
            self._rebuild()

    def clear(self) -> None:
        """Forget every message."""
        self.beginResetModel()
        self.ring.clear()
        self._rows, self._head, self.pending = [], 0, 0
        self.endResetModel()
        self._emit_counts()

    def _rebuild(self) -> None:
        self.beginResetModel()
        self._rows = [m for m in self.ring if self._filter.accepts(m)] if self._filter.active else list(self.ring)
        self._head = 0
        self.endResetModel()
        self._emit_counts()

    def _emit_counts(self) -> None:
        self.counts_changed.emit(self.rowCount(), len(self.ring), self.ring.evicted, self.pending)

    def message(self, row: int) -> ConsoleMessage:
        """The message behind a row (for the detail pane and exports)."""
        return self._rows[self._head + row]

    def visible_messages(self) -> list[ConsoleMessage]:
        """Everything the view shows, oldest first (for 'export everything')."""
        return self._rows[self._head:]

    # --- QAbstractTableModel --------------------------------------------------------------------------------
    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """Qt: visible rows."""
        return 0 if parent.isValid() else len(self._rows) - self._head

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """Qt: fixed columns."""
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt: column titles."""
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt: cell text; only the rows on screen are ever asked for."""
        if not index.isValid():
            return None
        m = self._rows[self._head + index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            column = index.column()
            if column == 0:
                return datetime.datetime.fromtimestamp(m.timestamp).strftime("%H:%M:%S.%f")[:-3]
            if column == 1:
                return "←" if m.direction == "in" else "→"
            if column == 2:
                return m.topic
            if column == 3:
                return m.qos
            if column == 4:
                return "R" if m.retain else ""
            return len(m.payload)
        if role == Qt.ItemDataRole.ForegroundRole and m.subscription:
            return self.colours.get(m.subscription)
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 1:
            return "received" if m.direction == "in" else "published"
        return None
