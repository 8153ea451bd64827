"""The wizard pages about who signs and what the new key is: signing CA, subject name, key type, validity, pathlen."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QSpinBox, QWizardPage

from workbench.core.pki.keys import DEFAULT_KEY_SPEC, KeySpec
from workbench.core.pki.names import SubjectFields
from workbench.core.pki.profiles import DEFAULT_VALIDITY_DAYS, ProfileKind
from workbench.core.profiles.secrets import SecretStore
from workbench.errors import WorkbenchError
from workbench.services import certificates
from workbench.services.ca_passwords import CAPasswords, stored_ca_password, typed_or_stored
from workbench.ui.errors import run_action

from . import guide_texts
from .form_kit import PasswordPair, explained_row, help_label, page_form, password_edit, problem_label, show_problem

KIND_PROFILE = {"root": ProfileKind.ROOT_CA, "intermediate": ProfileKind.INTERMEDIATE_CA, "device": ProfileKind.DEVICE,
                "server": ProfileKind.SERVER, "csr": ProfileKind.DEVICE}
FIELD_NAMES = {"common_name": "cn", "organization": "o", "organizational_unit": "ou", "country": "c",
               "state": "st", "locality": "l", "email": "email"}


class IssuerPage(QWizardPage):
    """Pick the signing CA from the store; its password comes from the secret store or is typed, checked on Next."""

    def __init__(self, workspace: Path) -> None:
        super().__init__()
        self.workspace = workspace
        self.setTitle("Signing CA")
        self.setSubTitle("The CA from your store that signs the new certificate.")
        form = page_form(self)
        self.parent_ca = QComboBox()
        try:
            names = certificates.ca_names(workspace)
        except WorkbenchError:
            names = []
        for name in names:
            self.parent_ca.addItem(name, name)
        explained_row(form, "Signing CA", self.parent_ca, guide_texts.PARENT_CA, "parent_ca")
        self.parent_password = password_edit("parent_password")
        explained_row(form, "CA key password", self.parent_password, guide_texts.PARENT_PASSWORD)
        self.keyring_state = QLabel()
        self.keyring_state.setObjectName("keyring_state")
        form.addRow("", self.keyring_state)
        self.problem = problem_label("issuer_problem")
        form.addRow("", self.problem)
        if not names:
            show_problem(self.problem, "There is no CA in this workspace yet: create a root CA first.")
        self.parent_ca.currentIndexChanged.connect(self._on_ca)
        self._on_ca()

    def choose(self, name: str) -> bool:
        """Make this CA the signing CA (the wizard opens on the CA selected in the Certificates tree)."""
        index = self.parent_ca.findData(name)
        if index >= 0:
            self.parent_ca.setCurrentIndex(index)
        return index >= 0

    def ca_name(self) -> str:
        """The chosen CA's name in the store."""
        return str(self.parent_ca.currentData() or "")

    def password(self) -> bytes | None:
        """The typed password, else the stored one."""
        return typed_or_stored(self.ca_name(), self.parent_password.text())

    def _on_ca(self) -> None:
        name = self.ca_name()
        stored = bool(name) and stored_ca_password(name) is not None
        kept = SecretStore().kept
        self.parent_password.setPlaceholderText(f"stored: {kept} (type to override)" if stored else
                                                "the password of the CA key")
        self.keyring_state.setText(f"✓ The password is stored ({kept})." if stored else
                                   f"Not stored: type it (it is then {kept})." if name else "")
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        """A CA must be chosen."""
        return bool(self.ca_name())

    def validatePage(self) -> bool:
        """Unlock the CA key now, so a wrong password is reported here and not after the key generation."""
        if run_action(self, lambda: certificates.unlock(self.workspace, self.ca_name(),
                                                        CAPasswords.given(self.password())), self.problem) is None:
            return False
        show_problem(self.problem, None)
        return True


