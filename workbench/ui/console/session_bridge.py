"""Turns an MqttSession's callbacks (paho's thread) into Qt signals delivered on the GUI thread."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from workbench.core.console.messages import topic_matches
from workbench.errors import WorkbenchError
from workbench.services.mqtt_session import SessionState
from workbench.ui.models.message_table import MessageTableModel

_MATCH_CACHE = 4096  # topics remembered with the subscription that matched them


class SessionBridge(QObject):
    """A SessionListener whose state changes arrive as a queued signal; messages go to the model's MessageFeed,
    which delivers them to the GUI thread in one batch per tick (no per-message signal crosses threads).

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
        self._feed = model.feed
        self._subscriptions: list[str] = []
        self._matched: dict[str, str] = {}  # topic -> the subscription it counts for (paho's thread only)
        self.received = 0  # messages the session delivered (paho's thread writes, anyone reads)
        self._attached = True
        self._state_from_thread.connect(self.state_changed, Qt.ConnectionType.QueuedConnection)
        self._token_from_thread.connect(self.token_line, Qt.ConnectionType.QueuedConnection)
        self._sys_from_thread.connect(self.sys_message, Qt.ConnectionType.QueuedConnection)

    def set_subscriptions(self, filters: list[str]) -> None:
        """The filters to attribute incoming messages to (for per-filter counts and colours)."""
        self._subscriptions = list(filters)
        self._matched = {}  # replaced, not cleared: paho's thread may be reading the old one

    def detach(self) -> None:
        """Ignore late callbacks: the console is closing."""
        self._attached = False

    def on_state(self, state: SessionState, error: WorkbenchError | None) -> None:
        """paho thread → GUI thread."""
        if self._attached:
            self._state_from_thread.emit(state, error)

    def on_message(self, topic: str, payload: bytes, qos: int, retain: bool, properties: dict[str, Any]) -> None:
        """Thread-safe and cheap (paho's network thread, 10,000 times a second): queue it for the next batch."""
        if not self._attached:
            return
        self.received += 1
        if topic == "s/dat":  # the device token answer, for the token panel
            self._token_from_thread.emit(payload.decode("utf-8", "replace"))
        elif topic.startswith("$SYS/"):  # broker status, for the $SYS panel (the table shows it too)
            self._sys_from_thread.emit(topic, payload.decode("utf-8", "replace"))
        matched_by = self._matched
        matched = matched_by.get(topic)
        if matched is None:
            matched = next((f for f in self._subscriptions if topic_matches(f, topic)), "")
            if len(matched_by) >= _MATCH_CACHE:
                matched_by.clear()
            matched_by[topic] = matched
        self._feed.add("in", topic, payload, qos, retain, properties, matched)
