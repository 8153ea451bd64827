"""The toolbar pieces the Certificates and Keystores pages share: compact buttons, drop-down menus, a password
prompt; one look for every page's actions."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QInputDialog, QLineEdit, QMenu, QToolButton, QWidget


def action_button(text: str, slot: Callable[[], object], tip: str = "") -> QToolButton:
    """A compact text button that calls `slot` (without Qt's `checked` argument)."""
    button = QToolButton()
    button.setText(text)
    if tip:
        button.setToolTip(tip)
    button.clicked.connect(lambda _=False: slot())
    return button


def menu_button(text: str, actions: list[tuple[str, Callable[..., object]]], tip: str = "") -> QToolButton:
    """A button that opens a menu of (label, slot) actions at once."""
    button = QToolButton()
    button.setText(text + " ")
    if tip:
        button.setToolTip(tip)
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    menu = QMenu(button)
    for label, slot in actions:
        menu.addAction(label).triggered.connect(slot)
    button.setMenu(menu)
    return button


def ask_password(parent: QWidget, label: str) -> str | None:
    """A password prompt (None when cancelled)."""
    text, ok = QInputDialog.getText(parent, "Password", label, QLineEdit.EchoMode.Password)
    return text if ok else None
