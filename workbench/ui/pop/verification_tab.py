"""The verification-certificate tab: AWS IoT and Azure DPS prove CA possession with a certificate whose CN is the
platform's code, signed by the CA, instead of a signature; this makes one in a click and says where to upload it."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.core.files import write_atomic
from workbench.core.pki.chain import cert_label
from workbench.core.pki.issuance import Issuer
from workbench.core.pop import verification_certificate
from workbench.core.profiles.secrets import SecretStore
from workbench.errors import InvalidInputError, WorkbenchError
from workbench.services import certificates
from workbench.services.ca_passwords import CAPasswords, stored_ca_password
from workbench.ui.errors import run_action
from workbench.ui.widgets.problem_label import MessageLine

EXPLANATION = ("<p>AWS IoT (registration code) and Azure DPS (verification code) do not take a signature: they ask "
               "for a <b>verification certificate</b> whose common name is the code, signed by your CA. Only the "
               "holder of the CA key can make it, which is the proof. Its key is thrown away.</p>")


class VerificationCertificateTab(QWidget):
    """CA, code, validity → verificationCert.pem, with the openssl equivalent."""

    def __init__(self, workspace: Path, secrets: SecretStore | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.secrets = secrets or SecretStore()
        self.certificate: x509.Certificate | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(EXPLANATION)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.ca = QComboBox()
        self.ca_password = QLineEdit()
        self.ca_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.ca_password.setPlaceholderText("CA key password (empty: the stored one)")
        self.code = QLineEdit()
        self.code.setPlaceholderText("the registration or verification code (at most 64 characters)")
        self.days = QSpinBox()
        self.days.setRange(1, 365)
        self.days.setValue(30)
        self.days.setSuffix(" days")
        self.days.setToolTip("The platform checks it once; a short validity is enough")
        form.addRow("CA", self.ca)
        form.addRow("", self.ca_password)
        form.addRow("Code", self.code)
        form.addRow("Validity", self.days)
        layout.addLayout(form)
        row = QHBoxLayout()
        create = QPushButton("Create")
        create.clicked.connect(lambda: self.create())
        self.save_button = QPushButton("Save as…")
        self.save_button.clicked.connect(self._on_save)
        self.copy_button = QPushButton("Copy PEM")
        self.copy_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.pem()))
        for button in (create, self.save_button, self.copy_button):
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.result = QPlainTextEdit(readOnly=True)
        self.result.setPlaceholderText("The certificate and the openssl commands it replaces appear here.")
        layout.addWidget(self.result, 1)
        self.state = MessageLine("verification_state")  # problems in the shared ProblemLabel style
        layout.addWidget(self.state)
        self.save_button.setEnabled(False)
        self.copy_button.setEnabled(False)
        self.reload_cas()

    def reload_cas(self) -> None:
        """The store's CAs."""
        self.ca.clear()
        try:
            for name in certificates.ca_names(self.workspace):
                self.ca.addItem(name, name)
        except WorkbenchError:
            pass
        if not self.ca.count():
            self.ca.addItem("(no CA yet: create one on the Certificates page)", None)

    def pem(self) -> str:
        """The certificate as PEM ('' before one was made)."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode() if self.certificate else ""

    def create(self) -> x509.Certificate | None:  # type: ignore[override]  # hides QWidget.create(); tests call it
        """Sign a certificate with CN = code by the chosen CA."""
        def sign() -> tuple[x509.Certificate, Issuer]:
            name = self.ca.currentData()
            if not name:
                raise InvalidInputError("There is no CA to sign with", ("Create a CA on the Certificates page.",))
            typed = self.ca_password.text()
            password = typed or stored_ca_password(name, self.secrets) or ""
            issuer, _chain = certificates.unlock(self.workspace, name, CAPasswords.given(password.encode() or None))
            return verification_certificate(issuer, self.code.text(), validity_days=self.days.value()), issuer

        made = run_action(self, sign, self.state.show_error)
        if made is None:
            return None
        self.certificate, issuer = made
        cn = self.code.text().strip()
        self.result.setPlainText(
            f"{self.pem()}\nSubject: CN={self.code.text().strip()}\nIssuer: {cert_label(issuer.certificate)}\n"
            f"Valid until: {self.certificate.not_valid_after_utc:%Y-%m-%d}\n\nThe openssl equivalent:\n"
            f"  openssl genrsa -out verificationCert.key 2048\n"
            f"  openssl req -new -key verificationCert.key -out verificationCert.csr -subj '/CN={cn}'\n"
            f"  openssl x509 -req -in verificationCert.csr -CA caCert.pem -CAkey caKey.pem -CAcreateserial "
            f"-out verificationCert.pem -days {self.days.value()} -sha256\n")
        self.state.setText("✓ Created. Upload verificationCert.pem in the platform's CA verification step.")
        self.save_button.setEnabled(True)
        self.copy_button.setEnabled(True)
        return self.certificate

    def save(self, path: Path) -> Path:
        """Write the certificate as PEM, atomically."""
        write_atomic(path, self.pem().encode())
        self.state.setText(f"✓ Saved {path}. Upload it in the platform's CA verification step.")
        return path

    def _on_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the verification certificate", "verificationCert.pem",
                                              "PEM (*.pem)")
        if path:
            self.save(Path(path))
