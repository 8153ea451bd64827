"""Small building blocks the wizard pages share: explained form rows, password pairs, folder and file fields."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from workbench.errors import WorkbenchError
from workbench.ui.dialogs.file_field import file_field as shared_file_field
from workbench.ui.widgets.problem_label import ProblemLabel

HELP_STYLE = "color: palette(placeholder-text); font-size: 9pt;"
LABEL_WIDTH = 180  # every wizard page's label column: the fields start at the same x from page to page


def form_label(text: str) -> QLabel:
    """A row label of the shared width (long labels wrap rather than widen their page's column)."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setFixedWidth(LABEL_WIDTH)
    return label


def help_label(text: str) -> QLabel:
    """A muted one-sentence explanation under a field."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(HELP_STYLE)
    return label


def problem_label(name: str) -> ProblemLabel:
    """A label for live validation messages; empty and hidden until there is a problem."""
    return ProblemLabel(name)


def show_problem(label: ProblemLabel, error: WorkbenchError | str | None) -> None:
    """Show an error (as problem_html, never a traceback) or hide the label when there is none."""
    label.show_error(error)


def explained_row(form: QFormLayout, label: str, field: QWidget | QHBoxLayout, help_text: str,
                  name: str = "") -> QVBoxLayout:
    """A form row whose field carries the guide's sentence as tooltip and as a help line beneath it.

    Returns the row's layout, for pages that add more beneath the help line.
    """
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 4)
    layout.setSpacing(2)
    if isinstance(field, QWidget):
        field.setToolTip(help_text)
        if name:
            field.setObjectName(name)
        layout.addWidget(field)
    else:
        layout.addLayout(field)
    layout.addWidget(help_label(help_text))
    form.addRow(form_label(label), box)
    return layout


def page_form(page: QWidget) -> QFormLayout:
    """A form at the top of a page, with the spare height below it (rows keep their natural height)."""
    outer = QVBoxLayout(page)
    form = QFormLayout()
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    outer.addLayout(form)
    outer.addStretch(1)
    return form


def password_edit(name: str, placeholder: str = "") -> QLineEdit:
    """A masked line edit."""
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setPlaceholderText(placeholder)
    return edit


class PasswordPair(QWidget):
    """Password, confirmation and an explicit 'unencrypted' opt-out, with a live mismatch message."""

    def __init__(self, prefix: str, plaintext_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.password = password_edit(f"{prefix}_password", "password")
        self.confirm = password_edit(f"{prefix}_confirm", "the same password again")
        self.plaintext = QCheckBox("No password: write the key unencrypted")
        self.plaintext.setObjectName(f"{prefix}_plaintext")
        self.plaintext.setToolTip(plaintext_text)
        self.problem = problem_label(f"{prefix}_problem")
        for widget in (self.password, self.confirm, self.plaintext, self.problem):
            layout.addWidget(widget)
        for edit in (self.password, self.confirm):
            edit.textChanged.connect(self._check)
        self.plaintext.toggled.connect(self._check)

    def value(self) -> bytes | None:
        """The password, or None for an unencrypted key."""
        return self.password.text().encode() or None

    def problem_text(self) -> str:
        """Why the pair is not usable yet ('' when it is)."""
        if self.plaintext.isChecked():
            return "" if not self.password.text() else "Clear the password, or untick 'No password'."
        if not self.password.text():
            return "Choose a password (or tick 'No password')."
        if self.password.text() != self.confirm.text():
            return "The two passwords differ."
        return ""

    def _check(self) -> None:
        for edit in (self.password, self.confirm):
            edit.setEnabled(not self.plaintext.isChecked())
        problem = self.problem_text()
        # An empty form is not an error yet; a mismatch or a contradiction is.
        show_problem(self.problem, problem if self.password.text() or self.confirm.text() else "")


def folder_field(parent: QWidget, name: str, title: str) -> tuple[QHBoxLayout, QLineEdit]:
    """A folder path with a browse button, as a layout pages can add widgets to."""
    return _row(*shared_file_field(parent, "", title, directory=True), name)


def file_field(parent: QWidget, name: str, title: str, filters: str = "All files (*)",
               save: bool = False) -> tuple[QHBoxLayout, QLineEdit]:
    """A file path with a browse button (open or save), as a layout pages can add widgets to."""
    return _row(*shared_file_field(parent, "", title, filters=filters, save=save), name)


def _row(field: QWidget, edit: QLineEdit, name: str) -> tuple[QHBoxLayout, QLineEdit]:
    edit.setObjectName(name)
    row = QHBoxLayout()
    row.addWidget(field, 1)
    return row, edit
