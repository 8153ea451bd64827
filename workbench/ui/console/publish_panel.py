"""The console's publish panel: topic with history, QoS, retain, payload with a JSON check, SmartREST templates,
repeat N times or every T ms, send from a file, MQTT 5 properties and saved messages."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.core.console.saved_messages import SavedMessage
from workbench.core.platform_client.smartrest import STATIC_TEMPLATES
from workbench.ui.errors import run_action

from .panel_api import ConsoleSession, PanelContext
from .publish_extras import PublishProperties, SavedMessagesButton


class PublishPanel(QWidget):
    """Publishing on one session.

    Signals:
        published: (topic, payload, qos, retain, properties shown) for each message sent, for the message table.
    """

    published = Signal(str, object, int, bool, object)

    def __init__(self, session: ConsoleSession, context: PanelContext, profile_id: str = "",
                 saved_folder: Path | None = None) -> None:
        super().__init__()
        self._session = session
        self._context = context
        self._repeat_timer = QTimer(self)
        self._repeat_timer.timeout.connect(self._on_repeat_tick)
        self._repeat_left = 0
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.topic_combo = QComboBox()
        self.topic_combo.setEditable(True)
        self.topic_combo.setCurrentText("s/us")
        self.topic_combo.setMinimumWidth(200)
        self.pub_qos = QComboBox()
        self.pub_qos.addItems(["QoS 0", "QoS 1", "QoS 2"])
        self.retain_box = QCheckBox("Retain")
        templates = QPushButton("SmartREST")
        menu = QMenu(templates)
        for code, (name, fields) in STATIC_TEMPLATES.items():
            action = menu.addAction(f"{code}  {name}")
            action.setToolTip(", ".join(fields))
            action.triggered.connect(lambda _=False, c=code, f=fields: self._insert_template(c, f))
        templates.setMenu(menu)
        self.saved_button = SavedMessagesButton(self, profile_id, context.show_problem, saved_folder)
        row.addWidget(self.topic_combo, 1)
        row.addWidget(self.pub_qos)
        row.addWidget(self.retain_box)
        row.addWidget(templates)
        row.addWidget(self.saved_button)
        layout.addLayout(row)
        self.publish_properties: PublishProperties | None = None
        if context.settings.protocol == 5:
            self.publish_properties = PublishProperties()
            layout.addWidget(self.publish_properties)
        self.payload_edit = QPlainTextEdit()
        self.payload_edit.setPlaceholderText("payload: text, JSON or SmartREST lines")
        self.payload_edit.textChanged.connect(self._on_payload_changed)
        layout.addWidget(self.payload_edit, 1)
        row = QHBoxLayout()
        self.payload_check = QLabel("")
        row.addWidget(self.payload_check, 1)
        row.addWidget(QLabel("Repeat"))
        self.repeat_count = QSpinBox()
        self.repeat_count.setRange(1, 1_000_000)
        self.repeat_interval = QSpinBox()
        self.repeat_interval.setRange(0, 3_600_000)
        self.repeat_interval.setSuffix(" ms")
        row.addWidget(self.repeat_count)
        row.addWidget(QLabel("every"))
        row.addWidget(self.repeat_interval)
        from_file = QPushButton("From file…")
        from_file.clicked.connect(self._on_from_file_clicked)
        self.publish_button = QPushButton("Publish")
        self.publish_button.setToolTip("Ctrl+Return")
        self.publish_button.clicked.connect(self.publish)
        row.addWidget(from_file)
        row.addWidget(self.publish_button)
        layout.addLayout(row)

    def _guard(self, action: Callable[[], object]) -> bool:
        return run_action(self, lambda: action() or True, self._context.show_problem) is not None

    def set_connected(self, connected: bool) -> None:
        """Publishing needs a connection."""
        self.publish_button.setEnabled(connected)

    def stop_repeat(self) -> None:
        """End a running "every T ms" repetition (disconnect, close)."""
        self._repeat_timer.stop()

    def publish(self) -> None:
        """Publish the editor's payload, once or repeated (N times, every T ms)."""
        self._repeat_left = self.repeat_count.value()
        if self._repeat_left > 1 and self.repeat_interval.value() > 0:
            self._on_repeat_tick()
            self._repeat_timer.start(self.repeat_interval.value())
            return
        for _ in range(self._repeat_left):
            if not self._publish_once():
                break

    def _on_repeat_tick(self) -> None:
        if self._repeat_left <= 0 or not self._publish_once():
            self._repeat_timer.stop()
            return
        self._repeat_left -= 1
        if self._repeat_left <= 0:
            self._repeat_timer.stop()

    def _publish_once(self, payload: bytes | None = None) -> bool:
        topic = self.topic_combo.currentText().strip()
        data = self.payload_edit.toPlainText().encode("utf-8") if payload is None else payload
        qos, retain = self.pub_qos.currentIndex(), self.retain_box.isChecked()
        props, user = self.publish_properties.properties() if self.publish_properties is not None else ({}, ())
        if not self._guard(lambda: self._session.publish(topic, data, qos, retain, props, user)):
            return False
        shown: dict[str, Any] = {**props, "user_properties": list(user)} if user else props
        self.published.emit(topic, data, qos, retain, shown)
        if self.topic_combo.findText(topic) < 0:
            self.topic_combo.insertItem(0, topic)  # topic history
        return True

    def current_message(self, name: str) -> SavedMessage:
        """The editor's topic, payload, QoS and retain under a name (for the Saved menu)."""
        return SavedMessage(name, self.topic_combo.currentText().strip(), self.payload_edit.toPlainText(),
                            self.pub_qos.currentIndex(), self.retain_box.isChecked())

    def load_message(self, message: SavedMessage) -> None:
        """Put a saved message into the editor."""
        self.topic_combo.setCurrentText(message.topic)
        self.payload_edit.setPlainText(message.payload)
        self.pub_qos.setCurrentIndex(message.qos)
        self.retain_box.setChecked(message.retain)

    def _on_payload_changed(self) -> None:
        text = self.payload_edit.toPlainText().strip()
        if text[:1] in ("{", "["):
            try:
                json.loads(text)
                self.payload_check.setText("✓ valid JSON")
            except ValueError as exc:
                self.payload_check.setText(f"✗ JSON: {exc}")
        else:
            self.payload_check.setText("")

    def _insert_template(self, code: str, fields: tuple[str, ...]) -> None:
        self.topic_combo.setCurrentText("s/us")
        self.payload_edit.appendPlainText(",".join([code, *(f"<{f}>" for f in fields)]))

    def _on_from_file_clicked(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Publish a file")
        if name:
            self._publish_once(Path(name).read_bytes())
