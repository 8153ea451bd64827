"""Qt application bootstrap: one QApplication, one qasync loop, the main window."""

from __future__ import annotations

import asyncio
import sys

from PySide6.QtWidgets import QApplication

from workbench import __version__


def run_gui() -> int:
    """Open the main window and run the shared Qt/asyncio loop until it closes."""
    import qasync  # imported after PySide6 so qasync binds to it (platform-notes)

    from workbench.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Device Onboarding Workbench")
    app.setApplicationVersion(__version__)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow()
    window.show()
    with loop:
        closing = asyncio.Event()
        app.aboutToQuit.connect(closing.set)
        loop.run_until_complete(closing.wait())
    return 0
