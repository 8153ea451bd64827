"""A problem shown in place, worded as the problem dialog words it (the summary, then what to check), with one
look on every page: the wizard's live checks, the Local Platform panels, the fleet dialog."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from workbench.errors import WorkbenchError
from workbench.ui.dialogs.problem_dialog import problem_html

STYLE = ("QLabel { background: #fdecea; color: #8e1b1b; border: 1px solid #f5c2c0; border-radius: 4px; "
         "padding: 4px 8px; }")


class ProblemLabel(QLabel):
    """Hidden until there is a problem; a WorkbenchError or a plain sentence; never a traceback."""

    def __init__(self, name: str = "") -> None:
        super().__init__()
        if name:
            self.setObjectName(name)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setStyleSheet(STYLE)
        self.hide()

    def show_error(self, error: WorkbenchError | str | None) -> None:
        """Show what went wrong and the likely causes; nothing (or '') hides the label."""
        if error is None or error == "":
            self.clear_error()
            return
        self.setText(problem_html(error) if isinstance(error, WorkbenchError) else error)
        self.show()

    def clear_error(self) -> None:
        """Hide the line after the problem is gone."""
        self.clear()
        self.hide()
