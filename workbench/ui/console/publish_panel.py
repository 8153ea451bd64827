"""The console's publish panel: topic with history, QoS, retain, payload with a JSON check, SmartREST templates,
repeat N times or every T ms, send from a file, MQTT 5 properties, saved messages, and "Send as": the JSON typed in
the editor goes out as CBOR, MessagePack, Protobuf (your .proto and message type) or Sparkplug B."""

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
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.console.decoders import DecoderKind
from workbench.core.console.saved_messages import SavedMessage
from workbench.errors import WorkbenchError
from workbench.services import mqtt_verbs, payload_codecs
from workbench.services.mqtt_verbs import PublishRequest
from workbench.ui.errors import run_action
from workbench.ui.smartrest.library import TemplateLibrary
from workbench.ui.widgets.fit import ElidedLabel, FlowLayout

from .codec_choice import ENCODE_KINDS, CodecCombo
from .panel_api import ConsoleSession, PanelContext
from .publish_extras import PublishProperties, SavedMessagesButton, SmartRestTemplatesButton


def _group(*widgets: QWidget) -> QWidget:
    """Widgets kept side by side on one line of a wrapping row."""
    group = QWidget()
    row = QHBoxLayout(group)
    row.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        row.addWidget(widget)
    return group


class PublishPanel(QWidget):
    """Publishing on one session.

    Signals:
        published: (topic, payload, qos, retain, properties shown) for each message sent, for the message table.
    """

    published = Signal(str, object, int, bool, object)

    def __init__(self, session: ConsoleSession, context: PanelContext, profile_id: str = "",
                 saved_folder: Path | None = None, templates: TemplateLibrary | None = None) -> None:
        super().__init__()
        self._session = session
        self._context = context
        self._repeat_timer = QTimer(self)
        self._repeat_timer.timeout.connect(self._on_repeat_tick)
        self._repeat_left = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()  # what and where: the topic takes the width, QoS and Retain keep theirs
        self.topic_combo = QComboBox()
        self.topic_combo.setEditable(True)
        self.topic_combo.setCurrentText("s/us")
        # a long topic (typed or in the history) scrolls inside the box instead of widening the console
        self.topic_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.topic_combo.setMinimumContentsLength(6)
        self.topic_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.topic_combo.setToolTip("Topic (the ones published before are in the list)")
        self.pub_qos = QComboBox()
        self.pub_qos.addItems(["QoS 0", "QoS 1", "QoS 2"])
        self.retain_box = QCheckBox("Retain")
        row.addWidget(self.topic_combo, 1)
        row.addWidget(self.pub_qos)
        row.addWidget(self.retain_box)
        layout.addLayout(row)
        self.payload_edit = QPlainTextEdit()
        self.payload_edit.setPlaceholderText("payload: text, JSON or SmartREST lines")
        self.payload_edit.setMinimumHeight(48)  # a few lines at the least; the splitter gives it more
        self.payload_edit.textChanged.connect(self._on_payload_changed)
        self.publish_properties: PublishProperties | None = None
        self.editor_tabs: QTabWidget | None = None
        if context.settings.protocol == 5:  # the properties share the payload's room, one tab away
            self.publish_properties = PublishProperties()
            self.editor_tabs = QTabWidget()
            self.editor_tabs.setDocumentMode(True)
            self.editor_tabs.addTab(self.payload_edit, "Payload")
            self.editor_tabs.addTab(self.publish_properties, "MQTT 5 properties")
            self.publish_properties.changed.connect(self._on_properties_changed)
            layout.addWidget(self.editor_tabs, 1)
        else:
            layout.addWidget(self.payload_edit, 1)
        self.payload_check = ElidedLabel()  # a long JSON error elides (full text as tooltip)
        # compact buttons: the row fits half a console; the helper offers the static and the custom templates
        self.templates_button = SmartRestTemplatesButton(self._insert_line, templates)
        self.saved_button = SavedMessagesButton(self, profile_id, context.show_problem, saved_folder)
        self.repeat_count = QSpinBox()
        self.repeat_count.setRange(1, 1_000_000)
        self.repeat_count.setToolTip("Repeat: how many times to publish")
        self.repeat_interval = QSpinBox()
        self.repeat_interval.setRange(0, 3_600_000)
        self.repeat_interval.setSuffix(" ms")
        self.repeat_interval.setToolTip("Every: the pause between repeats (0: all at once)")
        from_file = QToolButton()
        from_file.setText("From file…")
        from_file.setToolTip("Publish a file's bytes as the payload")
        from_file.clicked.connect(self._on_from_file_clicked)
        # "Send as": the editor's JSON encoded through services.payload_codecs (the one home of the encoders)
        self.send_as = CodecCombo(ENCODE_KINDS, context.show_problem)
        self.send_as.setObjectName("publish_send_as")
        self.send_as.spec_chosen.connect(lambda _spec: self._on_payload_changed())
        send_as_label = QLabel("as")
        send_as_label.setToolTip("Send as: Text sends the editor's text; CBOR, MessagePack, Protobuf and Sparkplug B "
                                 "encode the JSON in the editor")
        self.publish_button = QPushButton("Publish")
        self.publish_button.setToolTip("Ctrl+Return")
        self.publish_button.clicked.connect(self.publish)
        # two short rows whose groups wrap on a narrow console (the panel shares a splitter with Subscribe):
        # "Repeat n" and "every t" stay together, and so do "From file…" and Publish
        row = QHBoxLayout()
        row.addWidget(self.payload_check, 1)
        repeat = FlowLayout()
        repeat.setContentsMargins(0, 0, 0, 0)
        for pair in ((QLabel("Repeat"), self.repeat_count), (QLabel("every"), self.repeat_interval)):
            repeat.addWidget(_group(*pair))
        row.addLayout(repeat)
        layout.addLayout(row)
        actions = FlowLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.addWidget(_group(self.templates_button, self.saved_button))
        actions.addWidget(_group(send_as_label, self.send_as))
        actions.addWidget(_group(from_file, self.publish_button))
        layout.addLayout(actions)

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

    def encoded_payload(self) -> bytes:
        """The editor's text as the bytes "Send as" makes of it.

        Raises:
            InvalidInputError: the text does not fit (not JSON, a field the Protobuf type does not have, ...).
        """
        return payload_codecs.encode_payload(self.send_as.spec(), self.payload_edit.toPlainText())

    def _publish_once(self, payload: bytes | None = None) -> bool:
        topic = self.topic_combo.currentText().strip()
        data = run_action(self, self.encoded_payload, self._context.show_problem) if payload is None else payload
        if data is None:  # the JSON does not fit the chosen encoding: the problem is shown, nothing is sent
            return False
        qos, retain = self.pub_qos.currentIndex(), self.retain_box.isChecked()
        props, user = self.publish_properties.properties() if self.publish_properties is not None else ({}, ())
        if not self._guard(lambda: mqtt_verbs.publish(self._session, PublishRequest(  # the verbs' one home
                topic, data, qos, retain, dict(props or {}), tuple(user)))):
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
        spec = self.send_as.spec()
        if spec.kind is not DecoderKind.TEXT and text:  # one line: the encoded size, or why it does not fit
            try:
                size = len(self.encoded_payload())
                self.payload_check.setText(f"✓ {size:,} bytes as {self.send_as.currentText()}")
            except WorkbenchError as exc:
                self.payload_check.setText(f"✗ {exc.summary}" + (f": {exc.causes[0]}" if exc.causes else ""))
        elif text[:1] in ("{", "["):
            try:
                json.loads(text)
                self.payload_check.setText("✓ valid JSON")
            except ValueError as exc:
                self.payload_check.setText(f"✗ JSON: {exc}")
        else:
            self.payload_check.setText("")

    def _on_properties_changed(self) -> None:
        if self.editor_tabs is not None and self.publish_properties is not None:
            count = self.publish_properties.count_set()
            self.editor_tabs.setTabText(1, f"MQTT 5 properties ({count})" if count else "MQTT 5 properties")

    def _insert_line(self, topic: str, line: str) -> None:
        """The SmartREST helper's choice: its topic (s/us or s/uc/<X-ID>) and a line with placeholders."""
        self.topic_combo.setCurrentText(topic)
        self.payload_edit.appendPlainText(line)

    def _on_from_file_clicked(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Publish a file")
        if name:
            self._publish_once(Path(name).read_bytes())
