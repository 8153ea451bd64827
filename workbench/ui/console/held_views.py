"""Item views that paint with the message feed held, so a flood of messages never stretches a paint.

A paint calls the model's Python data() hundreds of times from C++, each taking the GIL anew; with paho's
network thread parsing 10,000 messages/s it would take the GIL back between calls (a convoy that stretched one paint
past 40 ms). While the view paints, paho's thread waits at the feed's lock, off the GIL (MessageFeed.held).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QTableView, QTreeView

Hold = Callable[[], AbstractContextManager[Any]]


class _HeldPaint:
    """Paints inside `hold()`; a cooperative mixin placed before the Qt view class."""

    _hold: Hold = contextlib.nullcontext

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint while the feeding threads wait off the GIL."""
        with self._hold():
            super().paintEvent(event)  # type: ignore[misc]


class HeldTableView(_HeldPaint, QTableView):
    """A table view that paints inside `hold()`."""

    def __init__(self, hold: Hold = contextlib.nullcontext) -> None:
        super().__init__()
        self._hold = hold


class HeldTreeView(_HeldPaint, QTreeView):
    """A tree view that paints inside `hold()`."""

    def __init__(self, hold: Hold = contextlib.nullcontext) -> None:
        super().__init__()
        self._hold = hold
