"""The passphrase of the encrypted secret vault, asked once at start-up on a machine without a system keyring: create
the vault (passphrase twice), unlock it, or keep passwords for this session only (said plainly on the button)."""

from __future__ import annotations

from collections.abc import Callable

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


def open_secret_store(parent: QWidget | None = None, prompt: VaultPrompt | None = None) -> SecretStore:
    """Decide the session's secret store before any page reads a secret: the keyring when there is one, else the
    vault after the dialog, else this session only (also when the vault cannot be opened, which is said)."""
    store = SecretStore()
    store.session.set_vault_prompt(prompt or qt_vault_prompt(lambda: parent))
    try:
        store.kind  # noqa: B018 - the first look decides (and asks)
    except WorkbenchError as exc:
        store.session.decline(exc.summary)
        QMessageBox.warning(parent, "Password vault", f"{exc}\n\nPasswords are kept for this session only.")
    return store
