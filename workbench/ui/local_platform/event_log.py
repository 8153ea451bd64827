"""The platform's live event log: colour-coded, filterable and exportable rows, where a refusal offers "why?"."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.files import write_atomic
from workbench.ui.local_platform.common import make_table, set_row

# event kinds as data colours (hue per kind); set_row keeps the hue and makes it read on the dark theme too
KIND_COLOURS = {"refused": "#c62828", "tls_failed": "#c62828", "sessions_closed": "#ef6c00",
                "connected": "#2e7d32", "registered": "#1565c0", "token_issued": "#6a1b9a", "token_reused": "#6a1b9a",
                "pop_completed": "#00838f", "certificate_uploaded": "#00838f", "disconnected": "#78909c",
                "operation_created": "#4e342e", "operation_updated": "#4e342e"}
COLUMNS = ("Time", "Event", "Tenant", "Device", "What happened", "")
REFUSALS = ("refused", "tls_failed")
WHY_COLUMN = 5


class EventLog(QWidget):
    """Signals: event_added(dict) for every row; why_requested(dict) when "why?" is asked of a refusal."""

    event_added = Signal(dict)
    why_requested = Signal(dict)

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict] = []
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("<b>Live event log</b>"))
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("filter: kind, device or words")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        export = QPushButton("Export…")
        export.clicked.connect(lambda: self.export_events())
        bar.addWidget(self.filter, 1)
        bar.addWidget(export)
        layout.addLayout(bar)
        self.log = make_table(COLUMNS, stretch=4)
        self.log.setAlternatingRowColors(False)
        self.log.horizontalHeader().setSectionResizeMode(WHY_COLUMN, QHeaderView.ResizeMode.ResizeToContents)
        self.log.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.log.customContextMenuRequested.connect(self._menu)
        self.log.setWordWrap(False)
        self.log.verticalHeader().setDefaultSectionSize(26)
        layout.addWidget(self.log)

    def add_event(self, event: dict) -> None:
        """One row, coloured by kind (refusals red, connections green, registrations blue)."""
        self.events.append(event)
        row = self.log.rowCount()
        self.log.insertRow(row)
        values = (event.get("time", "")[11:23], event.get("kind", ""), event.get("tenant", ""),
                  event.get("device", ""), event.get("message", ""), "")
        set_row(self.log, row, values, KIND_COLOURS.get(event.get("kind", "")))  # set_row fits it to the theme
        message = self.log.item(row, 4)
        assert message is not None  # set_row has just filled the row
        message.setToolTip(event.get("message", ""))
        if event.get("kind") in REFUSALS:
            button = QPushButton("why?")
            button.setToolTip("Which check failed, and how to fix it")
            button.setStyleSheet("QPushButton { padding: 0 8px; }")
            button.setProperty("status", "error")  # the theme's error colour (application stylesheet)
            button.clicked.connect(lambda _checked=False, e=event: self.why_requested.emit(e))
            self.log.setCellWidget(row, WHY_COLUMN, button)
        self.log.setRowHidden(row, not self._matches(event))
        self.log.scrollToBottom()
        self.event_added.emit(event)

    def why(self, row: int) -> None:
        """Ask "why?" of one row (the button and the context menu do this)."""
        if 0 <= row < len(self.events) and self.events[row].get("kind") in REFUSALS:
            self.why_requested.emit(self.events[row])

    def _menu(self, at: QPoint) -> None:
        row = self.log.rowAt(at.y())
        if row < 0 or self.events[row].get("kind") not in REFUSALS:
            return
        menu = QMenu(self)
        action = QAction("Why was it refused?", menu)
        action.triggered.connect(lambda: self.why(row))
        menu.addAction(action)
        menu.exec(self.log.viewport().mapToGlobal(at))

    def clear(self) -> None:
        """Forget every row (after a reset)."""
        self.log.setRowCount(0)
        self.events.clear()

    def _matches(self, event: dict) -> bool:
        text = self.filter.text().strip().lower()
        return not text or any(text in str(event.get(k, "")).lower() for k in ("kind", "device", "message"))

    def _apply_filter(self) -> None:
        for row, event in enumerate(self.events):
            self.log.setRowHidden(row, not self._matches(event))

    def export_events(self, path: Path | None = None) -> int:
        """The shown events as JSON Lines."""
        if path is None:
            name = QFileDialog.getSaveFileName(self, "Export events", "platform-events.jsonl",
                                               "JSON Lines (*.jsonl)")[0]
            if not name:
                return 0
            path = Path(name)
        shown = [e for e in self.events if self._matches(e)]
        write_atomic(path, "".join(json.dumps(e) + "\n" for e in shown).encode())
        return len(shown)