class SubjectPage(QWizardPage):
    """The guide's req_distinguished_name fields for a CA, each with the guide's description."""

    def __init__(self, workspace: Path, kind: str) -> None:
        super().__init__()
        self.workspace = workspace
        self.setTitle("Subject name" if kind == "root" else "Intermediate CA subject")
        self.setSubTitle("Who the CA is. Only the common name is required; the other fields are optional.")
        form = page_form(self)
        self.fields: dict[str, QLineEdit] = {}
        for attr, label, description in guide_texts.SUBJECT_FIELDS:
            edit = QLineEdit()
            self.fields[attr] = edit
            explained_row(form, label, edit, description, FIELD_NAMES[attr])
            edit.textChanged.connect(self._check)
        self.fields["country"].setMaxLength(2)
        self.fields["country"].setPlaceholderText("e.g. PL")
        self.problem = problem_label("subject_problem")
        form.addRow("", self.problem)
        try:
            self._taken = set(certificates.ca_names(workspace))
        except WorkbenchError:
            self._taken = set()

    def subject_fields(self) -> SubjectFields:
        """The typed fields."""
        return SubjectFields(**{attr: edit.text() for attr, edit in self.fields.items()})

    def subject(self) -> x509.Name:
        """The x509 name to write."""
        return self.subject_fields().to_name()

    def _problem(self) -> str | WorkbenchError | None:
        cn = self.fields["common_name"].text().strip()
        if not cn:
            return None
        if cn in self._taken:
            return f"A CA named '{cn}' is already in this workspace: choose another common name."
        country = self.fields["country"].text().strip()
        if country and len(country) != 2:
            return "The country is a 2-letter code, e.g. PL."
        try:
            self.subject()
        except WorkbenchError as exc:
            return exc
        return None

    def _check(self) -> None:
        show_problem(self.problem, self._problem())
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        """A common name and no problem."""
        return bool(self.fields["common_name"].text().strip()) and self._problem() is None

    def validatePage(self) -> bool:
        """Next only when complete (wizard.next() does not check isComplete by itself)."""
        self._check()
        return self.isComplete()


class KeyPage(QWizardPage):
    """Key type and size, validity, pathlen for CAs, and the key password with its confirmation."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.is_ca = kind in ("root", "intermediate")
        self.setTitle("Key and validity")
        self.setSubTitle("The new private key, how long the certificate is valid, and how the key is protected.")
        form = page_form(self)
        self.key_type = QComboBox()
        for spec, label, _ in guide_texts.KEY_CHOICES:
            self.key_type.addItem(label, spec)
        self.key_type.setCurrentIndex(self.key_type.findData(DEFAULT_KEY_SPEC))
        row = explained_row(form, "Key type", self.key_type, guide_texts.KEY_TYPE, "key_type")
        self.key_help = help_label("")
        self.key_help.setObjectName("key_help")
        row.addWidget(self.key_help)
        self.key_type.currentIndexChanged.connect(self._on_key)
        self.validity = QSpinBox()
        self.validity.setRange(1, 36500)
        self.validity.setSuffix(" days")
        self.validity.setValue(DEFAULT_VALIDITY_DAYS[KIND_PROFILE[kind]])
        explained_row(form, "Validity", self.validity, guide_texts.VALIDITY[kind], "validity")
        self.pathlen = QSpinBox()
        self.pathlen.setRange(-1, 10)
        self.pathlen.setSpecialValueText("unlimited")
        self.pathlen.setValue(-1 if kind == "root" else 0)
        if self.is_ca:
            extra = guide_texts.PATHLEN_ROOT if kind == "root" else guide_texts.PATHLEN_INTERMEDIATE
            explained_row(form, "Path length (pathlen)", self.pathlen, f"{guide_texts.PATHLEN} {extra}", "pathlen")
        self.passwords = PasswordPair("key", guide_texts.PLAINTEXT)
        note = guide_texts.KEY_PASSWORD + (" " + guide_texts.CA_PASSWORD_KEYRING.format(kept=SecretStore().kept)
                                           if self.is_ca else "")
        explained_row(form, "CA key password" if self.is_ca else "Key password", self.passwords, note)
        for edit in (self.passwords.password, self.passwords.confirm):
            edit.textChanged.connect(self.completeChanged)
        self.passwords.plaintext.toggled.connect(self.completeChanged)
        self._on_key()

    def key_spec(self) -> KeySpec:
        """The chosen key type."""
        return self.key_type.currentData()

    def path_length(self) -> int | None:
        """None means unlimited."""
        return None if self.pathlen.value() < 0 else self.pathlen.value()

    def _on_key(self) -> None:
        self.key_help.setText(guide_texts.key_help(self.key_spec()))

    def isComplete(self) -> bool:
        """The passwords match, or the key is explicitly unencrypted."""
        return not self.passwords.problem_text()

    def validatePage(self) -> bool:
        """Show what is missing instead of silently staying."""
        problem = self.passwords.problem_text()
        show_problem(self.passwords.problem, problem)
        return not problem
