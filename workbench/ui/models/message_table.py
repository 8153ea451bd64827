"""The console's message table: a virtual model over the ring buffer, fed in batches so the GUI never stalls."""

from __future__ import annotations

import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal

from workbench.core.console.messages import ConsoleMessage, MessageFilter, MessageRing

from .message_feed import MessageFeed

COLUMNS = ("Time", "Dir", "Topic", "QoS", "Retain", "Size")
ModelIndex = QModelIndex | QPersistentModelIndex


class MessageTableModel(QAbstractTableModel):
    """Rows are the visible (filtered) messages of a MessageRing; `add_message()` is safe from any thread.

    Messages arrive through a MessageFeed (its own, or one shared with other consumers such as a topic tree), one
    batch per tick on the GUI thread, applied as one row insertion. While paused the ring keeps filling (bounded),
    the view stays still and `pending` counts what it will show on resume.

    Every message received is accounted for: shown, hidden by the view's filter (kept, shown when the filter
    changes), pending while paused, or dropped with a reason: `dropped_capacity` (more arrived than the buffer
    holds before the GUI could take them) or `dropped_paused` (it fell out of the buffer while the view was
    paused, before it could be shown).

    Signals:
        counts_changed: (shown, total kept, evicted, pending while paused), for the status line.
        drops_changed: (dropped over capacity, dropped while paused), whenever either grows or is reset.
    """

    counts_changed = Signal(int, int, int, int)
    drops_changed = Signal(int, int)

    def __init__(self, ring: MessageRing | MessageFeed, flush_ms: int = 50, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.feed = ring if isinstance(ring, MessageFeed) else MessageFeed(ring, flush_ms, self)
        self.ring = self.feed.ring
        self._rows: list[ConsoleMessage] = []
        self._head = 0  # rows before _head were evicted; compacted now and then
        self._filter = MessageFilter()
        self.paused = False
        self.pending = 0
        self._presented = self.ring.next_seq  # every message below this was shown or hidden by the filter
        self.shown_total = 0  # messages put on screen (each counted once)
        self.hidden_total = 0  # messages the filter kept off the screen when they arrived
        self.dropped_paused = 0
        self.colours: dict[str, Any] = {}  # subscription filter -> QColor, for the rows it brought in
        self.feed.batch.connect(self._on_batch)
        self._reported_capacity_drops = 0

    # --- feeding -----------------------------------------------------------------------------------------
    # Not named `submit`: QAbstractItemModel.submit() is a virtual slot views call; overriding it crashes Qt.
    def add_message(self, direction: str, topic: str, payload: bytes, qos: int = 0, retain: bool = False,
                    properties: dict[str, Any] | None = None, subscription: str = "") -> None:
        """Queue a message from any thread (paho's network thread calls this)."""
        self.feed.add(direction, topic, payload, qos, retain, properties, subscription)

    def flush(self) -> None:
        """Apply what is queued now instead of at the next tick."""
        self.feed.flush()

    @property
    def dropped_capacity(self) -> int:
        """Messages let go before they reached the buffer: more arrived at once than it holds."""
        return self.feed.dropped_capacity

    def _on_batch(self, added: list[ConsoleMessage]) -> None:
        if self.feed.dropped_capacity != self._reported_capacity_drops:
            self._reported_capacity_drops = self.feed.dropped_capacity
            self._emit_drops()
        if self.paused:
            self._account_paused()
        else:
            shown = [m for m in added if self._filter.accepts(m)] if self._filter.active else added
            self.shown_total += len(shown)
            self.hidden_total += len(added) - len(shown)
            self._presented = self.ring.next_seq
            self._show(shown)
        self._emit_counts()

    def _account_paused(self) -> None:
        """Messages that fell out of the ring while paused, never shown, are counted as dropped (paused)."""
        lost = self.ring.first_seq - self._presented
        if lost > 0:
            self.dropped_paused += lost
            self._presented = self.ring.first_seq
            self._emit_drops()
        self.pending = self.ring.next_seq - self._presented

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
        """Freeze the view; resume shows what arrived meanwhile (as far as the ring kept it; the rest is counted)."""
        if paused == self.paused:
            return
        self.paused = paused
        if not paused:
            self._account_paused()
            for message in self.ring.newest(self.pending):
                if self._filter.accepts(message):
                    self.shown_total += 1
                else:
                    self.hidden_total += 1
            self.pending = 0
            self._presented = self.ring.next_seq
            self._rebuild()

    def clear(self) -> None:
        """Forget every message and every count."""
        self.feed.flush()  # what is queued now belongs to what the user clears
        self.beginResetModel()
        self.ring.clear()
        self._rows, self._head, self.pending = [], 0, 0
        self._presented = self.ring.next_seq
        self.shown_total = self.hidden_total = self.dropped_paused = 0
        self.endResetModel()
        self.feed.reset_counts()
        self._reported_capacity_drops = 0
        self._emit_counts()
        self._emit_drops()

    def _rebuild(self) -> None:
        self.beginResetModel()
        self._rows = [m for m in self.ring if self._filter.accepts(m)] if self._filter.active else list(self.ring)
        self._head = 0
        self.endResetModel()
        self._emit_counts()

    def _emit_counts(self) -> None:
        self.counts_changed.emit(self.rowCount(), len(self.ring), self.ring.evicted, self.pending)

    def _emit_drops(self) -> None:
        self.drops_changed.emit(self.dropped_capacity, self.dropped_paused)

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
