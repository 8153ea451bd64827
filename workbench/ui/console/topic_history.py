"""A topic's recent messages, each decoded with its subscription's decoder, and the difference between any two of
them: field by field for JSON (and decoded CBOR, MessagePack, Protobuf, Sparkplug), line by line for text."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.console.decoders import PayloadDecoder, decode_safely
from workbench.core.console.diff import PayloadDiff, diff_payloads
from workbench.core.console.messages import ConsoleMessage
from workbench.core.console.topic_tree import preview
from workbench.ui import theme

_CHANGE_KINDS: dict[str, theme.Status] = {"added": "ok", "removed": "error", "changed": "warn", "same": "neutral"}


def _short(value: object) -> str:
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 120 else text[:119] + "…"


class TopicHistoryPanel(QWidget):
    """The selected topic's history; select one message to see it decoded, two to see their difference."""

    def __init__(self, history_of: Callable[[str], list[ConsoleMessage]],
                 decoder_for: Callable[[ConsoleMessage], PayloadDecoder]) -> None:
        super().__init__()
        self._history_of = history_of
        self._decoder_for = decoder_for
        self.topic = ""
        self._messages: list[ConsoleMessage] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.header = QLabel("Select a topic in the tree to see its history.")
        self.header.setWordWrap(True)
        layout.addWidget(self.header)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.list = QListWidget()
        self.list.setObjectName("topic_history")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setToolTip("Select one message to see it decoded; select two (Ctrl+click) to compare them")
        self.list.itemSelectionChanged.connect(self._on_selection)
        split.addWidget(self.list)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel("")
        self.summary.setMinimumWidth(1)  # a long summary never widens the console; its tooltip has all of it
        right_layout.addWidget(self.summary)
        self.tabs = QTabWidget()
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.decoded = QPlainTextEdit()
        self.decoded.setReadOnly(True)
        self.decoded.setFont(mono)
        self.fields = QTreeWidget()
        self.fields.setObjectName("diff_fields")
        self.fields.setHeaderLabels(["Field", "Change", "Older", "Newer"])
        self.fields.setRootIsDecorated(False)
        self.fields.setColumnWidth(0, 200)
        self.fields.setColumnWidth(1, 70)
        self.fields.setColumnWidth(2, 160)
        self.text_diff = QPlainTextEdit()
        self.text_diff.setReadOnly(True)
        self.text_diff.setFont(mono)
        self.tabs.addTab(self.decoded, "Decoded")
        self.tabs.addTab(self.fields, "Diff: fields")
        self.tabs.addTab(self.text_diff, "Diff: text")
        right_layout.addWidget(self.tabs, 1)
        split.addWidget(right)
        split.setSizes([260, 640])
        layout.addWidget(split, 1)

    def show_topic(self, topic: str) -> None:
        """List the topic's kept messages, newest first; the newest two are compared right away."""
        self.topic = topic
        self._messages = list(reversed(self._history_of(topic)))
        self.list.clear()
        for message in self._messages:
            when = datetime.datetime.fromtimestamp(message.timestamp).strftime("%H:%M:%S.%f")[:-3]
            retained = " R" if message.retain else ""
            item = QListWidgetItem(f"{when}{retained}  {len(message.payload)} B  {preview(message.payload, 40)}")
            item.setToolTip(preview(message.payload, 200))
            self.list.addItem(item)
        self.header.setText(f"<b>{topic}</b>: the last {len(self._messages)} messages kept (newest first)")
        self.header.setToolTip(topic)
        if len(self._messages) >= 2:
            self.list.item(1).setSelected(True)
            self.list.item(0).setSelected(True)
        elif self._messages:
            self.list.item(0).setSelected(True)

    def refresh(self) -> None:
        """Show newly arrived messages of the same topic (keeps nothing selected that is gone)."""
        if self.topic:
            self.show_topic(self.topic)

    def _selected(self) -> list[ConsoleMessage]:
        rows = sorted(self.list.row(item) for item in self.list.selectedItems())
        return [self._messages[row] for row in rows if row < len(self._messages)]

    def _on_selection(self) -> None:
        chosen = self._selected()
        if not chosen:
            return
        newest = chosen[0]
        decoder = self._decoder_for(newest)
        decoded = decode_safely(decoder, newest.payload, newest.topic)
        if decoded.ok:
            self.decoded.setPlainText(decoded.text)
            self.summary.setText(f"Decoded as {decoded.decoder}")
        else:  # never an error: the raw payload, and why it is shown raw
            self.decoded.setPlainText(decoded.text)
            self.summary.setText(f"Shown raw: {decoded.reason}")
        self.summary.setToolTip(self.summary.text())
        if len(chosen) < 2:
            self.tabs.setCurrentWidget(self.decoded)
            return
        older = chosen[-1]
        self.show_diff(diff_payloads(older.payload, newest.payload, decoder, newest.topic), older, newest)

    def show_diff(self, diff: PayloadDiff, older: ConsoleMessage, newer: ConsoleMessage) -> None:
        """Fill the diff tabs and bring the one that fits to the front."""
        def when(m: ConsoleMessage) -> str:
            return datetime.datetime.fromtimestamp(m.timestamp).strftime("%H:%M:%S.%f")[:-3]

        self.summary.setText(f"{when(older)} → {when(newer)}: {diff.summary()}")
        self.fields.clear()
        for change in diff.fields:
            item = QTreeWidgetItem([change.path, change.kind, _short(change.before), _short(change.after)])
            brush = QBrush(theme.status_colour(_CHANGE_KINDS[change.kind]))
            for column in range(4):
                item.setForeground(column, brush)
                item.setToolTip(column, f"{change.path}: {_short(change.before)} → {_short(change.after)}")
            self.fields.addTopLevelItem(item)
        self.text_diff.setPlainText("\n".join(diff.lines) if diff.lines else
                                    "(compared field by field: see the fields tab)" if diff.mode == "fields"
                                    else "(identical)")
        self.tabs.setCurrentWidget(self.fields if diff.mode == "fields" else self.text_diff)
