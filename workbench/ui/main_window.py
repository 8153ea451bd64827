"""The main window: navigation across the product's areas, a status bar, shortcuts, and a remembered layout."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from PySide6.QtCore import QEvent, QSettings, QSize, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from workbench import __version__
from workbench.paths import resource_path
from workbench.ui import theme
from workbench.ui.widgets.icons import icon
from workbench.ui.widgets.page_header import PageHeader

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
    ("Fleet", "The fleet simulator: many certificate devices, each with its own identity, connect, get tokens, send "
              "measurements and answer operations; live figures, Start/Stop and chaos."),
    ("Local Platform", "The bundled local platform: MQTT over mutual TLS and a REST API that emulate the cloud "
                       "platform's certificate onboarding, with tenants, devices and a live event log."),
)

# Each area's page header sentence (its icon is the area's, widgets/icons.py); the AREAS text is its tooltip.
SUBTITLES: dict[str, str] = {
    "Onboarding": ("Start here: run the demo, or take your own device from a new CA to live data, "
                   "step by step."),
    "Connections": ("Connection profiles and a live MQTT console: MQTT 3.1.1 and 5 over mutual TLS, "
                    "several connections at once."),
    "Certificates": ("Your CAs and everything they issued: create with New, or drop a PEM, DER, "
                     "PKCS#12 or JKS file here to inspect it."),
    "Keystores": ("Open, edit and convert PKCS#12 and JKS keystores and truststores that keytool and "
                  "openssl read."),
    "Proof of Possession": ("Prove to the platform that you hold the CA's private key by "
                            "signing its verification code."),
    "Local Platform": ("The cloud's side on this machine: MQTT over mutual TLS, REST, tenants, "
                       "devices and a live event log."),
    "Fleet": ("Rehearse a fleet: every device connects with its own certificate; watch what they "
              "see, and how they recover."),
}

# The status bar's dot: which status a phase of the local platform shows in (theme.Colours' status set).
PHASE_STATUS: dict[str, theme.Status] = {"running": "ok", "starting": "info", "failed": "error", "stopped": "neutral"}

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Ctrl+1 … Ctrl+7", "Go to an area (Onboarding, Connections, Certificates, Keystores, Proof of Possession, "
                        "Fleet, Local Platform)"),
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


class StatusDot(QLabel):
    """A coloured dot before a status bar text: ok, warn, error, info or neutral, in the theme's status colours."""

    def __init__(self, status: theme.Status = "neutral") -> None:
        super().__init__("●")
        self.setObjectName("status_dot")
        self.set_status(status)

    def set_status(self, status: theme.Status) -> None:
        """Show a status; the application stylesheet colours it (and recolours it with the theme)."""
        if self.property("status") == status:
            return
        self.setProperty("status", status)
        self.setToolTip({"ok": "OK", "warn": "Needs attention", "error": "Failed", "info": "In progress",
                         "neutral": "Off"}[status])
        self.style().unpolish(self)
        self.style().polish(self)

    def status(self) -> str:
        """The status on show."""
        return str(self.property("status"))


def platform_status_of(text: str, phase: str | None = None) -> theme.Status:
    """The status colour for the local platform's state: from its phase, or from the words when no phase is known."""
    if phase in PHASE_STATUS:
        status = PHASE_STATUS[phase]
        return "warn" if status == "ok" and "(" in text else status  # running, but the demo device was not prepared
    lowered = text.lower()
    if lowered.startswith("running"):
        return "warn" if "(" in text else "ok"
    if lowered.startswith(("starting", "stopping")):
        return "info"
    if lowered.startswith(("not running", "failed", "not reset")):
        return "error"
    return "neutral"


