"""Qt objects die on the GUI thread only: cyclic garbage is collected there, and worker jobs hand back what they held.

A Python wrapper whose last reference goes away on a worker thread deletes its C++ object there, and Qt then
crashes later, somewhere else (a segmentation fault in the GUI tests, 3 runs in 10). Two ways it happened:

* CPython runs the cyclic collector in whichever thread allocates past the threshold: a key generation on the
  executor, the platform's thread, paho's network loop. A closed wizard in a reference cycle (its pages hold bound
  methods of it) was freed there. `GuiThreadCollector` turns automatic collection off and runs the same
  generational collections from a GUI-thread timer (pyqtgraph's GarbageCollector does the same).
* A job run on the executor (`run_in_executor`, `asyncio.to_thread`) may capture a widget, and the worker dropped
  the job, its arguments, its result or its exception (whose traceback holds the job's frames) last.
  `GuiThreadExecutor` keeps all of these referenced from the GUI thread until the worker has let go of them.
"""

from __future__ import annotations

import gc
import itertools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Qt, QTimer, Signal

T = TypeVar("T")

INTERVAL_MS = 100
"""How often the GUI thread checks whether a collection is due (a check costs well under a microsecond)."""


def collect_due() -> int:
    """Run the collection CPython would have run by now (generation 0, 1 or 2 by its thresholds); call it on the GUI
    thread only. Returns the number of unreachable objects found."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    if counts[0] <= thresholds[0]:
        return 0
    generation = 0
    if counts[1] + 1 > thresholds[1]:
        generation = 2 if counts[2] + 1 > thresholds[2] else 1
    return gc.collect(generation)


class GuiThreadCollector(QObject):
    """While installed, automatic collection is off and a GUI-thread timer collects instead (see the module doc)."""

    def __init__(self, interval_ms: int = INTERVAL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(collect_due)
        self._was_enabled = gc.isenabled()
        self.installed = False

    def install(self) -> None:
        """Turn automatic collection off; from now on the GUI thread collects (call it on the GUI thread)."""
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("the GUI-thread collector must be installed from the GUI thread")
        if self.installed:
            return
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()
        self.installed = True

    def uninstall(self) -> None:
        """Collect what is left here, then give collection back to CPython as it was before `install`."""
        if not self.installed:
            return
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
        self.installed = False


class _Releaser(QObject):
    """Lives on the GUI thread; a worker emits `done` with a job's number once it let go of everything."""

    done = Signal(int)


class GuiThreadExecutor(Executor):
    """The loop's default executor: jobs run on worker threads, but every reference a job brought or produced (the
    callable, its arguments, the future with its result or exception) is released on the GUI thread.

    Create it on the GUI thread. Until a worker reports a job finished, the GUI thread keeps the job and its future in
    `_held`; the worker drops its own references first, then emits `done`, and the GUI thread lets go last.
    """

    def __init__(self, max_workers: int = 4) -> None:
        self._jobs: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._held: dict[int, tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._numbers = itertools.count()
        self._releaser = _Releaser()
        self._releaser.done.connect(self._release, Qt.ConnectionType.QueuedConnection)
        self._shut_down = False
        self._workers = [threading.Thread(target=self._work, name=f"workbench-worker-{i}", daemon=True)
                         for i in range(max_workers)]
        for worker in self._workers:
            worker.start()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Queue `fn(*args, **kwargs)` for a worker; its future completes on the worker thread."""
        future: Future[T] = Future()
        with self._lock:
            if self._shut_down:
                raise RuntimeError("the executor has been shut down")
            number = next(self._numbers)
            self._held[number] = (future, fn, args, kwargs)
        self._jobs.put(number)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the workers after the queued jobs (or cancel those not started); wait for them if asked."""
        with self._lock:
            if self._shut_down:
                return
            self._shut_down = True
            if cancel_futures:
                for future, *_ in self._held.values():
                    future.cancel()
        for _ in self._workers:
            self._jobs.put(None)
        if wait:
            for worker in self._workers:
                worker.join()

    def held(self) -> int:
        """How many jobs the GUI thread still holds (finished ones go once the Qt loop runs)."""
        with self._lock:
            return len(self._held)

    def _work(self) -> None:
        while (number := self._jobs.get()) is not None:
            self._run(number)  # every reference the job had lives in _run's frame, gone once it returns
            self._releaser.done.emit(number)

    def _run(self, number: int) -> None:
        with self._lock:
            future, fn, args, kwargs = self._held[number]
        if not future.set_running_or_notify_cancel():
            return
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the awaiting task, which reports it
            future.set_exception(exc)
        else:
            future.set_result(result)
            del result
        del future, fn, args, kwargs  # an exception's traceback keeps this frame: no cycle through the future

    def _release(self, number: int) -> None:
        with self._lock:
            job = self._held.pop(number, None)
        del job  # the last references, dropped here on the GUI thread
