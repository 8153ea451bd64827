"""Publish extras of a console: MQTT 5 PUBLISH properties and the profile's saved messages.

Kept apart from the publish panel so each stays small; the panel asks these widgets for what to send.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QInputDialog,
    QLineEdit,
    QMenu,
    QPushButton,
    QSpinBox,
    QToolButton,
    QWidget,
)

from workbench import paths
from workbench.core.console.saved_messages import SavedMessage, SavedMessages
from workbench.core.platform_client.smartrest import STATIC_TEMPLATES
from workbench.errors import WorkbenchError
from workbench.services.smartrest_templates import describe_templates
from workbench.ui.errors import run_action
from workbench.ui.smartrest.library import TemplateLibrary


class MessageEditor(Protocol):
    """The publish editor as the Saved menu sees it (the publish panel is one)."""

    def current_message(self, name: str) -> SavedMessage:
        """The editor's topic, payload, QoS and retain, under a name."""
        ...

    def load_message(self, message: SavedMessage) -> None:
        """Put a message into the editor."""
        ...


class PublishProperties(QWidget):
    """Content type, response topic, correlation data, message expiry and user properties (MQTT 5 only).

    Signals:
        changed: a field was edited (the publish panel counts the filled ones in its tab title).
    """

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        grid = QGridLayout(self)  # two columns: every field stays readable in half a console
        grid.setContentsMargins(0, 4, 0, 0)
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
        self.expiry.setToolTip("Message expiry interval")
        self.user_properties = QLineEdit()
        self.user_properties.setPlaceholderText("user properties: key=value; key2=value2")
        # two rows of placeholders-as-labels; the tooltip names the field and shows a long value whole
        places = ((self.content_type, 0, 0, 1), (self.response_topic, 0, 1, 1), (self.correlation, 0, 2, 1),
                  (self.expiry, 1, 0, 1), (self.user_properties, 1, 1, 2))
        for widget, row, column, span in places:
            grid.addWidget(widget, row, column, 1, span)
            if isinstance(widget, QLineEdit):
                name = widget.placeholderText()
                widget.setToolTip(name)
                widget.textChanged.connect(self.changed)
                widget.textChanged.connect(lambda text, w=widget, n=name: w.setToolTip(f"{n}: {text}" if text else n))
        self.expiry.valueChanged.connect(self.changed)
        for column in range(3):
            grid.setColumnStretch(column, 1)
        grid.setRowStretch(2, 1)

    def count_set(self) -> int:
        """How many properties are filled in (the tab's title shows it while the payload is on top)."""
        props, user = self.properties()
        return len(props) + len(user)

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


class SmartRestTemplatesButton(QToolButton):
    """The SmartREST helper: the static templates (topic s/us) and, next to them, each custom collection the console
    knows (topic s/uc/<X-ID>, the fields its request templates expect), rebuilt each time the menu opens."""

    def __init__(self, insert: Callable[[str, str], object], library: TemplateLibrary | None = None) -> None:
        super().__init__()
        self._insert = insert
        self.library = library
        self.setText("SmartREST ")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setToolTip("Insert a SmartREST line: a static template (s/us) or one of this console's custom "
                        "templates (s/uc/<X-ID>)")
        self.setMenu(QMenu(self))
        self.menu().aboutToShow.connect(self.rebuild)
        self.rebuild()

    def rebuild(self) -> None:
        """Static templates first, then one submenu per known collection."""
        menu = self.menu()
        menu.clear()
        menu.setToolTipsVisible(True)
        for code, (name, fields) in STATIC_TEMPLATES.items():
            action = menu.addAction(f"{code}  {name}")
            action.setToolTip(", ".join(fields))
            action.triggered.connect(lambda _=False, c=code, f=fields: self._insert(
                "s/us", ",".join([c, *(f"<{x}>" for x in f)])))
        collections = self.library.collections() if self.library is not None else {}
        if collections:
            menu.addSeparator()
        for xid, collection in sorted(collections.items()):
            sub = menu.addMenu(f"Custom: {xid}")
            sub.setObjectName(f"custom_templates_{xid}")
            sub.setToolTipsVisible(True)
            for msg_id, what, values in describe_templates(collection):
                action = sub.addAction(f"{msg_id}  {what}")
                action.setToolTip(", ".join(values) or "no values")
                action.triggered.connect(lambda _=False, x=xid, m=msg_id, f=tuple(values): self._insert(
                    f"s/uc/{x}", ",".join([m, *(f"<{v}>" for v in f)])))
