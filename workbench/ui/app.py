"""Qt application bootstrap: one QApplication, one qasync loop, error hooks, theme, the main window."""

from __future__ import annotations

import asyncio
import gc
import sys

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from workbench import __version__
from workbench.paths import resource_path


def create_application() -> QApplication:
    """The QApplication with the names QSettings uses for the remembered layout."""
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Device Onboarding Workbench")
    app.setOrganizationName("Workbench")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(QIcon(str(resource_path("icons", "workbench.svg"))))
    return app  # type: ignore[return-value]


def run_gui() -> int:
    """Open the main window and run the shared Qt/asyncio loop until it closes."""
    import qasync  # imported after PySide6 so qasync binds to it (platform-notes)

    from .errors import ErrorBridge
    from .local_platform_control import LocalPlatformControl
    from .main_window import MainWindow
    from .pages.certificates_page import CertificatesPage
    from .pages.connections import ConnectionsPage
    from .pages.local_platform_page import LocalPlatformPage
    from .pages.onboarding_page import OnboardingPage
    from .pages.pop_page import PopPage
    from .theme import apply_theme

    app = create_application()
    apply_theme(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    platform = LocalPlatformControl()
    connections = ConnectionsPage()
    onboarding = OnboardingPage(connections.profiles.store)
    pop = PopPage()
    certificates = CertificatesPage()
    window = MainWindow({"Connections": connections, "Certificates": certificates, "Proof of Possession": pop,
                         "Local Platform": LocalPlatformPage(platform), "Onboarding": onboarding})
    onboarding.finished.connect(lambda _report: connections.profiles.refresh())
    connections.connection_count_changed.connect(window.set_connection_count)
    # Start-up objects (modules, Qt wrappers) leave the cyclic GC's scans: with 100,000 buffered messages a full
    # collection otherwise pauses the GUI for ~50 ms (bench/console.py measures it).
    gc.freeze()
    bridge = ErrorBridge(lambda: window)
    bridge.install()
    loop.set_exception_handler(bridge.asyncio_handler)
    platform.state_changed.connect(window.set_platform_status)
    platform.ready.connect(connections.set_local_platform)
    platform.ready.connect(onboarding.set_local_platform)
    platform.ready.connect(pop.set_local_platform)
    onboarding.finished.connect(lambda _report: pop.reload_cas())
    onboarding.finished.connect(lambda _report: certificates.refresh())
    platform.demo_ready.connect(connections.profiles.add_demo_device)
    window.show()
    with loop:
        platform.start()  # first run: the local platform comes up in the background
        closing = asyncio.Event()
        app.aboutToQuit.connect(closing.set)
        loop.run_until_complete(closing.wait())
        platform.stop()
    return 0
