"""The selected message in every useful form: text, pretty JSON, hex, base64, SmartREST fields and properties."""

from __future__ import annotations

import datetime

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTabWidget, QVBoxLayout, QWidget

from workbench.core.console.messages import ConsoleMessage
from workbench.core.console.payload_views import payload_views


class DetailPane(QWidget):
    """Tabs over one message; empty until a row is selected."""

    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.header = QLabel("Select a message to see its payload.")
        self.header.setWordWrap(True)
        layout.addWidget(self.header)
        self.tabs = QTabWidget()
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.views: dict[str, QPlainTextEdit] = {}
        for name in ("Text", "JSON", "Hex", "Base64", "SmartREST", "Properties"):
            view = QPlainTextEdit()
            view.setReadOnly(True)
            view.setFont(mono)
            self.views[name] = view
            self.tabs.addTab(view, name)
        layout.addWidget(self.tabs)

    def show_message(self, message: ConsoleMessage) -> None:
        """Fill every view; the tab that fits the payload best comes to the front."""
        views = payload_views(message.payload, message.topic)
        when = datetime.datetime.fromtimestamp(message.timestamp).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        direction = "received" if message.direction == "in" else "published"
        self.header.setText(f"<b>{message.topic}</b> — {direction} {when}, QoS {message.qos}"
                            f"{', retained' if message.retain else ''}, {len(message.payload)} bytes")
        self.views["Text"].setPlainText(views.text if views.text is not None else "(binary payload: see Hex)")
        self.views["JSON"].setPlainText(views.json or views.json_error or "(not JSON)")
        self.views["Hex"].setPlainText(views.hex)
        self.views["Base64"].setPlainText(views.base64)
        self.views["SmartREST"].setPlainText("\n".join(views.smartrest) if views.smartrest else "(not SmartREST)")
        props = "\n".join(f"{k}: {v}" for k, v in message.properties.items()) or "(none)"
        self.views["Properties"].setPlainText(props)
        best = "SmartREST" if views.smartrest else "JSON" if views.json else "Text" if views.text is not None \
            else "Hex"
        self.tabs.setCurrentWidget(self.views[best])
