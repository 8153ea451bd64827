"""The Keystores page's buttons and the prompts behind them; every button ends in one page method with plain values."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QInputDialog,
    QLineEdit,
    QMessageBox,
    QWidget,
)

from workbench.core.keystore.model import PrivateKeyEntry, StoreKind
from workbench.services import certificates
from workbench.ui.errors import run_action
from workbench.ui.widgets.buttons import action_button, ask_password, menu_button
from workbench.ui.widgets.fit import FlowLayout

from . import dialogs

if TYPE_CHECKING:
    import asyncio

    from PySide6.QtGui import QUndoStack

    from workbench.errors import WorkbenchError
    from workbench.ui.certificates.store_actions import PasswordPrompt

    from .commands import EditorState


class KeystoreEditing(Protocol):
    """The page's verbs the buttons end in, with plain values (the page composes the toolbar, never the reverse)."""

    state: EditorState | None
    workspace: Path
    server_ca: Path | None
    undo: QUndoStack

    def selected_alias(self) -> str | None: ...
    def new_store(self, kind: StoreKind) -> None: ...
    def open_file(self, path: str | Path, password: str | None = None) -> bool: ...
    def save(self, path: str | Path | None = None) -> bool: ...
    def add_key_pair_from_files(self, cert_path: str | Path, key_path: str | Path, key_password: str | None,
                                alias: str) -> bool: ...
    def add_ca_key_pair(self, ca_name: str, alias: str, prompt: PasswordPrompt) -> bool: ...
    def import_trusted(self, cert_path: str | Path, alias: str) -> bool: ...
    def fetch_trusted(self, host: str, port: int, server_name: str | None, alias: str) -> asyncio.Task[None]: ...
    def rename(self, alias: str, new_alias: str) -> bool: ...
    def delete(self, alias: str) -> bool: ...
    def change_store_password(self, new_password: str) -> bool: ...
    def change_key_password(self, alias: str, new_password: str | None) -> bool: ...
    def export(self, alias: str, part: str, out: str | Path, key_password: str | None = None) -> bool: ...
    def convert(self, kind: StoreKind) -> bool: ...
    def create_device_stores(self, alias: str, folder: str | Path, server_ca: str | Path, password: str,
                             kind: str = "pkcs12") -> tuple[Path, Path] | None: ...
    def problem(self, error: WorkbenchError) -> bool: ...
    def say(self, text: str) -> None: ...

STORE_FILES = "Keystores (*.p12 *.pkcs12 *.pfx *.jks *.jceks *.ks *.keystore *.pem);;All files (*)"


