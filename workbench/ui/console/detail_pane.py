"""The selected message in every useful form: text, pretty JSON, hex, base64, SmartREST fields and properties."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.console.decoders import PayloadDecoder, decode_safely
from workbench.core.console.messages import ConsoleMessage
from workbench.core.console.payload_views import payload_views
from workbench.ui.widgets.fit import ElidedLabel


class DetailPane(QWidget):
    """Views of one message (a row of view buttons over a stack); empty until a row is selected."""

    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # the topic elides in the middle (a long one keeps its ends; the tooltip has it all), the facts below it
        self.topic = ElidedLabel(mode=Qt.TextElideMode.ElideMiddle)
        font = self.topic.font()
        font.setBold(True)
        self.topic.setFont(font)
        self.topic.hide()
        self.header = QLabel("Select a message to see its payload.")
        self.header.setWordWrap(True)
        layout.addWidget(self.topic)
        layout.addWidget(self.header)
        # one button per view over a stack (not a tab bar), in two rows: every view stays reachable in a narrow
        # pane instead of hiding behind scroll arrows
        self.tabs = QStackedWidget()
        grid = QGridLayout()  # two rows of four: they fit a narrow pane without wrapping
        grid.setSpacing(2)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.views: dict[str, QPlainTextEdit] = {}
        for index, name in enumerate(("Text", "JSON", "Decoded", "Hex", "Base64", "SmartREST", "Properties")):
            view = QPlainTextEdit()
            view.setReadOnly(True)
            view.setFont(mono)
            view.setMinimumHeight(40)
            if name == "Decoded":  # a Sparkplug metrics table keeps its columns: it scrolls instead of wrapping
                view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
            self.views[name] = view
            self.tabs.addWidget(view)
            button = QToolButton()
            button.setText(name)
            button.setCheckable(True)
            button.setAutoRaise(True)
            button.setToolTip(f"Show the payload as {name}" if name not in ("Properties", "Decoded") else
                              "Show the message's properties" if name == "Properties" else
                              "Show the payload through its subscription's decoder (CBOR, MessagePack, Protobuf, "
                              "Sparkplug B...: chosen per filter in the subscribe panel)")
            self._group.addButton(button, index)
            grid.addWidget(button, index // 4, index % 4)
        self._group.idClicked.connect(self.tabs.setCurrentIndex)
        self.tabs.currentChanged.connect(lambda index: self._group.button(index).setChecked(True))
        self._group.button(0).setChecked(True)
        grid.setColumnStretch(4, 1)
        layout.addLayout(grid)
        layout.addWidget(self.tabs, 1)
        # (topic, text) → lines in words, or None: the console's SmartREST 2.0 collections decode s/uc and s/dc
        self.line_decoder: Callable[[str, str], list[str] | None] | None = None
        # the decoder of the subscription that brought a message in (the console's per-filter choice), or None
        self.payload_decoder: Callable[[ConsoleMessage], PayloadDecoder] | None = None

    def show_message(self, message: ConsoleMessage) -> None:
        """Fill every view; the tab that fits the payload best comes to the front."""
        views = payload_views(message.payload, message.topic)
        when = datetime.datetime.fromtimestamp(message.timestamp).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        direction = "received" if message.direction == "in" else "published"
        self.topic.setText(message.topic)
        self.topic.show()
        self.header.setText(f"{direction} {when}, QoS {message.qos}"
                            f"{', retained' if message.retain else ''}, {len(message.payload)} bytes")
        self.views["Text"].setPlainText(views.text if views.text is not None else "(binary payload: see Hex)")
        self.views["JSON"].setPlainText(views.json or views.json_error or "(not JSON)")
        self.views["Hex"].setPlainText(views.hex)
        self.views["Base64"].setPlainText(views.base64)
        self.views["SmartREST"].setPlainText("\n".join(views.smartrest) if views.smartrest else "(not SmartREST)")
        custom = self.line_decoder(message.topic, views.text) if self.line_decoder and views.text else None
        if custom:  # s/uc/<X-ID> or s/dc/<X-ID> through the collection the console knows
            self.views["SmartREST"].setPlainText("\n".join(custom))
        chosen = self._decode(message)
        props = "\n".join(f"{k}: {v}" for k, v in message.properties.items()) or "(none)"
        self.views["Properties"].setPlainText(props)
        best = "Decoded" if chosen else "SmartREST" if views.smartrest or custom else "JSON" if views.json else \
            "Text" if views.text is not None else "Hex"
        self.tabs.setCurrentWidget(self.views[best])

    def _decode(self, message: ConsoleMessage) -> bool:
        """Fill the Decoded view; True when it should come to the front (a decoder was chosen for the filter, or a
        Sparkplug topic decoded). A payload that does not decode is shown raw under a one-line reason."""
        view = self.views["Decoded"]
        if self.payload_decoder is None:
            view.setPlainText("(no decoder)")
            return False
        decoder = self.payload_decoder(message)
        decoded = decode_safely(decoder, message.payload, message.topic)
        if decoded.ok:
            view.setPlainText(f"Decoded as {decoded.decoder}\n\n{decoded.text}")
        else:
            view.setPlainText(f"Shown raw: {decoded.reason}\n\n{decoded.text}")
        return decoder.name != "Auto" or decoded.decoder == "Sparkplug B"
