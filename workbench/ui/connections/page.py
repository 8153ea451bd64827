"""The Connections page: one console tab per live connection, several at once."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QWidget,
)

from workbench.core.profiles import ProfileStore
from workbench.services.local_platform import LocalPlatformInfo
from workbench.services.mqtt_session import SessionSettings, SessionState
from workbench.ui.connections.profiles_panel import ProfilesPanel
from workbench.ui.dialogs.connection_dialog import ConnectionDialog
from workbench.ui.widgets.fit import scroll_layout

if TYPE_CHECKING:  # the console (payload codecs, charts, templates) is imported with the first connection: at import
    from workbench.ui.console.console_widget import ConsoleWidget  # it is a fifth of the window's cold start


class ConnectionsPage(QWidget):
    """Tabs of ConsoleWidgets; the status bar learns how many are connected.

    Signals:
        connection_count_changed: the number of connected sessions.
    """

    connection_count_changed = Signal(int)

    def __init__(self, profiles: ProfileStore | None = None) -> None:
        super().__init__()
        layout = scroll_layout(self)  # scrolls rather than grow the window on a small screen
        layout.setContentsMargins(4, 4, 4, 4)  # the console needs every line of a 1280x800 screen
        bar = QHBoxLayout()
        bar.addStretch(1)
        self.sandbox_button = QPushButton("Local sandbox")
        self.sandbox_button.setToolTip("Connect with MQTT 5 to the local platform's sandbox listener (any topic, "
                                       "no platform rules); available once the local platform runs")
        self.sandbox_button.setEnabled(False)
        self.sandbox_button.clicked.connect(self._on_sandbox_clicked)
        bar.addWidget(self.sandbox_button)
        self.sandbox_port: int | None = None
        self.local_platform: LocalPlatformInfo | None = None
        new = QPushButton("Quick connection…")
        new.setToolTip("Connect once without saving a profile (PEM files)")
        new.clicked.connect(self._on_new_clicked)
        bar.addWidget(new)
        layout.addLayout(bar)
        self.stack = QStackedWidget()
        empty = QLabel("No connection yet. Pick a profile and click <b>Connect</b> (the local platform's profiles "
                       "appear once it runs), or use <b>Quick connection…</b> for any MQTT broker; each "
                       "connection gets its own console tab.")
        empty.setWordWrap(True)
        self.tabs = QTabWidget()
        self.tabs.setTabsClosable(True)
        self.tabs.setElideMode(Qt.TextElideMode.ElideMiddle)  # long client ids and hosts: the tab's tooltip has all
        self.tabs.setUsesScrollButtons(True)
        self.tabs.tabCloseRequested.connect(self._on_tab_close_requested)
        self.stack.addWidget(empty)
        self.stack.addWidget(self.tabs)
        self.profiles = ProfilesPanel(profiles)
        self.profiles.connect_requested.connect(
            lambda settings, url, profile_id: self.open_console(settings, rest_url=url, profile_id=profile_id))
        split = QSplitter()
        split.addWidget(self.profiles)
        split.addWidget(self.stack)
        split.setStretchFactor(1, 1)  # a wider window widens the console; the profiles keep their width
        split.setSizes([250, 950])
        layout.addWidget(split, 1)

    def open_console(self, settings: SessionSettings, connect: bool = True, rest_url: str = "",
                     profile_id: str = "") -> ConsoleWidget:
        """Add a tab for a connection (and connect it)."""
        local = self.local_platform
        on_local = local is not None and settings.port == local.ports.get("mqtts") and \
            settings.host in ("localhost", "127.0.0.1")
        if not rest_url and on_local and local is not None:
            rest_url = local.rest_url
        from workbench.ui.console.console_widget import ConsoleWidget

        console = ConsoleWidget(settings, rest_url=rest_url, profile_id=profile_id)
        index = self.tabs.addTab(console, f"{settings.client_id} @ {settings.broker}")
        self.tabs.setTabToolTip(index, f"{settings.client_id} @ {settings.broker}")
        self.tabs.setCurrentIndex(index)
        self.stack.setCurrentWidget(self.tabs)
        console.state_changed.connect(lambda state, c=console: self._on_console_state(c, state))
        if connect:
            console.connect_session()
        return console

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing the page (or the app) stops every session cleanly."""
        for console in self.consoles():
            console.shutdown()
        super().closeEvent(event)

    def consoles(self) -> list[ConsoleWidget]:
        """Every open console."""
        return [self.tabs.widget(i) for i in range(self.tabs.count())]  # type: ignore[misc]

    def set_local_platform(self, info: LocalPlatformInfo) -> None:
        """The local platform runs: offer the one-click sandbox connection."""
        self.local_platform = info
        self.sandbox_port = info.ports.get("sandbox")
        self.profiles.add_local_platform(info)
        self.sandbox_button.setEnabled(self.sandbox_port is not None)

    def _on_sandbox_clicked(self) -> None:
        if self.sandbox_port is not None:
            self.open_console(SessionSettings("127.0.0.1", self.sandbox_port, f"workbench-{secrets.token_hex(3)}",
                                              protocol=5))

    def _on_new_clicked(self) -> None:
        dialog = ConnectionDialog(self)
        if dialog.exec() and dialog.settings() is not None:
            self.open_console(dialog.settings())  # type: ignore[arg-type]

    def _on_console_state(self, console: ConsoleWidget, state: SessionState) -> None:
        marks = {SessionState.CONNECTED: "● ", SessionState.CONNECTING: "◌ ", SessionState.FAILED: "✗ "}
        index = self.tabs.indexOf(console)
        s = console.settings
        self.tabs.setTabText(index, f"{marks.get(state, '')}{s.client_id} @ {s.broker}")
        self.connection_count_changed.emit(sum(c.session.state is SessionState.CONNECTED for c in self.consoles()))

    def _on_tab_close_requested(self, index: int) -> None:
        from workbench.ui.console.console_widget import ConsoleWidget

        console = self.tabs.widget(index)
        assert isinstance(console, ConsoleWidget)
        console.shutdown()
        self.tabs.removeTab(index)
        console.deleteLater()
        if not self.tabs.count():
            self.stack.setCurrentIndex(0)
        self.connection_count_changed.emit(sum(c.session.state is SessionState.CONNECTED for c in self.consoles()))
