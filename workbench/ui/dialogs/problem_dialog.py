"""Shows a WorkbenchError as a person reads it: what went wrong, then what to check. Never a traceback."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from workbench.errors import WorkbenchError


def problem_html(error: WorkbenchError) -> str:
    """The dialog's text, also used by status-bar tooltips and tests."""
    causes = "".join(f"<li>{_escape(c)}</li>" for c in error.causes)
    check = f"<p>Check:</p><ul>{causes}</ul>" if causes else ""
    return f"<p><b>{_escape(error.summary)}</b></p>{check}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class ProblemDialog(QDialog):
    """A modal dialog for a problem the user can act on (KSE's DProblem)."""

    def __init__(self, error: WorkbenchError, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Problem")
        self.error = error
        layout = QVBoxLayout(self)
        self.message = QLabel(problem_html(error))
        self.message.setWordWrap(True)
        self.message.setMinimumWidth(420)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
