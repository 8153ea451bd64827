"""Forms that collect the values of a keystore action (files, alias, server, passwords); each returns plain values
and the page does the work, so tests skip the dialogs and call the page directly."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.ui.dialogs.file_field import file_field


class _Form(QDialog):
    """A titled form with OK/Cancel and an explanation line."""

    def __init__(self, title: str, explanation: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        intro = QLabel(explanation)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.form = QFormLayout()
        layout.addLayout(self.form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


def _password() -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    return field


class KeyPairFromFiles(_Form):
    """Certificate (or chain) file, key file, key password, alias."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Add a key pair", "The certificates may come in any order; the one that belongs to the key "
                         "becomes the entry, the others its chain (add the CA so the server can build the path).",
                         parent)
        self.cert_row, self.cert = file_field(self, "", "certificate or chain file")
        self.key_row, self.key = file_field(self, "", "private key file")
        self.key_password = _password()
        self.key_password.setPlaceholderText("only if the key file is encrypted")
        self.alias = QLineEdit("devicekeyentry")
        self.form.addRow("Certificate or chain", self.cert_row)
        self.form.addRow("Private key", self.key_row)
        self.form.addRow("Key password", self.key_password)
        self.form.addRow("Alias", self.alias)


class TrustedFromFile(_Form):
    """A certificate file (a bundle becomes alias, alias-2, …) and the alias."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Import a trusted certificate", "A CA or server certificate this store should trust "
                         "(keytool's trustedCertEntry).", parent)
        self.file_row, self.file = file_field(self, "", "certificate file")
        self.alias = QLineEdit("servercertificate")
        self.form.addRow("Certificate", self.file_row)
        self.form.addRow("Alias", self.alias)


class FetchFromServer(_Form):
    """Host, port and SNI of a TLS server whose chain is fetched and trusted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Fetch from a server", "Connects once, takes the certificates the server presents, and "
                         "imports the last one (its CA). Check the fingerprint before you trust it.", parent)
        self.host = QLineEdit("localhost")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(8883)
        self.server_name = QLineEdit()
        self.server_name.setPlaceholderText("SNI (empty: the host)")
        self.alias = QLineEdit("servercertificate")
        self.form.addRow("Host", self.host)
        self.form.addRow("Port", self.port)
        self.form.addRow("Server name (SNI)", self.server_name)
        self.form.addRow("Alias", self.alias)


class DeviceStores(_Form):
    """Where the guide's deviceKeystore and truststore go, their type and password, and the server's CA."""

    def __init__(self, alias: str, server_ca: Path | None, parent: QWidget | None = None) -> None:
        super().__init__("Device keystore and truststore", f"Writes the key entry '{alias}' as the guide's "
                         "deviceKeystore (alias devicekeyentry) and the server's CA as its truststore (alias "
                         "servercertificate), ready for MQTT.fx or a Java device.", parent)
        self.folder_row, self.folder = file_field(self, "", "folder", directory=True)
        self.server_row, self.server_ca = file_field(self, "", "server CA certificate")
        if server_ca is not None:
            self.server_ca.setText(str(server_ca))
        self.kind = QComboBox()
        self.kind.addItem("PKCS#12", "pkcs12")
        self.kind.addItem("JKS", "jks")
        self.password = _password()
        self.form.addRow("Folder", self.folder_row)
        self.form.addRow("Server CA", self.server_row)
        self.form.addRow("Type", self.kind)
        self.form.addRow("Password of both", self.password)
