"""The console's message view: the table with its view filter, pause, clear and export, beside the detail pane."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workbench.core.console.export import to_csv, to_json_lines
from workbench.core.console.messages import MessageFilter
from workbench.core.files import write_atomic
from workbench.errors import WorkbenchError
from workbench.ui.errors import run_action
from workbench.ui.models.message_table import MessageTableModel

from .detail_pane import DetailPane
from .held_views import HeldTableView


class MessageView(QWidget):
    """The messages of one session's table model; `muted` names the subscriptions to hide."""

    def __init__(self, model: MessageTableModel, show_problem: Callable[[WorkbenchError], object],
                 muted: Callable[[], frozenset[str]] = frozenset) -> None:
        super().__init__()
        self.model = model
        self._show_problem = show_problem
        self._muted = muted
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)  # a tab of the console's views, as Topics and Charts: no inner margin
        bar = QHBoxLayout()
        self.topic_filter = QLineEdit()
        self.topic_filter.setPlaceholderText("show topics matching…")
        self.search = QLineEdit()
        self.search.setPlaceholderText("search payloads (Ctrl+F)")
        self.regex_box = QCheckBox("Regex")
        for widget in (self.topic_filter, self.search):
            widget.textChanged.connect(self.refilter)
        self.regex_box.toggled.connect(self.refilter)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self._on_pause_toggled)
        clear = QPushButton("Clear")
        clear.setToolTip("Ctrl+L")
        clear.clicked.connect(self.model.clear)
        export = QPushButton("Export…")
        export.clicked.connect(self._on_export_clicked)
        for widget in (self.topic_filter, self.search):
            bar.addWidget(widget, 1)
        for control in (self.regex_box, self.pause_button, clear, export):
            bar.addWidget(control)
        layout.addLayout(bar)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.table = HeldTableView(model.feed.held)  # paints while paho's thread waits off the GIL
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        # Fixed row heights and column widths: nothing is measured per inserted row at 10,000 messages/s.
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(20)
        header = self.table.horizontalHeader()
        metrics = self.table.fontMetrics()
        for column, sample in ((0, "00:00:00.000"), (1, "Dir"), (3, "QoS"), (4, "Retain"), (5, "100000")):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, metrics.horizontalAdvance(sample) + 16)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        split.addWidget(self.table)
        self.detail = DetailPane()
        split.addWidget(self.detail)
        split.setSizes([560, 440])
        layout.addWidget(split, 1)
        status = QHBoxLayout()
        self.counts = QLabel("no messages yet")
        status.addWidget(self.counts, 1)
        self.dropped = QLabel()  # messages received but never shown, with the reason; hidden while there are none
        self.dropped.setObjectName("console_dropped")
        self.dropped.setProperty("status", "warn")  # the theme's warning colour, light or dark
        self.dropped.setVisible(False)
        status.addWidget(self.dropped)
        layout.addLayout(status)
        self.model.rowsInserted.connect(self._on_rows_inserted)
        self.model.counts_changed.connect(self._on_counts_changed)
        self.model.drops_changed.connect(self._on_drops_changed)

    def refilter(self) -> None:
        """Apply the topic filter, the payload search and the muted subscriptions to the table."""
        flt = run_action(self, lambda: MessageFilter(self.topic_filter.text().strip(), self.search.text(),
                                                     self.regex_box.isChecked(), self._muted()),
                         lambda exc: self.counts.setText(exc.summary))
        if flt is not None:
            self.model.set_filter(flt)

    def _on_pause_toggled(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.model.set_paused(paused)

    def _on_counts_changed(self, shown: int, kept: int, evicted: int, pending: int) -> None:
        parts = [f"{shown:,} shown", f"{kept:,} kept"]
        if evicted:
            parts.append(f"{evicted:,} older left the buffer")
        if pending:
            parts.append(f"{pending:,} new while paused")
        self.counts.setText(" · ".join(parts))

    def _on_drops_changed(self, over_capacity: int, paused: int) -> None:
        parts = []
        if over_capacity:
            parts.append(f"{over_capacity:,} dropped: over capacity")
        if paused:
            parts.append(f"{paused:,} dropped: paused")
        self.dropped.setText(" · ".join(parts))
        self.dropped.setVisible(bool(parts))
        capacity = self.model.ring.capacity
        self.dropped.setToolTip("\n".join(
            ["Messages received but never shown:"]
             + ([f"Over capacity ({over_capacity:,}): more messages arrived at once than the buffer holds "
                 f"({capacity:,}) before the console could take them; the oldest were let go."] if over_capacity
                else [])
             + ([f"Paused ({paused:,}): they arrived while the view was paused and fell out of the buffer "
                 f"({capacity:,} messages) before you resumed. Pause for shorter, or narrow the subscriptions."]
                if paused else [])
             + ["Clear (Ctrl+L) resets the counts."]))

    def _on_rows_inserted(self) -> None:
        if not self.table.selectionModel().hasSelection():
            self.table.scrollToBottom()

    def _on_selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.detail.show_message(self.model.message(rows[-1].row()))

    def _on_export_clicked(self) -> None:
        name, _chosen = QFileDialog.getSaveFileName(self, "Export messages", "messages.csv",
                                                   "CSV (*.csv);;JSON Lines (*.jsonl)")
        if name:
            self.export(Path(name), selection_only=bool(self.table.selectionModel().hasSelection()))

    def export(self, path: Path, selection_only: bool = False) -> int:
        """Write the selection (or everything shown) as CSV or JSON Lines, by the file's extension."""
        if selection_only:
            messages = [self.model.message(i.row()) for i in self.table.selectionModel().selectedRows()]
        else:
            messages = self.model.visible_messages()
        data = to_json_lines(messages) if path.suffix == ".jsonl" else to_csv(messages)
        run_action(self, lambda: write_atomic(path, data) or True, self._show_problem)
        return len(messages)
