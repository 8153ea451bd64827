"""The Keystores page: open a PKCS#12, JKS or PEM store (or drop it here), edit it with undo and redo, see the
keytool command of every action, and save atomically. The files work with keytool and openssl."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence, QShortcut, QUndoStack
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QPlainTextEdit, QPushButton, QWidget

from workbench import paths
from workbench.core.keystore import keytool_equivalents as kt
from workbench.core.keystore.model import Keystore, StoreKind
from workbench.core.keystore.operations import Change
from workbench.errors import KeystorePasswordError, WorkbenchError
from workbench.services import keystores
from workbench.services.local_platform import LocalPlatformInfo
from workbench.ui.errors import run_action
from workbench.ui.keystore_editor import table as entries
from workbench.ui.keystore_editor.actions import SUFFIX, StoreActions
from workbench.ui.keystore_editor.commands import EditorState, StoreEdit
from workbench.ui.keystore_editor.entry_details import EntryDetailsDialog
from workbench.ui.keystore_editor.toolbar import KeystoreToolbar
from workbench.ui.widgets.fit import scroll_layout
from workbench.ui.widgets.problem_label import MessageLine


class KeystoresPage(StoreActions, QWidget):
    """The editor: a toolbar, the entry table, the keytool equivalent of the last action, and messages."""

    dirty_changed = Signal(bool)

    def __init__(self, workspace: Path | None = None) -> None:
        super().__init__()
        self.workspace = workspace or paths.default_workspace()
        self.state: EditorState | None = None
        self.server_ca: Path | None = None  # the local platform's, offered for device truststores
        self.setAcceptDrops(True)
        self.undo = QUndoStack(self)
        self.undo.cleanChanged.connect(self._on_clean_changed)
        layout = scroll_layout(self)  # scrolls rather than grow the window on a small screen
        layout.addWidget(QLabel("Open one, or drop it here; every change can be undone."))  # the header says the rest
        self.title = QLabel()
        self.title.setWordWrap(True)  # the folder wraps (and is the tooltip) instead of widening the window
        layout.addWidget(self.title)
        self.toolbar = KeystoreToolbar(self, self)
        layout.addWidget(self.toolbar)
        self.table = entries.entry_table()
        self.table.itemSelectionChanged.connect(self.toolbar.update_enabled)
        self.table.itemDoubleClicked.connect(lambda item: self.show_entry(item.data(Qt.ItemDataRole.UserRole)))
        self.entry_details: EntryDetailsDialog | None = None
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("keytool equivalent of the last action:"))
        row.addStretch(1)
        copy = QPushButton("Copy")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.keytool.toPlainText()))
        row.addWidget(copy)
        layout.addLayout(row)
        self.keytool: QPlainTextEdit = QPlainTextEdit(readOnly=True)
        self.keytool.setMaximumHeight(90)
        self.keytool.setPlaceholderText("Each action shows the keytool (or openssl) command that does the same; "
                                        "passwords come from $STOREPASS, $NEWPASS and $KEYPASS.")
        layout.addWidget(self.keytool)
        self.message = MessageLine("keystores_message")  # problems in the shared ProblemLabel style
        layout.addWidget(self.message)
        QShortcut(QKeySequence.StandardKey.Undo, self, self.undo.undo)
        QShortcut(QKeySequence.StandardKey.Redo, self, self.undo.redo)
        QShortcut(QKeySequence.StandardKey.Save, self, lambda: self.save())
        self._show_title()
        self.toolbar.update_enabled()

    # --- state ---------------------------------------------------------------------------------------------
    def _apply(self, state: EditorState, keytool: str) -> None:
        self.state = state
        entries.fill(self.table, state.store)
        self.keytool.setPlainText(keytool)
        self._show_title()
        self.toolbar.update_enabled()

    def _on_clean_changed(self, clean: bool) -> None:
        if shiboken6.isValid(self.title) and shiboken6.isValid(self.undo):  # also sent while being destroyed
            self._show_title()
            self.dirty_changed.emit(not clean)

    def _show_title(self) -> None:
        if self.state is None:
            self.title.setText("<i>No keystore open.</i>")
            return
        name = self.state.path.name if self.state.path else "(new, not saved yet)"
        star = " *" if self.has_unsaved_changes() else ""
        self.title.setText(f"<b>{name}{star}</b> · {self.state.store.kind.label} · "
                           f"{entries.count_entries(len(self.state.store))}"
                           + (f" · {self.state.path.parent}" if self.state.path else ""))
        self.title.setToolTip(str(self.state.path) if self.state.path else "")

    def _where(self) -> tuple[str | Path, StoreKind]:
        assert self.state is not None
        return self._where_for(self.state)

    def _edit(self, text: str, change: Change | None, keytool: str, *, password: bytes | None = None,
              path: Path | None = None) -> bool:
        """Push one undoable edit and say what the user should know."""
        assert self.state is not None
        store = change.store if change is not None else self.state.store
        after = EditorState(store, password if password is not None else self.state.password,
                            path if path is not None else self.state.path)
        self.undo.push(StoreEdit(text, self.state, after, keytool, self._apply))
        notes = " ".join(change.messages) if change is not None else ""
        self.say(f"✓ {text}. {notes}".strip() + " Save to write the file.")
        return True

    def has_unsaved_changes(self) -> bool:
        """True when there are edits since the last open or save."""
        return not self.undo.isClean()

    def say(self, text: str) -> None:
        """A line under the table."""
        self.message.setText(text)

    def problem(self, error: WorkbenchError) -> bool:
        """A problem in words; never a traceback."""
        self.message.show_error(error)
        return False

    def selected_alias(self) -> str | None:
        """The alias of the selected row."""
        return entries.selected_alias(self.table)

    def show_entry(self, alias: str | None = None) -> EntryDetailsDialog | None:
        """The entry's details (chain, every field, fingerprints), as on a double click in KeyStore Explorer."""
        alias = alias or self.selected_alias()
        entry = self.state.store.find(alias) if self.state is not None and alias else None
        if entry is None:
            return None
        self.entry_details = EntryDetailsDialog(entry, self)
        self.entry_details.open()
        return self.entry_details

    def set_local_platform(self, info: LocalPlatformInfo) -> None:
        """The local platform's server CA is the default for device truststores."""
        self.server_ca = info.server_ca

    # --- files ---------------------------------------------------------------------------------------------
    def new_store(self, kind: StoreKind) -> None:
        """An empty store of this type; Save asks where to write it."""
        if self.maybe_close():
            self._load(EditorState(Keystore(kind, ()), b"", None), f"New empty {kind.label} store")

    def _load(self, state: EditorState, message: str) -> None:
        self.undo.clear()
        self._apply(state, kt.list_entries(*self._where_for(state)))
        self.undo.setClean()
        self._show_title()
        self.say(message)

    @staticmethod
    def _where_for(state: EditorState) -> tuple[str | Path, StoreKind]:
        return state.path or f"new{SUFFIX.get(state.store.kind, '.p12')}", state.store.kind

    def open_file(self, path: str | Path, password: str | None = None) -> bool:
        """Open a keystore; without a password it is asked (again after a wrong one)."""
        if not self.maybe_close():
            return False

        def ask(label: str, _new: bool) -> bytes | None:
            typed = self.toolbar.ask_password(label)
            return typed.encode() if typed is not None else None

        def wrong(error: KeystorePasswordError) -> None:
            self.problem(error)

        request = keystores.OpenStore(Path(path), password.encode() if password is not None else None,
                                      ask_again=True)
        try:
            opened = keystores.open_store(request, ask, wrong)
        except WorkbenchError as exc:
            return self.problem(exc)
        if opened is None:
            return False
        self._load(EditorState(opened.store, opened.password, opened.path.resolve()),
                   f"Opened {opened.path.name}: {entries.count_entries(len(opened.store))}. "
                   + " ".join(opened.store.notes))
        return True

    def save(self, path: str | Path | None = None) -> bool:
        """Write atomically (a `.bak` of the previous file is kept); a new store asks where."""
        if self.state is None:
            return False
        target = Path(path) if path else self.state.path or self.toolbar.ask_save_path(self.state.store.kind)
        if target is None:
            return False
        request = keystores.SaveStore(target, self.state.store, self.state.password)
        if run_action(self, lambda: keystores.save_store(request), self.problem) is None:
            return False
        self.state = replace(self.state, path=target.resolve())
        self.undo.setClean()
        self._show_title()
        self.say(f"✓ Saved {target} (the previous file is kept as {target.name}.bak).")
        return True

    def maybe_close(self) -> bool:
        """True when it is fine to drop the open store: saved, discarded, or nothing to lose."""
        if self.state is None or not self.has_unsaved_changes():
            return True
        answer = self.toolbar.ask_unsaved()
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept a dropped file."""
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """Open the first dropped file."""
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_file(urls[0].toLocalFile())
            event.acceptProposedAction()

    # --- outputs (nothing in the store changes) ------------------------------------------------------------
    def export(self, alias: str, part: str, out: str | Path, key_password: str | None = None) -> bool:
        """An entry's certificate, chain or key as PEM (a key is encrypted unless no password is given)."""
        secret = key_password.encode() if key_password else None
        request = keystores.ExportEntry(alias, part, Path(out), secret, encrypt=secret is not None)
        if run_action(self, lambda: keystores.export_entry(self.state.store, request,  # type: ignore[union-attr]
                                                           keystores.never_ask), self.problem) is None:
            return False
        where = self._where()
        self.keytool.setPlainText(kt.export_key(*where, alias, out) if part == "key"
                                  else kt.export_certificate(*where, alias, out))
        self.say(f"✓ Wrote the {part} of '{alias}' to {out}.")
        return True

    def create_device_stores(self, alias: str, folder: str | Path, server_ca: str | Path, password: str,
                             kind: str = "pkcs12") -> tuple[Path, Path] | None:
        """The guide's deviceKeystore (devicekeyentry) and truststore (servercertificate) for this key entry."""
        request = keystores.DeviceStores(alias, Path(folder), Path(server_ca), password.encode(), kind)
        stores = run_action(self, lambda: keystores.write_device_stores(self.state.store, request),  # type: ignore[union-attr]
                            self.problem)
        if stores is None:
            return None
        keystore, truststore = stores
        self.keytool.setPlainText(kt.device_stores(keystore, truststore, StoreKind.parse(kind), server_ca))
        self.say(f"✓ Wrote {keystore.name} (devicekeyentry) and {truststore.name} (servercertificate) in {folder}.")
        return keystore, truststore
