"""The one way a page runs an action: problems show where the page shows them, bugs reach the crash handler, and
spawned work never outlives (or calls back into) its widget."""

from __future__ import annotations

import asyncio
import sys
from types import TracebackType

import pytest
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from workbench.errors import PasswordError
from workbench.ui.dialogs.problem_dialog import ProblemDialog
from workbench.ui.errors import pending, run_action, spawn
from workbench.ui.widgets.problem_label import ProblemLabel

Hooked = list[tuple[type[BaseException], BaseException, TracebackType | None]]


@pytest.fixture
def crashes(monkeypatch: pytest.MonkeyPatch) -> Hooked:
    """What reaches sys.excepthook (the app's crash dialog) during the test."""
    seen: Hooked = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, exc, tb: seen.append((kind, exc, tb)))
    return seen


def _page(qtbot: QtBot) -> tuple[QWidget, ProblemLabel]:
    page = QWidget()
    problem = ProblemLabel("problem")
    QVBoxLayout(page).addWidget(problem)
    qtbot.addWidget(page)
    page.show()
    return page, problem


def _wrong_password() -> None:
    raise PasswordError("Could not decrypt the private key", ("The password is wrong.",))


def test_a_workbench_error_of_an_action_shows_in_the_pages_problem_label(qtbot: QtBot, crashes: Hooked) -> None:
    page, problem = _page(qtbot)
    assert run_action(page, _wrong_password, problem) is None
    assert problem.isVisible()
    assert "Could not decrypt the private key" in problem.text() and "The password is wrong." in problem.text()
    assert "Traceback" not in problem.text()
    assert crashes == []
    assert run_action(page, lambda: 42, problem) == 42


def test_without_a_label_the_problem_opens_a_problem_dialog_over_the_page(qtbot: QtBot, crashes: Hooked) -> None:
    page, _problem = _page(qtbot)
    run_action(page, _wrong_password)
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, ProblemDialog) and w.parent() is page]
    assert len(dialogs) == 1 and "The password is wrong." in dialogs[0].message.text()
    dialogs[0].close()
    assert crashes == []


def test_an_unexpected_exception_reaches_the_crash_handler(qtbot: QtBot, crashes: Hooked) -> None:
    page, problem = _page(qtbot)
    assert run_action(page, lambda: 1 / 0, problem) is None
    assert [kind for kind, _exc, _tb in crashes] == [ZeroDivisionError]
    assert crashes[0][2] is not None  # with its traceback, for the report
    assert not problem.isVisible()


def test_a_bug_in_spawned_work_reaches_the_crash_handler(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
                                                         crashes: Hooked) -> None:
    page, problem = _page(qtbot)

    async def broken() -> None:
        raise KeyError("not a WorkbenchError")

    task = spawn(page, broken(), show=problem)
    qtbot.waitUntil(task.done, timeout=5_000)
    assert [kind for kind, _exc, _tb in crashes] == [KeyError]
    assert not problem.isVisible()


def test_a_spawned_workbench_error_shows_in_the_label_and_the_result_reaches_done(
        qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop, crashes: Hooked) -> None:
    page, problem = _page(qtbot)

    async def fails() -> int:
        _wrong_password()
        return 0

    async def works() -> int:
        return 7

    results: list[int] = []
    first = spawn(page, fails(), results.append, problem)
    second = spawn(page, works(), results.append, problem)
    qtbot.waitUntil(lambda: first.done() and second.done(), timeout=5_000)
    assert results == [7]
    assert "The password is wrong." in problem.text()
    assert crashes == []


def test_a_spawned_task_is_cancelled_when_its_widget_is_destroyed(qtbot: QtBot,
                                                                  qasync_loop: asyncio.AbstractEventLoop,
                                                                  crashes: Hooked) -> None:
    owner = QWidget()
    started = asyncio.Event()
    called: list[object] = []

    async def slow() -> str:
        started.set()
        await asyncio.sleep(3600)
        return "late"

    task = spawn(owner, slow(), called.append, called.append)
    assert task in asyncio.all_tasks(qasync_loop) and pending() >= 1  # held, never garbage collected half-way
    qtbot.waitUntil(started.is_set, timeout=5_000)
    owner.deleteLater()
    qtbot.waitUntil(task.done, timeout=5_000)
    assert task.cancelled()
    assert called == [] and crashes == []
