"""Undo and redo for the keystore editor: the Keystore model is immutable, so an edit is the state before and the
state after (store and password); undo puts the old one back, nothing is recomputed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QUndoCommand

from workbench.core.keystore.model import Keystore


@dataclass(frozen=True)
class EditorState:
    """What an edit changes: the entries, the store password, and the file (a conversion writes a new one)."""

    store: Keystore
    password: bytes
    path: Path | None


class StoreEdit(QUndoCommand):
    """One action: its name in the Edit menu, and its keytool equivalent for the page."""

    def __init__(self, text: str, before: EditorState, after: EditorState, keytool: str,
                 apply: Callable[[EditorState, str], None]) -> None:
        super().__init__(text)
        self.before, self.after, self.keytool, self._apply = before, after, keytool, apply

    def redo(self) -> None:
        """Do (or do again)."""
        self._apply(self.after, self.keytool)

    def undo(self) -> None:
        """Put the previous state back."""
        self._apply(self.before, f"# undo: {self.text()}")
