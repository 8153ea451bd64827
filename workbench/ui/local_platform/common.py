"""What every panel of the Local Platform page shares: an inline problem line (never a traceback) and small table
helpers; their REST calls run through `workbench.ui.errors.spawn`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QTableWidget, QTableWidgetItem

from workbench.ui import theme
from workbench.ui.widgets.problem_label import ProblemLabel
from workbench.ui.widgets.tables import make_table

__all__ = ["ProblemLabel", "make_table", "selected_data", "set_row"]


def set_row(table: QTableWidget, row: int, values: Sequence[str], colour: str | None = None,
            data: Any = None) -> None:
    """Fill one row; `data` rides on the first cell (Qt.UserRole) so selections map back to objects; a colour is
    made readable on the theme on show (see `theme.readable`)."""
    for column, value in enumerate(values):
        item = QTableWidgetItem(value)
        if colour is not None:
            item.setForeground(QBrush(theme.readable(QColor(colour))))
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
