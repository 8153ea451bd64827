"""Adds the local platform's server CA to a Java truststore (PKCS#12 or JKS), new or existing, so devices and Java
clients trust the platform's TLS certificate: the guide's `keytool -importcert` in one dialog."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.errors import InvalidInputError, WorkbenchError
from workbench.services import keystores
from workbench.ui.errors import run_action
from workbench.ui.local_platform.common import ProblemLabel

DEFAULT_ALIAS = "local-platform-ca"


def add_to_truststore(path: Path, password: str, certificate: x509.Certificate, alias: str = DEFAULT_ALIAS,
                      kind: str = "pkcs12") -> str:
    """Import the certificate into the truststore at `path` (made when missing); returns what was done.

    Raises:
        WorkbenchError: no password, a wrong password, an alias in use, or an unwritable folder.
    """
    if not password:
        raise InvalidInputError("A truststore needs a password",
                                ("Java's keytool reports an integrity error for a PKCS#12 without one.",))
    request = keystores.TrustInFile(path, (certificate,), alias, kind, password.encode())
    done = keystores.add_to_truststore(request, keystores.never_ask)
    assert done is not None  # the password is given, nothing is asked
    if not done.created:
        return f"Added to {path.name} ({done.saved.kind.label}): " + " ".join(done.messages)
    return f"Created {path.name} ({kind.upper()}) with trusted certificate '{alias}'."


class TruststoreDialog(QDialog):
    """Pick or name a truststore file, its type and password, and the alias for the server CA."""

    def __init__(self, server_ca: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add the server CA to a truststore")
        self.server_ca = server_ca
        self.result_text = ""
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Devices and Java clients that connect to the local platform must trust its server "
                                "CA. Choose an existing truststore to add it to, or name a new one."))
        form = QFormLayout()
        self.path = QLineEdit()
        self.path.setPlaceholderText("truststore.p12 or truststore.jks")
        self.path.textChanged.connect(self._guess_kind)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.kind = QComboBox()
        self.kind.addItem("PKCS#12", "pkcs12")
        self.kind.addItem("JKS", "jks")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.alias = QLineEdit(DEFAULT_ALIAS)
        form.addRow("Truststore file", row)
        form.addRow("Type (new file)", self.kind)
        form.addRow("Store password", self.password)
        form.addRow("Alias", self.alias)
        layout.addLayout(form)
        self.problem = ProblemLabel()
        layout.addWidget(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        add = buttons.addButton("Add", QDialogButtonBox.ButtonRole.AcceptRole)
        add.clicked.connect(self.add)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 0)

    def _browse(self) -> None:
        name = QFileDialog.getSaveFileName(self, "Truststore", "truststore.p12",
                                           "Truststores (*.p12 *.pfx *.jks);;All files (*)",
                                           options=QFileDialog.Option.DontConfirmOverwrite)[0]
        if name:
            self.path.setText(name)

    def _guess_kind(self, text: str) -> None:
        self.kind.setCurrentIndex(1 if text.lower().endswith(".jks") else 0)

    def add(self) -> bool:
        """Import the CA; on success the dialog closes, otherwise the problem shows in place."""
        def add() -> str:
            if not self.path.text().strip():
                raise InvalidInputError("Choose a truststore file", ("Browse to an existing one or type a new name.",))
            try:
                certificate = x509.load_pem_x509_certificate(self.server_ca.read_bytes())
            except (OSError, ValueError) as exc:
                raise WorkbenchError(f"Cannot read the server CA {self.server_ca}", (str(exc),)) from exc
            return add_to_truststore(Path(self.path.text().strip()), self.password.text(), certificate,
                                     self.alias.text().strip() or DEFAULT_ALIAS, self.kind.currentData())

        result = run_action(self, add, self.problem)
        if result is None:
            return False
        self.result_text = result
        self.accept()
        return True
