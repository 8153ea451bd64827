"""A notice that takes one line: its summary and a "details" link (the full text in a tooltip and a dialog), so a
lasting condition such as "no system keyring" informs without leading the page."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

from workbench.errors import WorkbenchError
from workbench.ui.dialogs.problem_dialog import problem_html


class NoticeLine(QLabel):
    """'⚠ summary — details': hidden until `show_notice`; the link opens the full text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notice_line")
        self.setWordWrap(False)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.linkActivated.connect(lambda _link: self.show_details())
        self.error: WorkbenchError | None = None
        self.dialog: QMessageBox | None = None
        self.hide()

    def show_notice(self, error: WorkbenchError) -> None:
        """Show the notice's summary on one line; its causes wait behind the link."""
        self.error = error
        summary = error.summary.split(";")[0].replace("&", "&amp;").replace("<", "&lt;")  # its first clause
        self.setText(f"⚠ {summary} — <a href='details'>details</a>")
        self.setToolTip(problem_html(error))
        self.show()

    def show_details(self) -> QMessageBox | None:
        """The full text in a dialog (non-modal, so the page stays usable)."""
        if self.error is None:
            return None
        self.dialog = QMessageBox(QMessageBox.Icon.Information, "Details", problem_html(self.error),
                                  QMessageBox.StandardButton.Ok, self)
        self.dialog.open()
        return self.dialog
