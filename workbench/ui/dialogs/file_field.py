"""A path field with a browse button, for every dialog that asks for a certificate, key or keystore file."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QToolButton, QWidget


def file_field(parent: QWidget, value: str = "", what: str = "file", *, directory: bool = False,
               filters: str = "", save: bool = False) -> tuple[QWidget, QLineEdit]:
    """The row to put in a form, and its line edit (the chosen path, or what was typed); a folder with `directory`,
    a file to write with `save`."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    edit = QLineEdit(value)
    browse = QToolButton()
    browse.setText("…")
    browse.setToolTip(f"Choose the {what}")

    def choose() -> None:
        title = f"Choose the {what}"
        if directory:
            chosen = QFileDialog.getExistingDirectory(parent, title, edit.text())
        else:
            pick = QFileDialog.getSaveFileName if save else QFileDialog.getOpenFileName
            chosen = pick(parent, title, edit.text(), filters)[0]
        edit.setText(chosen or edit.text())

    browse.clicked.connect(choose)
    layout.addWidget(edit, 1)
    layout.addWidget(browse)
    return row, edit
