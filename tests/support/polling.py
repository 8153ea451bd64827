"""Wait for a condition with a deadline: the one place tests poll, for states that raise no event to wait on."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
STEP = 0.02  # seconds between polls


def poll(check: Callable[[], T], seconds: float) -> T:
    """The first truthy result of `check`, or its last result once `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(STEP)


def until(check: Callable[[], T], what: str, seconds: float) -> T:
    """The first truthy result of `check`; an AssertionError naming `what` when `seconds` pass without one."""
    result = poll(check, seconds)
    assert result, f"timed out waiting for {what}"
    return result
