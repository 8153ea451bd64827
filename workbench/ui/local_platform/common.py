"""What every panel of the Local Platform page shares: REST calls as asyncio tasks on the qasync loop whose results
land on widgets that still exist, an inline problem line (never a traceback), and small table helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QTableWidget, QTableWidgetItem

from workbench.errors import WorkbenchError
from workbench.ui.widgets.problem_label import ProblemLabel
from workbench.ui.widgets.tables import make_table

__all__ = ["ProblemLabel", "launch", "make_table", "pending", "selected_data", "set_row"]
T = TypeVar("T")
_RUNNING: set[asyncio.Task[Any]] = set()


def launch(owner: QObject, work: Awaitable[T], done: Callable[[T], None] | None = None,
           failed: Callable[[WorkbenchError], None] | None = None) -> asyncio.Task[None]:
    """Run `work` on the app's loop; `done`/`failed` run only while `owner` still exists (pages can close first)."""

    async def run() -> None:
        try:
            result = await work
        except WorkbenchError as exc:
            if failed is not None and shiboken6.isValid(owner):
                failed(exc)
            return
        if done is not None and shiboken6.isValid(owner):
            done(result)

    task = asyncio.get_event_loop().create_task(run())
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    return task


def pending() -> int:
    """How many of these tasks still run (tests wait for none before they stop the platform)."""
    return len(_RUNNING)


def set_row(table: QTableWidget, row: int, values: Sequence[str], colour: str | None = None,
            data: Any = None) -> None:
    """Fill one row; `data` rides on the first cell (Qt.UserRole) so selections map back to objects."""
    for column, value in enumerate(values):
        item = QTableWidgetItem(value)
        if colour is not None:
            item.setForeground(QBrush(QColor(colour)))
        if column == 0 and data is not None:
            item.setData(Qt.ItemDataRole.UserRole, data)
        table.setItem(row, column, item)


def selected_data(table: QTableWidget) -> Any:
    """The UserRole data of the selected row's first cell, or None."""
    rows = table.selectionModel().selectedRows()
    if not rows:
        return None
    item = table.item(rows[0].row(), 0)
    return None if item is None else item.data(Qt.ItemDataRole.UserRole)
