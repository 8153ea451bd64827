"""The Proof of Possession page: sign a platform's verification code exactly as
`openssl dgst -sha256 -sign key | openssl base64 -A` does, check it against the certificate, copy or upload it.

The code comes pasted or fetched from the local platform or a tenant; the key comes from the CA store (its password
from the secret store) or from a key file. The exact bytes signed are shown, so a stray newline is never a mystery. A
second tab makes the verification certificate (CN = code) that AWS- and Azure-style platforms ask for instead.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cryptography import x509
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench import paths
from workbench.core.files import read_input_file
from workbench.core.pki.keys import load_private_key
from workbench.core.pop import PopSignature, code_from_text, sign_code, verify_code
from workbench.core.profiles.secrets import SecretStore
from workbench.errors import WorkbenchError
from workbench.services import certificates, pop
from workbench.services.ca_passwords import CAPasswords, typed_or_stored
from workbench.services.local_platform import LocalPlatformInfo
from workbench.ui.errors import run_action, spawn
from workbench.ui.platform_target import PlatformTarget
from workbench.ui.pop.verification_tab import VerificationCertificateTab
from workbench.ui.widgets.fit import scroll_layout
from workbench.ui.widgets.problem_label import MessageLine


class PopPage(QWidget):
    """Code, key, signature, check, upload."""

    def __init__(self, workspace: Path | None = None, secrets: SecretStore | None = None) -> None:
        super().__init__()
        self.workspace = workspace or paths.default_workspace()
        self.secrets = secrets or SecretStore()
        self.signature: PopSignature | None = None
        self.certificate: x509.Certificate | None = None
        outer = scroll_layout(self)  # scrolls rather than grow the window on a small screen
        self.tabs = QTabWidget()
        outer.addWidget(self.tabs, 1)
        signing = QWidget()
        self.tabs.addTab(signing, "Sign the verification code (Cumulocity)")
        self.verification = VerificationCertificateTab(self.workspace, self.secrets)
        self.tabs.addTab(self.verification, "Verification certificate (AWS, Azure)")
        layout = QVBoxLayout(signing)
        self.target = PlatformTarget(self.secrets)
        self.target.changed.connect(self._on_target_changed)
        layout.addWidget(self.target)
        form = QFormLayout()
        self.ca = QComboBox()
        self.ca.setToolTip(f"A CA from the CA store; its key password is the stored one ({self.secrets.kept})")
        self.reload_cas()
        self.key_file = QLineEdit()
        self.key_file.setPlaceholderText("or a key file (PEM/DER) of the CA")
        self.key_password = QLineEdit()
        self.key_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_password.setPlaceholderText("key password (empty: the stored one)")
        self.code = QPlainTextEdit()
        self.code.setPlaceholderText("paste the verification code, or fetch it from the platform")
        self.code.setMaximumHeight(70)
        self.fetch_button = QPushButton("Fetch a new code")
        self.fetch_button.setToolTip("Ask the platform for a new verification code of the chosen CA")
        self.fetch_button.clicked.connect(lambda: self.fetch())
        code_row = QHBoxLayout()
        code_row.addWidget(self.code, 1)
        code_row.addWidget(self.fetch_button)
        form.addRow("CA", self.ca)
        form.addRow("", self.key_file)
        form.addRow("", self.key_password)
        form.addRow("Verification code", code_row)
        layout.addLayout(form)
        row = QHBoxLayout()
        sign = QPushButton("Sign")
        sign.clicked.connect(self.sign)
        self.copy_button = QPushButton("Copy signature")
        self.copy_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(
            self.signature.signature_b64 if self.signature else ""))
        self.upload_button = QPushButton("Upload the signature")
        self.upload_button.clicked.connect(lambda: self.upload())
        for button in (sign, self.copy_button, self.upload_button):
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.result = QPlainTextEdit()
        self.result.setReadOnly(True)
        layout.addWidget(self.result, 1)
        self.state = MessageLine("pop_state")  # problems in the shared ProblemLabel style
        layout.addWidget(self.state)
        self.copy_button.setEnabled(False)
        self.upload_button.setEnabled(False)
        self.ca.currentIndexChanged.connect(lambda _index: self.forget_signature())

    def reload_cas(self) -> None:
        """The CAs of the store, newest last."""
        self.ca.clear()
        self.ca.addItem("(key file below)", None)
        try:
            for name in certificates.ca_names(self.workspace):
                self.ca.addItem(name, name)
        except WorkbenchError:
            pass  # no store yet: the key file is the way
        self.verification.reload_cas()

    def set_local_platform(self, info: LocalPlatformInfo) -> None:
        """Fetch and upload go to this platform (unless a tenant is chosen)."""
        self.target.set_local_platform(info)

    def _on_target_changed(self) -> None:
        where = self.target.describe()
        self.fetch_button.setToolTip(f"Ask {where} for a new verification code of the chosen CA")
        self.upload_button.setToolTip(f"Send the signature to {where}")
        self.upload_button.setEnabled(self.signature is not None and self.certificate is not None)

    # --- signing -------------------------------------------------------------------------------------------
    def sign(self) -> PopSignature | None:
        """Sign the code's exact bytes and check the signature against the CA certificate."""
        code = run_action(self, lambda: code_from_text(self.code.toPlainText()), self._show_state_problem)
        if code is None:
            return None
        signed = run_action(self, lambda: self._sign(code), self._show_state_problem)
        if signed is None:
            return None
        signature, self.certificate = signed
        self.signature = signature
        ok = self.certificate is None or verify_code(self.certificate, code, signature.signature_b64)
        check = ("✓ verifies against the CA certificate" if self.certificate is not None and ok else
                 "✗ does NOT verify against the CA certificate: wrong key?" if self.certificate is not None else
                 "(no certificate to check against: key file only)")
        self.result.setPlainText(f"Signature (base64, one line, as openssl base64 -A):\n{signature.signature_b64}\n\n"
                                 f"Signed with: {signature.key_description}\n"
                                 f"Bytes signed ({len(code)}): {signature.signed_bytes_hex}\n{check}")
        self.copy_button.setEnabled(True)
        self.upload_button.setEnabled(self.certificate is not None)
        self.state.setText("")
        return signature

    def _sign(self, code: bytes) -> tuple[PopSignature, x509.Certificate | None]:
        name = self.ca.currentData()
        typed = self.key_password.text()
        if name:
            return pop.sign_with_ca(self.workspace, name, code, CAPasswords(
                lambda ca: typed_or_stored(ca, typed, self.secrets)))
        path = self.key_file.text().strip()
        if not path:
            raise WorkbenchError("Choose a CA from the store or a key file", ())
        return sign_code(load_private_key(read_input_file(path, "key file"), typed.encode() or None), code), None

    # --- the platform --------------------------------------------------------------------------------------
    def fetch(self) -> asyncio.Task[None]:
        """A new verification code for the chosen CA from the local platform or the tenant."""
        return spawn(self, self._fetch(), self._fetched, self._fetch_failed)

    def upload(self) -> asyncio.Task[None]:
        """Upload the signature and show the state the platform reports (Incomplete → Complete)."""
        return spawn(self, self._upload(), self._uploaded, self._show_state_problem)

    def _fingerprint(self) -> str:
        name = self.ca.currentData()
        if not name:
            raise WorkbenchError("Choose a CA from the store to fetch or upload", ())
        return pop.ca_fingerprint(self.workspace, name)

    def _show_state_problem(self, exc: WorkbenchError) -> None:
        self.state.show_error(exc)

    async def _fetch(self) -> Any:
        async with self.target.http() as http:
            return await pop.fetch_code(http, self._fingerprint())

    def forget_signature(self) -> None:
        """The code or the CA changed: an earlier signature belongs to neither, so it cannot be copied or uploaded."""
        self.signature = None
        self.certificate = None
        self.result.clear()
        self.copy_button.setEnabled(False)
        self.upload_button.setEnabled(False)

    def _fetch_failed(self, exc: WorkbenchError) -> None:
        """No new code: the previous one (maybe another CA's) must not stay to be signed with the wrong key."""
        self.code.clear()
        self.forget_signature()
        if "(HTTP 404)" in exc.summary:
            name = self.ca.currentText()
            exc = WorkbenchError(f"The platform does not know the CA '{name}' (HTTP 404): upload the CA first",
                                 (f"Upload '{name}' as a trusted certificate (Local Platform page or Onboarding), "
                                  "then fetch a new code.", *exc.causes))
        self._show_state_problem(exc)

    def _fetched(self, cert: Any) -> None:
        self.target.remember()
        self.code.setPlainText(cert.pop_code or "")
        self.forget_signature()
        if str(cert.pop_state).lower() == "complete":
            self.state.setText("Proof of possession: Complete (this CA is already proven). A new code was fetched: "
                               "sign and upload it only to prove it again.")
        else:
            self.state.setText(f"Proof of possession: {cert.pop_state}. A new code was fetched: sign it, then "
                               "upload the signature.")

    async def _upload(self) -> Any:
        if self.signature is None:
            return None
        async with self.target.http() as http:
            return await pop.upload_signature(http, self._fingerprint(), self.signature.signature_b64)

    def _uploaded(self, cert: Any) -> None:
        if cert is None:
            return
        self.target.remember()
        self.state.setText(f"Proof of possession: {cert.pop_state}")
