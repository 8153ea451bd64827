"""The app's lifecycle outside the pages: which page a launch opens on, a keystore the OS hands over (macOS's
QFileOpenEvent), and a clean quit on SIGTERM or SIGINT.

Python runs a signal handler only when the interpreter gets control, and Qt's event loop is C++: the handler's
wakeup byte goes to a socket that a QSocketNotifier watches, so the handler runs at once and closes the window
(without asking the close guards), which stops the local platform the app started.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QSocketNotifier, QTimer
from PySide6.QtGui import QFileOpenEvent

from workbench.services.first_run import is_first_run, mark_welcomed

from .main_window import MainWindow

log = logging.getLogger("workbench.ui")
QUIT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name))
_KEPT: list[socket.socket] = []  # the wakeup socket pair lives as long as the handlers (a collected one closes)


def welcome_once() -> bool:
    """True on the user's first launch (the window then opens on the welcome); remembered from now on."""
    first = is_first_run()
    if first:
        with contextlib.suppress(OSError):  # a read-only config folder: the welcome shows again next time
            mark_welcomed()
    return first


class FileOpenFilter(QObject):
    """macOS hands a keystore double-clicked in the Finder (or dropped on the Dock icon) to the running app as a
    QFileOpenEvent, not as a command-line argument: this opens it the way `workbench store.p12` does.

    Installed on the QApplication before the window exists; files that arrive before `deliver_to` wait for it.
    """

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._open: Callable[[str], None] | None = None
        self._pending: list[str] = []

    def deliver_to(self, open_path: Callable[[str], None]) -> None:
        """Open files with this from now on (and the ones that came before, once the event loop runs)."""
        self._open = open_path
        pending, self._pending = self._pending, []
        for path in pending:
            QTimer.singleShot(0, lambda path=path: open_path(path))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Take FileOpen events; let every other event through."""
        if event.type() != QEvent.Type.FileOpen or not isinstance(event, QFileOpenEvent):
            return False
        path = event.file() or event.url().toLocalFile()
        if not path:
            return False
        log.info("file open event: %s", path)
        if self._open is None:
            self._pending.append(path)
        else:
            open_path = self._open
            QTimer.singleShot(0, lambda: open_path(path))  # after the event: opening may ask for a password
        return True


def install_file_open(app: QObject) -> FileOpenFilter:
    """The QFileOpenEvent filter on the application; call `deliver_to` once the window can open files."""
    file_filter = FileOpenFilter(app)
    app.installEventFilter(file_filter)
    return file_filter


def install_quit_signals(window: MainWindow) -> Callable[[], None]:
    """SIGTERM, SIGINT and SIGHUP close the window cleanly; returns the function that puts the old handlers back."""
    reader, writer = socket.socketpair()
    for end in (reader, writer):
        end.setblocking(False)
    try:
        previous_fd = signal.set_wakeup_fd(writer.fileno())
    except ValueError:  # not the main thread (an embedding app): leave signals alone
        reader.close()
        writer.close()
        return lambda: None
    _KEPT.extend((reader, writer))
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, window)

    def drain() -> None:  # running Python here is what lets the pending signal handler run
        with contextlib.suppress(OSError):
            reader.recv(256)

    notifier.activated.connect(drain)

    def close(signum: int) -> None:
        log.info("signal %s: closing", signal.Signals(signum).name)
        window.force_close = True  # no "save your changes?" dialog can hold a SIGTERM
        window.close()

    def handler(signum: int, _frame: object) -> None:
        QTimer.singleShot(0, lambda: close(signum))

    previous = {sig: signal.signal(sig, handler) for sig in QUIT_SIGNALS}

    def uninstall() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)
        signal.set_wakeup_fd(previous_fd)
        notifier.setEnabled(False)
        for end in (reader, writer):
            if end in _KEPT:
                _KEPT.remove(end)
        reader.close()
        writer.close()

    return uninstall
