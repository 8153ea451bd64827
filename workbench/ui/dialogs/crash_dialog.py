"""The dialog for unexpected errors (bugs): apologise, and give details the user can copy into a report."""

from __future__ import annotations

import platform
import sys

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from workbench import __version__


def crash_report(details: str) -> str:
    """What a bug report needs: versions and the traceback."""
    return (f"Device Onboarding Workbench {__version__}\nPython {sys.version.split()[0]} on "
            f"{platform.platform()}\n\n{details}")


class CrashDialog(QDialog):
    """Shown for exceptions that are not WorkbenchErrors; the app keeps running."""

    def __init__(self, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Unexpected error")
        self.resize(640, 420)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Something went wrong inside the Workbench.</b><br>"
                                "Your files are unchanged. Please copy the details below into a bug report."))
        self.details = QPlainTextEdit(crash_report(details))
        self.details.setReadOnly(True)
        layout.addWidget(self.details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = QPushButton("Copy details")
        copy.clicked.connect(self._on_copy_clicked)
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _on_copy_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.details.toPlainText())
