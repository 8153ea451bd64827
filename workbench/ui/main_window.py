"""The main window: navigation across the product's areas, a status bar, shortcuts, and a remembered layout."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QWidget,
)

from workbench import __version__

# Each area, in navigation order, with the tooltip that says what it holds.
AREAS: tuple[tuple[str, str], ...] = (
    ("Onboarding", "Start here: run the demo, or onboard your own device. The guide's whole journey as a checklist: "
                   "CA, upload, proof of possession, device certificate, keystores, connection, token and first "
                   "measurement."),
    ("Connections", "Connection profiles and the live MQTT console: MQTT 3.1.1 and 5, mutual TLS with PEM files "
                    "or keystores, several connections at once."),
    ("Certificates", "CA store and certificate wizard: root and intermediate CAs, device and server certificates "
                     "with the guide's extension profiles, CSR signing, chains, lint against the platform rules."),
    ("Keystores", "Keystore editor for PKCS#12 and JKS keystores and truststores that keytool and openssl read."),
    ("Proof of Possession", "Sign a platform's verification code with your CA key, exactly as "
                            "'openssl dgst -sha256 -sign key | openssl base64 -A' does."),
    ("Local Platform", "The bundled local platform: MQTT over mutual TLS and a REST API that emulate the cloud "
                       "platform's certificate onboarding, with tenants, devices and a live event log."),
)

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Ctrl+1 … Ctrl+6", "Go to an area (Onboarding, Connections, Certificates, Keystores, Proof of Possession, "
                        "Local Platform)"),
    ("Ctrl+O", "Open a keystore (on the Keystores page)"),
    ("Ctrl+S", "Save the keystore (Keystores page)"),
    ("Ctrl+Z / Ctrl+Shift+Z", "Undo / redo a keystore edit"),
    ("F5", "Refresh the page (profiles, CA store, the local platform's tenant, CAs for proof of possession)"),
    ("Ctrl+Q", "Quit (the local platform the app started stops too)"),
    ("Ctrl+Shift+C", "Connect the current connection"),
    ("Ctrl+Shift+D", "Disconnect the current connection"),
    ("Ctrl+Return", "Publish the message in the editor"),
    ("Ctrl+L", "Clear the message view"),
    ("Ctrl+F", "Search the messages"),
    ("F1", "Show these shortcuts"),
)


class MainWindow(QMainWindow):
    """Navigation on the left, the selected area's page on the right, platform and connection state below.

    Signals:
        closed: the window closed (every close guard agreed): the app stops what it started.
    """

    closed = Signal()

    def __init__(self, pages: dict[str, QWidget] | None = None) -> None:
        super().__init__()
        self._close_guards: list[Callable[[], bool]] = []
        self.refreshers: dict[str, Callable[[], object]] = {}  # F5 on an area that has something to re-read
        self.open_keystore: Callable[[], object] | None = None  # Ctrl+O: the Keystores page's Open…
        self._connections = 0
        self._demo_connections = 0
        self.force_close = False  # SIGTERM/SIGINT: close without asking the close guards
        self.setWindowTitle("Device Onboarding Workbench")
        self.resize(1200, 780)
        self.navigation = QListWidget()
        self.navigation.setMinimumWidth(170)
        self.navigation.setObjectName("navigation")
        self.navigation.setStyleSheet(
            "#navigation { font-size: 11pt; border: none; }"
            "#navigation::item { padding: 9px 12px; }"
        )
        self.pages = QStackedWidget()
        given = pages or {}
        for index, (title, description) in enumerate(AREAS):
            item = QListWidgetItem(title)
            item.setToolTip(f"{description} (Ctrl+{index + 1})")
            self.navigation.addItem(item)
            self.pages.addWidget(given.get(title) or QWidget())  # an empty slot until set_page fills it
        self.navigation.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.navigation)
        self.splitter.addWidget(self.pages)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([190, 1010])
        self.setCentralWidget(self.splitter)
        self.platform_status = QLabel("Local platform: not started")
        self.connection_status = QLabel("Connections: none")
        for label in (self.platform_status, self.connection_status):
            label.setMinimumWidth(label.fontMetrics().horizontalAdvance("Local platform: running on 127.0.0.1:65535"))
        self.statusBar().addPermanentWidget(self.platform_status)
        self.statusBar().addPermanentWidget(self.connection_status)
        self._build_menus()
        self._restore_layout()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = QAction("Open keystore…", self)
        self.open_action.setShortcut(QKeySequence("Ctrl+O"))
        self.open_action.triggered.connect(self._on_open_triggered)
        self.refresh_action = QAction("Refresh", self)
        self.refresh_action.setShortcut(QKeySequence("F5"))
        self.refresh_action.triggered.connect(self.refresh_current)
        self.quit_action = QAction("Quit", self)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self.close)
        file_menu.addActions([self.open_action, self.refresh_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        go = self.menuBar().addMenu("&Go")
        for index, (title, _) in enumerate(AREAS):
            action = QAction(title, self)
            action.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
            action.triggered.connect(lambda _=False, row=index: self.navigation.setCurrentRow(row))
            go.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        shortcuts = QAction("Keyboard shortcuts", self)
        shortcuts.setShortcut(QKeySequence("F1"))
        shortcuts.triggered.connect(self._on_shortcuts_triggered)
        about = QAction("About", self)
        about.triggered.connect(self._on_about_triggered)
        help_menu.addActions([shortcuts, about])

    def add_close_guard(self, guard: Callable[[], bool]) -> None:
        """Ask before closing (unsaved keystore edits): the window closes only when every guard says yes."""
        self._close_guards.append(guard)

    def set_page(self, title: str, page: QWidget) -> None:
        """Put an area's page in its slot."""
        index = [a[0] for a in AREAS].index(title)
        old = self.pages.widget(index)
        assert old is not None  # every area's slot holds a page from the start
        self.pages.insertWidget(index, page)
        self.pages.removeWidget(old)
        old.deleteLater()
        if self.navigation.currentRow() == index:
            self.pages.setCurrentIndex(index)

    def show_area(self, title: str) -> None:
        """Switch to an area by its title (used by links between pages)."""
        titles = [a[0] for a in AREAS]
        self.navigation.setCurrentRow(titles.index(title))

    def set_platform_status(self, text: str) -> None:
        """The local platform's state in the status bar."""
        self.platform_status.setText(f"Local platform: {text}")

    def set_connection_count(self, count: int) -> None:
        """How many MQTT connections the Connections page has open."""
        self._connections = count
        self._show_connections()

    def set_demo_connected(self, connected: bool) -> None:
        """The Onboarding demo's simulated device holds an MQTT connection too (it counts)."""
        self._demo_connections = int(connected)
        self._show_connections()

    def _show_connections(self) -> None:
        total = self._connections + self._demo_connections
        demo = "" if not self._demo_connections else " (demo device)" if not self._connections else \
            " (one is the demo device)"
        self.connection_status.setText(f"Connections: {total or 'none'}{demo}")

    def current_area(self) -> str:
        """The title of the area on show."""
        return AREAS[max(self.navigation.currentRow(), 0)][0]

    def refresh_current(self) -> bool:
        """F5: re-read what the current area shows, when it has something to re-read."""
        refresh = self.refreshers.get(self.current_area())
        if refresh is None:
            self.statusBar().showMessage(f"{self.current_area()}: nothing to refresh here", 3000)
            return False
        refresh()
        self.statusBar().showMessage(f"{self.current_area()}: refreshed", 3000)
        return True

    def _on_open_triggered(self) -> None:
        self.show_area("Keystores")
        if self.open_keystore is not None:
            self.open_keystore()

    def _on_shortcuts_triggered(self) -> None:
        rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;{v}</td></tr>" for k, v in SHORTCUTS)
        QMessageBox.information(self, "Keyboard shortcuts", f"<table>{rows}</table>")

    def _on_about_triggered(self) -> None:
        QMessageBox.about(self, "About", f"<b>Device Onboarding Workbench</b> {__version__}<br>"
                          "Certificates, keystores, proof of possession, an MQTT console and a local platform "
                          "for onboarding X.509 devices.")

    def _restore_layout(self) -> None:
        settings = QSettings()
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        splitter = settings.value("window/splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        titles = [a[0] for a in AREAS]
        title = str(settings.value("window/area_title", "") or "")  # by title: the areas' order may change
        row = titles.index(title) if title in titles else int(cast("int | str", settings.value("window/area", 0)) or 0)
        self.navigation.setCurrentRow(row if 0 <= row < len(AREAS) else 0)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Remember the layout for next time (unless a page keeps the window open to save its work)."""
        if not self.force_close and not all(guard() for guard in self._close_guards):
            event.ignore()
            return
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/splitter", self.splitter.saveState())
        settings.setValue("window/area", self.navigation.currentRow())
        settings.setValue("window/area_title", self.current_area())
        super().closeEvent(event)
        self.closed.emit()
