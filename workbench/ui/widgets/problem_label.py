"""A problem shown in place, worded as the problem dialog words it (the summary, then what to check), with one
look on every page: the wizard's live checks, the Local Platform panels, the fleet dialog."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QLabel

from workbench.errors import WorkbenchError
from workbench.ui import theme
from workbench.ui.dialogs.problem_dialog import problem_html

# The theme's problem colours for light and dark; the label's "dark" property picks one (set from the palette).
STYLE = "".join(
    f"QLabel{selector} {{ background: {c.problem_bg}; color: {c.problem_fg}; border: 1px solid {c.problem_border}; "
    "border-radius: 4px; padding: 4px 8px; }"
    for selector, c in (("", theme.LIGHT), ('[dark="true"]', theme.DARK)))


class ProblemLabel(QLabel):
    """Hidden until there is a problem; a WorkbenchError or a plain sentence; never a traceback."""

    def __init__(self, name: str = "") -> None:
        super().__init__()
        if name:
            self.setObjectName(name)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setStyleSheet(STYLE)
        self.setProperty("dark", theme.current().dark)
        self.hide()

    def changeEvent(self, event: QEvent) -> None:
        """Follow the theme: the light or the dark problem colours."""
        super().changeEvent(event)
        changed = event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)
        if changed and self.property("dark") != theme.current().dark:
            self.setProperty("dark", theme.current().dark)
            self.style().unpolish(self)
            self.style().polish(self)

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



class MessageLine(ProblemLabel):
    """A page's status line: plain for news ("✓ Saved …"), the ProblemLabel look for a problem, so every page shows
    its errors in the same colour and style while `text()` still says what happened last."""

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self.setStyleSheet("")
        self.show()

    def setText(self, text: str) -> None:
        """News that is not a problem, in the page's normal text style."""
        self.setStyleSheet("")
        super().setText(text)

    def show_error(self, error: WorkbenchError | str | None) -> None:
        """A problem, in the shared problem style; nothing (or '') clears the line."""
        if error is None or error == "":
            self.setText("")
            return
        super().setText(problem_html(error) if isinstance(error, WorkbenchError) else error)
        self.setStyleSheet(STYLE)

    def clear_error(self) -> None:
        """Back to an empty, plain line (the line stays, so the layout does not jump)."""
        self.setText("")

    @property
    def shows_problem(self) -> bool:
        """True while the line shows a problem."""
        return self.styleSheet() == STYLE and bool(self.text())
