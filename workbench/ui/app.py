"""Qt application bootstrap: one QApplication, one qasync loop, error hooks, theme, the main window."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Callable
from typing import cast

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QWidget

from workbench import __version__, logs
from workbench.paths import resource_path


def create_application() -> QApplication:
    """The QApplication with the names QSettings uses for the remembered layout."""
    app = cast(QApplication, QApplication.instance() or QApplication(sys.argv))
    app.setApplicationName("Device Onboarding Workbench")
    app.setOrganizationName("Workbench")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(QIcon(str(resource_path("icons", "workbench.svg"))))
    return app


def after_first_paint(widget: QWidget, callback: Callable[[], object], latest_ms: int = 3000) -> None:
    """Call `callback` once, on the event loop's next turn after `widget` first painted (work that can wait for
    the first window: the user sees it sooner), or after `latest_ms` when no paint came (a minimised start)."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    done: list[bool] = []

    class _FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt calls it for every event of the widget
            if event.type() == QEvent.Type.Paint and not done:
                QTimer.singleShot(0, self, fire)
            return False

    watcher = _FirstPaint(widget)

    def fire() -> None:
        if not done:
            done.append(True)
            widget.removeEventFilter(watcher)
            callback()

    widget.installEventFilter(watcher)
    QTimer.singleShot(latest_ms, watcher, fire)  # not after the widget is gone


def run_gui(open_path: str | None = None) -> int:
    """Open the main window (with a keystore, when one was double-clicked) and run the Qt/asyncio loop."""
    gc.disable()  # no cyclic collections while the start-up imports and builds (garbage-free work): a faster start
    import qasync  # imported after PySide6 so qasync binds to it (docs/platform-notes.md)

    from .assembly import build_workbench
    from .errors import ErrorBridge
    from .gui_thread import GuiThreadCollector, GuiThreadExecutor
    from .lifecycle import install_file_open, install_quit_signals, welcome_once
    from .theme import follow_system

    verbose, debug = logs.level_from_env()
    logs.start("gui", verbose=verbose, debug=debug)  # gui.log in the platform's log folder, for the process's life
    app = create_application()
    file_open = install_file_open(app)  # macOS: a double-clicked keystore arrives as an event, maybe this early
    collector = GuiThreadCollector(parent=app)  # Qt objects are freed on the GUI thread only (see gui_thread)
    collector.install()
    _theme = follow_system(app)  # light or dark as the desktop is, and again whenever it switches
    loop = qasync.QEventLoop(app)
    loop.set_default_executor(GuiThreadExecutor())
    asyncio.set_event_loop(loop)
    from .dialogs.vault_dialog import install_vault_prompt

    windows: list[QWidget] = []
    # No system keyring: the vault passphrase is asked when a secret is first needed (on the GUI thread, over the
    # window), not now: a first-time user meets the window and its welcome first.
    install_vault_prompt(lambda: windows[0] if windows else None)
    bench = build_workbench(first_run=welcome_once())  # a first run opens on the welcome, later ones where left
    window, platform = bench.window, bench.platform
    windows.append(window)
    # Start-up objects (modules, Qt wrappers) leave the cyclic GC's scans: with 100,000 buffered messages a full
    # collection otherwise pauses the GUI for ~50 ms (bench/console.py measures it).
    gc.freeze()
    gc.enable()
    bridge = ErrorBridge(lambda: window)
    bridge.install()
    loop.set_exception_handler(bridge.asyncio_handler)
    window.show()
    file_open.deliver_to(bench.open_path)  # the same path as a keystore on the command line
    install_quit_signals(window)  # SIGTERM/SIGINT close the window: the platform child stops with it
    window.closed.connect(app.quit)  # Ctrl+Q quits even while another top-level window (a dialog) is open
    if open_path:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, lambda: bench.open_path(open_path))  # once the window is up: it may ask a password
    with loop:
        # The local platform comes up in the background once the window has painted: its start-up thread would
        # otherwise hold the GIL while the first window is drawn (bench/cold_start.py measures it).
        after_first_paint(window, lambda: window.isVisible() and platform.start())
        closing = asyncio.Event()
        app.aboutToQuit.connect(closing.set)
        try:
            loop.run_until_complete(closing.wait())
        finally:
            platform.stop()
    return 0