class KeystoreToolbar(QWidget):
    """Open/New/Save, Undo/Redo, and the entry actions (enabled by what is open and selected)."""

    def __init__(self, page: KeystoreEditing, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page = page
        row = FlowLayout(self)  # the buttons wrap onto a second line on a narrow window
        self.open = action_button("Open…", self._on_open)
        self.new = menu_button("New", [("PKCS#12 store", lambda: page.new_store(StoreKind.PKCS12)),
                                      ("JKS store", lambda: page.new_store(StoreKind.JKS))])
        self.save = action_button("Save", lambda: page.save())
        self.save_as = action_button("Save as…", self._on_save_as)
        self.undo = action_button("Undo", page.undo.undo)
        self.redo = action_button("Redo", page.undo.redo)
        page.undo.canUndoChanged.connect(self.undo.setEnabled)
        page.undo.canRedoChanged.connect(self.redo.setEnabled)
        page.undo.undoTextChanged.connect(lambda text: self.undo.setToolTip(f"Undo {text} (Ctrl+Z)"))
        page.undo.redoTextChanged.connect(lambda text: self.redo.setToolTip(f"Redo {text} (Ctrl+Shift+Z)"))
        self.add = menu_button("Add", [("Key pair from files…", self._on_add_pair),
                                      ("Key pair of a CA from the CA store…", self._on_add_ca),
                                      ("Trusted certificate from a file…", self._on_add_trusted),
                                      ("Trusted certificate from a server…", self._on_fetch)])
        self.rename = action_button("Rename…", self._on_rename)
        self.delete = action_button("Delete", self._on_delete)
        self.passwords = menu_button("Passwords", [("Store password…", self._on_store_password),
                                                  ("Key password (JKS)…", self._on_key_password)])
        self.export = menu_button("Export", [(f"{part.capitalize()}…", lambda _=False, p=part: self._on_export(p))
                                            for part in ("certificate", "chain", "key")])
        self.convert = menu_button("Convert", [("to PKCS#12", lambda: page.convert(StoreKind.PKCS12)),
                                              ("to JKS", lambda: page.convert(StoreKind.JKS))])
        self.device = action_button("Device keystore + truststore…", self._on_device)
        self.device.setToolTip("The guide's deviceKeystore and truststore for the selected key entry, in one step")
        for widget in (self.open, self.new, self.save, self.save_as, self.undo, self.redo, self.add, self.rename,
                       self.delete, self.passwords, self.export, self.convert, self.device):
            row.addWidget(widget)
        self.undo.setEnabled(False)
        self.redo.setEnabled(False)

    def update_enabled(self) -> None:
        """Store actions need an open store; entry actions a selected entry; key ones a key entry."""
        state = self.page.state
        alias = self.page.selected_alias()
        entry = state.store.find(alias) if state is not None and alias else None
        for widget in (self.save, self.save_as, self.add, self.passwords, self.convert):
            widget.setEnabled(state is not None)
        for widget in (self.rename, self.delete, self.export):
            widget.setEnabled(entry is not None)
        self.device.setEnabled(isinstance(entry, PrivateKeyEntry))

    # --- prompts -------------------------------------------------------------------------------------------
    def ask_password(self, label: str) -> str | None:
        """A password prompt (None when cancelled); tests replace it."""
        return ask_password(self, label)

    def ask_save_path(self, kind: StoreKind) -> Path | None:
        """Where a new store goes."""
        suffix = ".jks" if kind is StoreKind.JKS else ".p12"
        path, _ = QFileDialog.getSaveFileName(self, "Save the keystore", f"keystore{suffix}", STORE_FILES)
        return Path(path) if path else None

    def ask_unsaved(self) -> QMessageBox.StandardButton:
        """Save, Discard or Cancel for unsaved changes."""
        return QMessageBox.question(
            self, "Unsaved changes", "The keystore has changes that are not saved.",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)

    def _text(self, title: str, label: str, value: str = "") -> str | None:
        text, ok = QInputDialog.getText(self, title, label, QLineEdit.EchoMode.Normal, value)
        return text.strip() if ok and text.strip() else None

    # --- handlers ------------------------------------------------------------------------------------------
    def _on_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a keystore", "", STORE_FILES)
        if path:
            self.page.open_file(path)

    def _on_save_as(self) -> None:
        if self.page.state is not None and (path := self.ask_save_path(self.page.state.store.kind)):
            self.page.save(path)

    def _on_add_pair(self) -> None:
        form = dialogs.KeyPairFromFiles(self)
        if form.exec() == QDialog.DialogCode.Accepted:
            self.page.add_key_pair_from_files(form.cert.text(), form.key.text(), form.key_password.text() or None,
                                              form.alias.text().strip())

    def _on_add_ca(self) -> None:
        names = run_action(self, lambda: certificates.ca_names(self.page.workspace), self.page.problem)
        if names is None:
            return
        if not names:
            self.page.say("The CA store has no CA yet: create one on the Certificates page.")
            return
        name, ok = QInputDialog.getItem(self, "CA key pair", "CA:", names, 0, False)
        if ok and (alias := self._text("CA key pair", "Alias:", "cakeyentry")):
            self.page.add_ca_key_pair(name, alias, lambda ca: self.ask_password(f"Key password of the CA '{ca}'"))

    def _on_add_trusted(self) -> None:
        form = dialogs.TrustedFromFile(self)
        if form.exec() == QDialog.DialogCode.Accepted:
            self.page.import_trusted(form.file.text(), form.alias.text().strip())

    def _on_fetch(self) -> None:
        form = dialogs.FetchFromServer(self)
        if form.exec() == QDialog.DialogCode.Accepted:
            self.page.fetch_trusted(form.host.text().strip(), form.port.value(), form.server_name.text().strip(),
                                    form.alias.text().strip())

    def _on_rename(self) -> None:
        alias = self.page.selected_alias()
        if alias and (new := self._text("Rename", f"New alias for '{alias}':", alias)):
            self.page.rename(alias, new)

    def _on_delete(self) -> None:
        alias = self.page.selected_alias()
        if alias:
            self.page.delete(alias)  # undoable, so no confirmation

    def _on_store_password(self) -> None:
        if (new := self.ask_password("New store password (at least 6 characters)")) is not None:
            self.page.change_store_password(new)

    def _on_key_password(self) -> None:
        alias = self.page.selected_alias()
        if alias and (new := self.ask_password(f"New key password of '{alias}' (empty: the store password)")) \
                is not None:
            self.page.change_key_password(alias, new or None)

    def _on_export(self, part: str) -> None:
        alias = self.page.selected_alias()
        if not alias:
            return
        out, _ = QFileDialog.getSaveFileName(self, f"Export the {part}", f"{alias}-{part}.pem", "PEM (*.pem)")
        if not out:
            return
        password = self.ask_password("Password for the exported key (empty: unencrypted)") if part == "key" else ""
        if password is not None:
            self.page.export(alias, part, out, password or None)

    def _on_device(self) -> None:
        alias = self.page.selected_alias()
        form = dialogs.DeviceStores(alias or "", self.page.server_ca, self)
        if alias and form.exec() == QDialog.DialogCode.Accepted:
            self.page.create_device_stores(alias, form.folder.text(), form.server_ca.text(), form.password.text(),
                                           form.kind.currentData())
