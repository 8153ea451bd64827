"""The main window: navigation across the product's areas, a status bar, shortcuts, and a remembered layout."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from PySide6.QtCore import QSettings, Qt
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
    ("Connections", "Connection profiles and the live MQTT console: MQTT 3.1.1 and 5, mutual TLS with PEM files "
                    "or keystores, several connections at once."),
    ("Certificates", "CA store and certificate wizard: root and intermediate CAs, device and server certificates "
                     "with the guide's extension profiles, CSR signing, chains, lint against the platform rules."),
    ("Keystores", "Keystore editor for PKCS#12 and JKS keystores and truststores that keytool and openssl read."),
    ("Proof of Possession", "Sign a platform's verification code with your CA key, exactly as "
                            "'openssl dgst -sha256 -sign key | openssl base64 -A' does."),
    ("Local Platform", "The bundled local platform: MQTT over mutual TLS and a REST API that emulate the cloud "
                       "platform's certificate onboarding, with tenants, devices and a live event log."),
    ("Onboarding", "The guide's whole journey as a checklist: CA, upload, proof of possession, device certificate, "
                   "keystores, connection, token and first measurement."),
)

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Ctrl+1 … Ctrl+6", "Go to an area"),
    ("Ctrl+Shift+C", "Connect the current connection"),
    ("Ctrl+Shift+D", "Disconnect the current connection"),
    ("Ctrl+Return", "Publish the message in the editor"),
    ("Ctrl+L", "Clear the message view"),
    ("Ctrl+F", "Search the messages"),
    ("F1", "Show these shortcuts"),
)


class MainWindow(QMainWindow):
    """Navigation on the left, the selected area's page on the right, platform and connection state below."""

    def __init__(self, pages: dict[str, QWidget] | None = None) -> None:
        super().__init__()
        self._close_guards: list[Callable[[], bool]] = []
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
        """How many MQTT connections are open."""
        self.connection_status.setText(f"Connections: {count or 'none'}")

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
        self.navigation.setCurrentRow(int(cast("int | str", settings.value("window/area", 0)) or 0))

    def closeEvent(self, event: QCloseEvent) -> None:
        """Remember the layout for next time (unless a page keeps the window open to save its work)."""
        if not all(guard() for guard in self._close_guards):
            event.ignore()
            return
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/splitter", self.splitter.saveState())
        settings.setValue("window/area", self.navigation.currentRow())
        super().closeEvent(event)
