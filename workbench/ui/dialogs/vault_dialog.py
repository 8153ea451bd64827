"""The passphrase of the encrypted secret vault on a machine without a system keyring: create the vault (passphrase
twice), unlock it, or keep passwords for this session only (said plainly on the button). It is asked when a secret is
first needed, not at start-up, so a first-time user meets the window and its welcome first; the question always
opens on the GUI thread, also when the secret is needed by a job on a worker thread."""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QMessageBox, QWidget

from workbench.core.profiles.secrets import SecretStore, VaultPrompt, VaultRequest
from workbench.core.vault import MIN_PASSPHRASE
from workbench.errors import WorkbenchError

SESSION_ONLY_BUTTON = "Keep passwords for this session only"


class VaultPassphraseDialog(QDialog):
    """Create (twice) or unlock the vault; Reject means "keep passwords for this session only"."""

    def __init__(self, request: VaultRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.request = request
        self.setWindowTitle("Create a password vault" if request.creating else "Unlock the password vault")
        form = QFormLayout(self)
        if request.creating:
            text = (f"No system keyring is available on this machine. Choose a passphrase to keep the workbench's "
                    f"passwords in an encrypted vault ({request.path}). Without one, passwords are kept for this "
                    f"session only.")
        else:
            text = (f"The workbench's passwords are kept in the encrypted vault {request.path}. Type its passphrase to "
                    f"unlock it for this session.")
        intro = QLabel(text)
        intro.setWordWrap(True)
        form.addRow(intro)
        self.error = QLabel(request.error)
        self.error.setObjectName("vault_error")
        self.error.setVisible(bool(request.error))
        form.addRow(self.error)
        self.passphrase = QLineEdit()
        self.passphrase.setObjectName("vault_passphrase")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Passphrase", self.passphrase)
        self.repeat = QLineEdit()
        self.repeat.setObjectName("vault_repeat")
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        if request.creating:
            form.addRow("Repeat", self.repeat)
            self.passphrase.setPlaceholderText(f"at least {MIN_PASSPHRASE} characters")
        self.buttons = QDialogButtonBox()
        self.ok = self.buttons.addButton("Create vault" if request.creating else "Unlock",
                                         QDialogButtonBox.ButtonRole.AcceptRole)
        self.session_only = self.buttons.addButton(SESSION_ONLY_BUTTON, QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.passphrase.textChanged.connect(self._update)
        self.repeat.textChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        text = self.passphrase.text()
        if self.request.creating:
            self.ok.setEnabled(len(text) >= MIN_PASSPHRASE and self.repeat.text() == text)
        else:
            self.ok.setEnabled(bool(text))

    def value(self) -> str:
        """The passphrase typed."""
        return self.passphrase.text()


def qt_vault_prompt(parent: Callable[[], QWidget | None]) -> VaultPrompt:
    """The secret store's passphrase question as a modal dialog (None: the user chose session only)."""

    def ask(request: VaultRequest) -> str | None:
        dialog = VaultPassphraseDialog(request, parent())
        return dialog.value() if dialog.exec() == QDialog.DialogCode.Accepted else None

    return ask


class _Relay(QObject):
    """Lives on the GUI thread; a worker's question arrives through a queued signal and is answered there."""

    asked = Signal(object)

    def __init__(self, ask: VaultPrompt) -> None:
        super().__init__()
        self._ask = ask
        self.asked.connect(self._on_asked, Qt.ConnectionType.QueuedConnection)

    def _on_asked(self, job: _Question) -> None:
        try:
            job.answer = self._ask(job.request)
        finally:
            job.done.set()


class _Question:
    """One question from a worker thread, and its answer."""

    def __init__(self, request: VaultRequest) -> None:
        self.request = request
        self.answer: str | None = None
        self.done = threading.Event()


def on_gui_thread(ask: VaultPrompt) -> VaultPrompt:
    """`ask` runs on the GUI thread whoever calls: directly there, else the calling worker waits for the answer (a
    modal dialog opened from a worker thread would crash Qt). Create it on the GUI thread. A worker whose question
    cannot be answered because the app is closing gets None (session only)."""
    relay = _Relay(ask)
    gui_thread = relay.thread()

    def ask_anywhere(request: VaultRequest) -> str | None:
        if QThread.currentThread() is gui_thread:
            return ask(request)
        question = _Question(request)
        relay.asked.emit(question)
        while not question.done.wait(0.5):
            app = QCoreApplication.instance()
            if app is None or app.closingDown():
                return None
        return question.answer

    ask_anywhere.relay = relay  # type: ignore[attr-defined]  # kept alive as long as the prompt
    return ask_anywhere


def install_vault_prompt(parent: Callable[[], QWidget | None] = lambda: None,
                         prompt: VaultPrompt | None = None) -> SecretStore:
    """Prepare the session's secret store without asking anything yet: with no system keyring, the vault passphrase
    is asked (on the GUI thread) when a secret is first needed; pages read where secrets go without asking."""
    store = SecretStore()
    store.session.set_vault_prompt(on_gui_thread(prompt or qt_vault_prompt(parent)))
    return store


def open_secret_store(parent: QWidget | None = None, prompt: VaultPrompt | None = None) -> SecretStore:
    """Decide the session's secret store now (and ask, when there is no keyring): the keyring when there is one,
    else the vault after the dialog, else this session only (also when the vault cannot be opened, which is said)."""
    store = install_vault_prompt(lambda: parent, prompt)
    try:
        store.kind  # noqa: B018 - the first look decides (and asks)
    except WorkbenchError as exc:
        store.session.decline(exc.summary)
        QMessageBox.warning(parent, "Password vault", f"{exc}\n\nPasswords are kept for this session only.")
    return store
