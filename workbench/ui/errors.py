"""One home for running a user action: a WorkbenchError is shown where the page shows problems (its ProblemLabel,
a callback, or a problem dialog); anything else is a bug and reaches the crash handler (sys.excepthook), which the
app routes to the crash dialog. Quick actions go through `run_action`, async or long work through `spawn`."""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QWidget

from workbench.errors import WorkbenchError

from .dialogs.crash_dialog import CrashDialog
from .dialogs.problem_dialog import ProblemDialog
from .widgets.problem_label import ProblemLabel

log = logging.getLogger("workbench.ui")
T = TypeVar("T")

Show = ProblemLabel | Callable[[WorkbenchError], object] | None
"""Where a WorkbenchError goes: the page's ProblemLabel, a callback, or (None) a problem dialog over the owner."""

_RUNNING: set[asyncio.Task[Any]] = set()


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


def report_crash(exc: BaseException) -> None:
    """Hand a bug to the crash handler (the app's ErrorBridge once installed); never swallow it."""
    sys.excepthook(type(exc), exc, exc.__traceback__)


def show_problem(owner: QWidget | None, error: WorkbenchError, show: Show = None) -> None:
    """Show a WorkbenchError the way the owner shows problems: its label, its callback, or a problem dialog."""
    if isinstance(show, ProblemLabel):
        show.show_error(error)
    elif show is not None:
        show(error)
    else:
        dialog = ProblemDialog(error, owner)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()


def run_action(owner: QWidget | None, action: Callable[[], T], show: Show = None) -> T | None:
    """Run a quick user action; its WorkbenchError is shown (see `show_problem`) and None returned, bugs crash.

    An action whose success matters and that returns nothing returns True, so None always means "it failed".
    """
    try:
        return action()
    except WorkbenchError as exc:
        show_problem(owner, exc, show)
    except Exception as exc:  # a bug: the crash handler shows it, the app keeps running
        report_crash(exc)
    return None


def spawn(owner: QObject, work: Awaitable[T], done: Callable[[T], object] | None = None,
          show: Show = None, *, outlive: bool = False) -> asyncio.Task[None]:
    """Run async or long `work` on the app's loop for `owner`.

    The task is kept (never garbage collected half-way) and cancelled when `owner` is destroyed, so no callback
    reaches a closed widget; `done` gets the result and a WorkbenchError is shown as `run_action` shows it, both
    only while `owner` exists; any other exception reaches the crash handler. Clean-up work that must finish even
    after its widget closed (disconnecting a device, say) passes `outlive=True`: it runs on, without callbacks.
    """

    async def run() -> None:
        try:
            result = await work
        except WorkbenchError as exc:
            if shiboken6.isValid(owner):
                show_problem(owner if isinstance(owner, QWidget) else None, exc, show)
            return
        except Exception as exc:
            report_crash(exc)
            return
        if done is not None and shiboken6.isValid(owner):
            run_action(owner if isinstance(owner, QWidget) else None, lambda: done(result), show)

    task = asyncio.get_event_loop().create_task(run())
    _RUNNING.add(task)
    connection = None if outlive else owner.destroyed.connect(lambda *_: task.cancel())

    def finished(ended: asyncio.Task[None]) -> None:
        _RUNNING.discard(ended)
        if inspect.iscoroutine(work):
            work.close()  # cancelled before it started: no "never awaited" warning
        if connection is not None and shiboken6.isValid(owner):
            QObject.disconnect(connection)

    task.add_done_callback(finished)
    return task


def pending() -> int:
    """How many spawned tasks still run (tests wait for none before they stop the platform)."""
    return len(_RUNNING)
