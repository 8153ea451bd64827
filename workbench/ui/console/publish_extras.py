"""Publish extras of a console: MQTT 5 PUBLISH properties and the profile's saved messages.

Kept apart from the publish panel so each stays small; the panel asks these widgets for what to send.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtWidgets import QHBoxLayout, QInputDialog, QLineEdit, QMenu, QPushButton, QSpinBox, QWidget

from workbench import paths
from workbench.core.console.saved_messages import SavedMessage, SavedMessages
from workbench.errors import WorkbenchError
from workbench.ui.errors import run_action


class MessageEditor(Protocol):
    """The publish editor as the Saved menu sees it (the publish panel is one)."""

    def current_message(self, name: str) -> SavedMessage:
        """The editor's topic, payload, QoS and retain, under a name."""
        ...

    def load_message(self, message: SavedMessage) -> None:
        """Put a message into the editor."""
        ...


class PublishProperties(QWidget):
    """Content type, response topic, correlation data, message expiry and user properties (MQTT 5 only)."""

    def __init__(self) -> None:
        super().__init__()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.content_type = QLineEdit()
        self.content_type.setPlaceholderText("content type")
        self.response_topic = QLineEdit()
        self.response_topic.setPlaceholderText("response topic")
        self.correlation = QLineEdit()
        self.correlation.setPlaceholderText("correlation data")
        self.expiry = QSpinBox()
        self.expiry.setRange(0, 2_147_483_647)
        self.expiry.setSpecialValueText("no expiry")
        self.expiry.setSuffix(" s")
        self.user_properties = QLineEdit()
        self.user_properties.setPlaceholderText("user properties: key=value; key2=value2")
        for widget in (self.content_type, self.response_topic, self.correlation, self.expiry, self.user_properties):
            row.addWidget(widget)

    def properties(self) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
        """What to send: the PUBLISH properties and the user properties."""
        props: dict[str, Any] = {}
        if self.content_type.text().strip():
            props["content_type"] = self.content_type.text().strip()
        if self.response_topic.text().strip():
            props["response_topic"] = self.response_topic.text().strip()
        if self.correlation.text():
            props["correlation_data"] = self.correlation.text().encode()
        if self.expiry.value():
            props["message_expiry_interval"] = self.expiry.value()
        pairs = []
        for part in self.user_properties.text().split(";"):
            if part.strip():
                key, _, value = part.partition("=")
                pairs.append((key.strip(), value.strip()))
        return props, tuple(pairs)


class SavedMessagesButton(QPushButton):
    """A "Saved" menu: keep the editor's message under a name, and load one back."""

    def __init__(self, editor: MessageEditor, profile_id: str, show_problem: Callable[[WorkbenchError], object],
                 folder: Path | None = None) -> None:
        super().__init__("Saved")
        self._editor = editor
        self._show_problem = show_problem
        self.store = SavedMessages(folder or paths.config_dir() / "saved-messages", profile_id or "quick")
        self.setToolTip("Messages saved for this profile")
        self.setMenu(QMenu(self))
        self.menu().aboutToShow.connect(self.rebuild)

    def rebuild(self) -> None:
        """Fill the menu from the file (it may change in another window)."""
        menu = self.menu()
        menu.clear()
        menu.addAction("Save current message…").triggered.connect(lambda: self.save_current())
        messages = run_action(self, self.store.load, self._show_problem)
        if messages is None:
            return
        if messages:
            menu.addSeparator()
        for message in messages:
            menu.addAction(f"{message.name}  ({message.topic})").triggered.connect(
                lambda _=False, m=message: self.load_message(m))

    def save_current(self, name: str | None = None) -> SavedMessage | None:
        """Keep the publish editor's topic, QoS, retain and payload under a name."""
        if name is None:
            name, ok = QInputDialog.getText(self, "Save message", "Name:", text=self._editor.current_message("").topic)
            if not ok:
                return None
        message = self._editor.current_message(name.strip())
        saved = run_action(self, lambda: self.store.save(message) or True, self._show_problem)
        return message if saved is not None else None

    def load_message(self, message: SavedMessage) -> None:
        """Put a saved message into the publish editor."""
        self._editor.load_message(message)