class MainWindow(QMainWindow):
    """Navigation on the left, the selected area's header and page on the right, platform and connection state below.

    Signals:
        closed: the window closed (every close guard agreed): the app stops what it started.
        demo_requested: the sidebar's "Run the demo" (from any page): the assembly runs the Onboarding demo.
    """

    closed = Signal()
    demo_requested = Signal()

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
        self.navigation.setIconSize(QSize(20, 20))
        self.navigation.setFrameShape(QListWidget.Shape.NoFrame)
        self.navigation.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.pages = QStackedWidget()
        given = pages or {}
        for index, (title, description) in enumerate(AREAS):
            item = QListWidgetItem(title)
            item.setToolTip(f"{description} (Ctrl+{index + 1})")
            self.navigation.addItem(item)
            self.pages.addWidget(given.get(title) or QWidget())  # an empty slot until set_page fills it
        self.header = PageHeader()
        self.navigation.currentRowChanged.connect(self._on_area_changed)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("shell")
        self.splitter.setHandleWidth(1)
        self.splitter.addWidget(self._sidebar())
        self.splitter.addWidget(self._content())
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setCollapsible(0, False)
        self.splitter.setSizes([200, 1000])
        self.setCentralWidget(self.splitter)
        self._paint_icons()
        self.platform_dot = StatusDot()
        self.platform_status = QLabel("Local platform: not started")
        self.connection_dot = StatusDot()
        self.connection_status = QLabel("Connections: none")
        self.platform_status.setMinimumWidth(
            self.platform_status.fontMetrics().horizontalAdvance("Local platform: running on 127.0.0.1:65535"))
        self.connection_status.setMinimumWidth(
            self.connection_status.fontMetrics().horizontalAdvance("Connections: 10 (one is the demo device)"))
        for dot, label in ((self.platform_dot, self.platform_status), (self.connection_dot, self.connection_status)):
            self.statusBar().addPermanentWidget(dot)
            self.statusBar().addPermanentWidget(label)
        self._build_menus()
        self._restore_layout()
        self._on_area_changed(self.navigation.currentRow())

    def _sidebar(self) -> QWidget:
        """The app's name, the areas with their icons, and the demo one click away from every page."""
        sidebar = QWidget()
        sidebar.setObjectName("sidebar")
        sidebar.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        brand_icon = QLabel()
        brand_icon.setPixmap(QIcon(str(resource_path("icons", "workbench.svg"))).pixmap(QSize(28, 28)))
        brand = QLabel("Onboarding Workbench")
        brand.setObjectName("brand")
        brand_sub = QLabel("X.509 devices, MQTT, PKI")
        brand_sub.setObjectName("brand_sub")
        names = QVBoxLayout()
        names.setSpacing(0)
        names.addWidget(brand)
        names.addWidget(brand_sub)
        top = QHBoxLayout()
        top.setContentsMargins(12, 12, 12, 10)
        top.setSpacing(8)
        top.addWidget(brand_icon)
        top.addLayout(names, 1)
        self.demo_button = QPushButton("Run the demo")
        self.demo_button.setObjectName("sidebar_demo")
        self.demo_button.setProperty("primary", True)
        self.demo_button.setToolTip("The whole onboarding in seconds on the local platform, ending on live data from "
                                    "a simulated device (opens the Onboarding page)")
        self.demo_button.clicked.connect(self.demo_requested)
        layout = QVBoxLayout(sidebar)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(top)
        layout.addWidget(self.navigation, 1)
        bottom = QVBoxLayout()
        bottom.setContentsMargins(12, 8, 12, 12)
        bottom.addWidget(self.demo_button)
        layout.addLayout(bottom)
        return sidebar

    def _content(self) -> QWidget:
        """The header of the area on show above its page."""
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        layout.addWidget(self.pages, 1)
        return content

    def _paint_icons(self) -> None:
        """The navigation's icons in the theme's colours (called again when the theme changes)."""
        colours = theme.current()
        for row in range(self.navigation.count()):
            item = self.navigation.item(row)
            item.setIcon(icon(item.text(), colours.muted, active=colours.accent_text))
        if hasattr(self, "demo_button"):
            self.demo_button.setIcon(icon("demo", "#ffffff"))

    def _on_area_changed(self, row: int) -> None:
        """Show the area's page and its header."""
        row = max(row, 0)
        self.pages.setCurrentIndex(row)
        title, description = AREAS[row]
        subtitle = SUBTITLES.get(title, description)
        self.header.set_area(title, subtitle, f"{subtitle}\n\n{description}", title)

    def changeEvent(self, event: QEvent) -> None:
        """Recolour the icons when the theme (the application palette) changes."""
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._paint_icons()

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
        view = self.menuBar().addMenu("&View")
        theme_menu = view.addMenu("Theme")
        theme_menu.setIcon(icon("theme"))
        self.theme_actions = QActionGroup(self)
        chosen = theme.requested_theme()
        for choice, label in (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark")):
            action = QAction(label, self, checkable=True)
            action.setChecked(choice == chosen)
            action.setData(choice)
            action.triggered.connect(lambda _=False, c=choice: self.choose_theme(c))
            self.theme_actions.addAction(action)
            theme_menu.addAction(action)
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

    def choose_theme(self, choice: str) -> bool:
        """View → Theme: follow the system, or light or dark for this app (remembered); returns whether dark is on."""
        app = QApplication.instance()
        if not isinstance(app, QApplication):
            return False
        return theme.choose(app, choice)

    def set_page(self, title: str, page: QWidget) -> None:
        """Put an area's page in its slot, under the area's header."""
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

    def set_platform_status(self, text: str, phase: str | None = None) -> None:
        """The local platform's state in the status bar, with a dot in its status colour (from `phase` when known:
        starting, running, failed or stopped)."""
        self.platform_status.setText(f"Local platform: {text}")
        self.platform_status.setToolTip(f"Local platform: {text}")
        self.platform_dot.set_status(platform_status_of(text, phase))

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
        self.connection_dot.set_status("ok" if total else "neutral")

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
