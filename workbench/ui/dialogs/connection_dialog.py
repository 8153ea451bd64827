"""A quick connection form: broker, client id, MQTT version, credentials and TLS files (PEM).

Saved connection profiles with keystores replace it once the profile store lands; this form already builds
the same SessionSettings, so the console does not change.
"""

from __future__ import annotations

import secrets
import ssl
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from workbench.core.files import private_temp_file
from workbench.core.pki.keys import dump_private_key_pem, load_private_key
from workbench.errors import TlsError
from workbench.services.mqtt_session import SessionSettings
from workbench.ui.errors import run_action

from .file_field import file_field
from .problem_dialog import problem_html


def build_client_tls(ca_file: str, cert_file: str, key_file: str, key_password: bytes | None) -> ssl.SSLContext:
    """A client context from PEM files; the key reaches OpenSSL only re-encrypted in a 0600 temp file.

    Raises:
        TlsError / KeyMaterialError: a file is unreadable or the key does not fit the certificate.
    """
    try:
        context = ssl.create_default_context(cafile=ca_file or None)
        if cert_file:
            key = load_private_key(Path(key_file or cert_file).read_bytes(), key_password)
            one_time = secrets.token_hex(16).encode()
            with private_temp_file(dump_private_key_pem(key, one_time)) as tmp:
                context.load_cert_chain(cert_file, str(tmp), password=one_time)
    except (OSError, ssl.SSLError) as exc:
        raise TlsError("Cannot use the TLS files", (str(exc), "Check the CA, certificate and key files.")) from exc
    return context


class ConnectionDialog(QDialog):
    """Asks for a connection and returns SessionSettings through `settings()`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New connection")
        form = QFormLayout(self)
        self.host = QLineEdit("127.0.0.1")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(1883)
        self.client_id = QLineEdit("workbench-console")
        self.version = QComboBox()
        self.version.addItems(["MQTT 3.1.1", "MQTT 5.0", "MQTT 3.1"])
        self.username = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.tls = QCheckBox("Self signed certificates (PEM files)")
        self.ca_file, self.cert_file, self.key_file = (file_field(self) for _ in range(3))
        self.key_password = QLineEdit()
        self.key_password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Broker address", self.host)
        form.addRow("Broker port", self.port)
        form.addRow("Client ID", self.client_id)
        form.addRow("MQTT version", self.version)
        form.addRow("User name", self.username)
        form.addRow("Password", self.password)
        form.addRow(self.tls)
        form.addRow("CA file", self.ca_file[0])
        form.addRow("Client certificate file", self.cert_file[0])
        form.addRow("Client key file", self.key_file[0])
        form.addRow("Client key password", self.key_password)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        form.addRow(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_accepted)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.tls.toggled.connect(lambda on: self.port.setValue(8883 if on else 1883))
        self._settings: SessionSettings | None = None

    def settings(self) -> SessionSettings | None:
        """The accepted connection, or None when cancelled."""
        return self._settings

    def _on_accepted(self) -> None:
        self._settings = run_action(self, self.build_settings, lambda exc: self.problem.setText(problem_html(exc)))
        if self._settings is not None:
            self.accept()

    def build_settings(self) -> SessionSettings:
        """Read the form (also used by tests to fill it programmatically)."""
        tls = None
        if self.tls.isChecked():
            password = self.key_password.text().encode() or None
            tls = build_client_tls(self.ca_file[1].text(), self.cert_file[1].text(), self.key_file[1].text(),
                                   password)
        protocol = {0: 4, 1: 5, 2: 3}[self.version.currentIndex()]
        return SessionSettings(self.host.text().strip(), self.port.value(), self.client_id.text().strip(),
                               protocol=protocol, username=self.username.text() or None,
                               password=self.password.text() or None, tls=tls)
