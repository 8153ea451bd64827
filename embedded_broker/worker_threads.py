"""Thread pools for CPU-heavy work that releases the GIL (TLS handshakes, PBKDF2 hashing), kept off the
event loop and at a lower OS priority, so the loop thread still gets a core at once when it needs one."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

NICENESS = 10  # how much lower the worker threads' OS priority is than the event loop's


def niced_pool(threads: int, name: str) -> ThreadPoolExecutor:
    """A pool of `threads` threads named `name-N`, each niced on Linux (where a thread id names one thread)."""
    return ThreadPoolExecutor(max(1, threads), thread_name_prefix=name, initializer=_lower_priority)


def _lower_priority() -> None:
    """When the cores are busy the event loop, which serves the connected clients, gets them first."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)


_pools: dict[str, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def shared_pool(name: str) -> ThreadPoolExecutor:
    """The process's one pool called `name`, one thread per CPU: its kind of work uses every core, never more."""
    with _lock:
        pool = _pools.get(name)
        if pool is None:
            pool = _pools[name] = niced_pool(os.cpu_count() or 1, name)
        return pool
