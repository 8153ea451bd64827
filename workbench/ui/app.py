"""Qt application bootstrap: one QApplication, one qasync loop, error hooks, theme, the main window."""

from __future__ import annotations

import asyncio
import gc
import sys
from typing import cast

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from workbench import __version__
from workbench.paths import resource_path


def create_application() -> QApplication:
    """The QApplication with the names QSettings uses for the remembered layout."""
    app = cast(QApplication, QApplication.instance() or QApplication(sys.argv))
    app.setApplicationName("Device Onboarding Workbench")
    app.setOrganizationName("Workbench")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(QIcon(str(resource_path("icons", "workbench.svg"))))
    return app


def run_gui(open_path: str | None = None) -> int:
    """Open the main window (with a keystore, when one was double-clicked) and run the Qt/asyncio loop."""
    import qasync  # imported after PySide6 so qasync binds to it (docs/platform-notes.md)

    from .assembly import build_workbench
    from .errors import ErrorBridge
    from .gui_thread import GuiThreadCollector, GuiThreadExecutor
    from .lifecycle import install_quit_signals, welcome_once
    from .theme import apply_theme

    app = create_application()
    collector = GuiThreadCollector(parent=app)  # Qt objects are freed on the GUI thread only (see gui_thread)
    collector.install()
    apply_theme(app)
    loop = qasync.QEventLoop(app)
    loop.set_default_executor(GuiThreadExecutor())
    asyncio.set_event_loop(loop)
    from .dialogs.vault_dialog import open_secret_store

    open_secret_store()  # no system keyring: the vault passphrase is asked now, before any page reads a secret
    bench = build_workbench(first_run=welcome_once())  # a first run opens on the welcome, later ones where left
    window, platform = bench.window, bench.platform
    # Start-up objects (modules, Qt wrappers) leave the cyclic GC's scans: with 100,000 buffered messages a full
    # collection otherwise pauses the GUI for ~50 ms (bench/console.py measures it).
    gc.freeze()
    bridge = ErrorBridge(lambda: window)
    bridge.install()
    loop.set_exception_handler(bridge.asyncio_handler)
    window.show()
    install_quit_signals(window)  # SIGTERM/SIGINT close the window: the platform child stops with it
    window.closed.connect(app.quit)  # Ctrl+Q quits even while another top-level window (a dialog) is open
    if open_path:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, lambda: bench.open_path(open_path))  # once the window is up: it may ask a password
    with loop:
        platform.start()  # first run: the local platform comes up in the background
        closing = asyncio.Event()
        app.aboutToQuit.connect(closing.set)
        try:
            loop.run_until_complete(closing.wait())
        finally:
            platform.stop()
    return 0
