"""A path field with a browse button, for every dialog that asks for a certificate, key or keystore file."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QToolButton, QWidget


def file_field(parent: QWidget, value: str = "", what: str = "file") -> tuple[QWidget, QLineEdit]:
    """The row to put in a form, and its line edit (the chosen path, or what was typed)."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    edit = QLineEdit(value)
    browse = QToolButton()
    browse.setText("…")
    browse.setToolTip(f"Choose the {what}")
    browse.clicked.connect(lambda: edit.setText(QFileDialog.getOpenFileName(parent, f"Choose the {what}")[0]
                                                or edit.text()))
    layout.addWidget(edit, 1)
    layout.addWidget(browse)
    return row, edit
