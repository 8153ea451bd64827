"""One error net for the UI: WorkbenchErrors open a ProblemDialog, anything else reaches the crash dialog."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QWidget

from workbench.errors import WorkbenchError

from .dialogs.crash_dialog import CrashDialog
from .dialogs.problem_dialog import ProblemDialog

log = logging.getLogger("workbench.ui")
T = TypeVar("T")


class ErrorBridge(QObject):
    """Moves errors from any thread or task to the GUI thread, where the dialogs open.

    Signals:
        problem: a WorkbenchError to show.
        crashed: the formatted traceback of an unexpected exception.
    """

    problem = Signal(object)
    crashed = Signal(str)

    def __init__(self, parent_widget: Callable[[], QWidget | None] = lambda: None) -> None:
        super().__init__()
        self._parent_widget = parent_widget
        self.problem.connect(self._on_problem, Qt.ConnectionType.QueuedConnection)
        self.crashed.connect(self._on_crashed, Qt.ConnectionType.QueuedConnection)
        self.last_dialog: ProblemDialog | CrashDialog | None = None

    def report(self, exc: BaseException) -> None:
        """Route an exception to the right dialog."""
        if isinstance(exc, WorkbenchError):
            self.problem.emit(exc)
        else:
            details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            log.error("unexpected error: %s", details)
            self.crashed.emit(details)

    def _on_problem(self, error: WorkbenchError) -> None:
        self.last_dialog = ProblemDialog(error, self._parent_widget())
        self.last_dialog.open()

    def _on_crashed(self, details: str) -> None:
        self.last_dialog = CrashDialog(details, self._parent_widget())
        self.last_dialog.open()

    def install(self) -> None:
        """Catch what nobody caught: sys, threads and asyncio tasks all end up here (napari's pattern)."""

        def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
            self.report(exc.with_traceback(tb))

        sys.excepthook = excepthook
        threading.excepthook = lambda args: self.report(args.exc_value or RuntimeError("thread error"))

    def asyncio_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """For `loop.set_exception_handler`: task errors become dialogs instead of log lines."""
        exc = context.get("exception")
        if exc is not None:
            self.report(exc)
        else:
            log.warning("asyncio: %s", context.get("message"))


def run_action(bridge: ErrorBridge, action: Callable[[], T]) -> T | None:
    """Run a quick user action; a WorkbenchError becomes a ProblemDialog, bugs go to the crash dialog."""
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        return action()
    except Exception as exc:
        bridge.report(exc)
        return None
    finally:
        QApplication.restoreOverrideCursor()


def spawn(bridge: ErrorBridge, coro: Awaitable[T]) -> asyncio.Task[T]:
    """Start slow async work on the qasync loop; its failure is shown, never lost."""
    task: asyncio.Task[T] = asyncio.ensure_future(coro)

    def _done(finished: asyncio.Task[T]) -> None:
        if not finished.cancelled() and finished.exception() is not None:
            bridge.report(finished.exception())  # type: ignore[arg-type]

    task.add_done_callback(_done)
    return task
