"""Turns an MqttSession's callbacks (paho's thread) into Qt signals delivered on the GUI thread."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from workbench.errors import WorkbenchError
from workbench.services.mqtt_session import SessionState
from workbench.ui.models.message_table import MessageTableModel


class SessionBridge(QObject):
    """A SessionListener whose state changes arrive as a queued signal; messages go straight to the table model.

    Signals:
        state_changed: (SessionState, WorkbenchError | None) on the GUI thread.
    """

    state_changed = Signal(object, object)
    token_line = Signal(str)
    sys_message = Signal(str, str)
    _state_from_thread = Signal(object, object)
    _token_from_thread = Signal(str)
    _sys_from_thread = Signal(str, str)

    def __init__(self, model: MessageTableModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._subscriptions: list[str] = []
        self._attached = True
        self._state_from_thread.connect(self.state_changed, Qt.ConnectionType.QueuedConnection)
        self._token_from_thread.connect(self.token_line, Qt.ConnectionType.QueuedConnection)
        self._sys_from_thread.connect(self.sys_message, Qt.ConnectionType.QueuedConnection)

    def set_subscriptions(self, filters: list[str]) -> None:
        """The filters to attribute incoming messages to (for per-filter counts and colours)."""
        self._subscriptions = list(filters)

    def detach(self) -> None:
        """Ignore late callbacks: the console is closing."""
        self._attached = False

    def on_state(self, state: SessionState, error: WorkbenchError | None) -> None:
        """paho thread → GUI thread."""
        if self._attached:
            self._state_from_thread.emit(state, error)

    def on_message(self, topic: str, payload: bytes, qos: int, retain: bool, properties: dict[str, Any]) -> None:
        """Thread-safe: the model batches messages and applies them on its timer."""
        from workbench.core.console.messages import topic_matches

        if not self._attached:
            return
        if topic == "s/dat":  # the device token answer, for the token panel
            self._token_from_thread.emit(payload.decode("utf-8", "replace"))
        elif topic.startswith("$SYS/"):  # broker status, for the $SYS panel (the table shows it too)
            self._sys_from_thread.emit(topic, payload.decode("utf-8", "replace"))
        matched = next((f for f in self._subscriptions if topic_matches(f, topic)), "")
        self._model.add_message("in", topic, payload, qos, retain, properties, matched)
