"""Qt objects must die on the GUI thread: cyclic garbage is not collected by a worker thread's allocations, and a
job run on the loop's executor has what it held (callable, arguments, exception) released on the GUI thread.

A wrapper freed on a worker deletes its C++ widget there: the GUI suite segfaulted 3 runs in 10 that way (a closed
CertificateWizard, in a cycle with its pages, collected while the next wizard's key was generated on the executor).
Each test tracks a plain object with weakref.finalize, which runs on the thread that frees it.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
import weakref

import pytest
from PySide6.QtCore import QObject
from pytestqt.qtbot import QtBot

from workbench.errors import WorkbenchError
from workbench.ui.errors import spawn

pytestmark = pytest.mark.usefixtures("qasync_loop")


class _Tracked:
    """A plain object whose finalizer records the thread that freed it."""

    def __init__(self, freed_on: list[int]) -> None:
        weakref.finalize(self, lambda: freed_on.append(threading.get_ident()))


def test_cyclic_garbage_is_freed_on_the_gui_thread_not_by_a_worker(qtbot: QtBot) -> None:
    freed_on: list[int] = []
    kept: list[object] = []
    with warnings.catch_warnings():  # start from empty generation counts: the cycle below is the youngest garbage
        warnings.simplefilter("ignore", ResourceWarning)  # earlier tests' unclosed sockets are not this test's
        gc.collect()
    cycle = _Tracked(freed_on)
    cycle.me = cycle  # type: ignore[attr-defined]
    del cycle

    def allocate() -> None:  # a key generation, say: enough containers to pass generation 0's threshold
        kept.extend([] for _ in range(20 * gc.get_threshold()[0]))

    worker = threading.Thread(target=allocate)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: bool(freed_on), timeout=5_000)
    assert freed_on == [threading.main_thread().ident]


def test_a_job_is_released_on_the_gui_thread(qtbot: QtBot) -> None:
    freed_on: list[int] = []
    go = threading.Event()
    owner = QObject()

    tracked = _Tracked(freed_on)  # a widget, in the app

    def job(held: _Tracked = tracked) -> str:
        go.wait(5)
        return "done"

    results: list[str] = []
    task = spawn(owner, asyncio.get_event_loop().run_in_executor(None, job), results.append)
    del job, tracked  # from now on only the executor holds the job
    go.set()
    qtbot.waitUntil(lambda: task.done() and bool(freed_on), timeout=5_000)
    assert results == ["done"]
    assert freed_on == [threading.main_thread().ident]


def test_a_failed_jobs_frames_are_released_on_the_gui_thread(qtbot: QtBot) -> None:
    freed_on: list[int] = []
    problems: list[WorkbenchError] = []
    owner = QObject()

    def job() -> None:
        held = _Tracked(freed_on)  # a local of the failing frame: the exception's traceback keeps it
        raise WorkbenchError(f"failed with {held!r:.0}")

    task = spawn(owner, asyncio.get_event_loop().run_in_executor(None, job), show=problems.append)
    qtbot.waitUntil(task.done, timeout=5_000)
    assert [str(p) for p in problems] == ["failed with "]
    del task, problems
    owner.deleteLater()
    del owner
    qtbot.waitUntil(lambda: gc.collect() >= 0 and bool(freed_on), timeout=5_000)  # on this, the GUI thread
    assert freed_on == [threading.main_thread().ident]
