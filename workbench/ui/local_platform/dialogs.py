"""Small forms of the Local Platform page: edit a trusted certificate (what the API lets change), and create an
operation for a device (restart or a shell command, the two every SmartREST device understands)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from workbench.core.platform_client.responses import TrustedCertificate


def _buttons(dialog: QDialog, ok: str) -> QDialogButtonBox:
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


class EditCertificateDialog(QDialog):
    """Name, status (ENABLED/DISABLED) and auto-registration of one trusted certificate."""

    def __init__(self, certificate: TrustedCertificate, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Edit trusted certificate {certificate.name}")
        self.certificate = certificate
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.name = QLineEdit(certificate.name)
        self.status = QComboBox()
        self.status.addItems(["ENABLED", "DISABLED"])
        self.status.setCurrentText(certificate.status or "ENABLED")
        self.auto_registration = QCheckBox("register unknown devices on their first connection")
        self.auto_registration.setChecked(certificate.auto_registration)
        form.addRow("Name", self.name)
        form.addRow("Status", self.status)
        form.addRow("Auto-registration", self.auto_registration)
        subject = QLabel(f"{certificate.subject}<br><small>SHA-1 {certificate.fingerprint}</small>")
        subject.setWordWrap(True)
        form.addRow("Certificate", subject)
        layout.addLayout(form)
        note = QLabel("Disabling closes every MQTT session that chains to this certificate at once.")
        note.setProperty("status", "neutral")  # a grey note, in the theme's muted colour
        layout.addWidget(note)
        layout.addWidget(_buttons(self, "Save"))

    def changes(self) -> dict[str, Any]:
        """Only what differs, as keyword arguments of update_trusted_certificate."""
        found: dict[str, Any] = {}
        name = self.name.text().strip()
        if name and name != self.certificate.name:
            found["name"] = name
        enabled = self.status.currentText() == "ENABLED"
        if enabled != (self.certificate.status == "ENABLED"):
            found["enabled"] = enabled
        if self.auto_registration.isChecked() != self.certificate.auto_registration:
            found["auto_registration"] = self.auto_registration.isChecked()
        return found


class OperationDialog(QDialog):
    """Restart (c8y_Restart) or a shell command (c8y_Command) for one device."""

    def __init__(self, device: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Create an operation for {device}")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.kind = QComboBox()
        self.kind.addItem("Restart (c8y_Restart → 510)", "c8y_Restart")
        self.kind.addItem("Shell command (c8y_Command → 511)", "c8y_Command")
        self.command = QLineEdit("uptime")
        self.description = QLineEdit()
        self.description.setPlaceholderText("shown in the operation list")
        self.kind.currentIndexChanged.connect(lambda: self.command.setEnabled(self.kind.currentData() == "c8y_Command"))
        self.command.setEnabled(False)
        form.addRow("Operation", self.kind)
        form.addRow("Command", self.command)
        form.addRow("Description", self.description)
        layout.addLayout(form)
        hint = QLabel("The device receives it on s/ds once it has published, and answers 501 (executing), then 503 "
                      "(successful) or 502 (failed) on s/us.")
        hint.setWordWrap(True)
        hint.setProperty("status", "neutral")
        layout.addWidget(hint)
        layout.addWidget(_buttons(self, "Create"))

    def body(self) -> dict[str, Any]:
        """The operation's fragments (the deviceId is added by the caller)."""
        if self.kind.currentData() == "c8y_Command":
            text = self.command.text().strip()
            return {"description": self.description.text().strip() or f"Execute: {text}",
                    "c8y_Command": {"text": text}}
        return {"description": self.description.text().strip() or "Restart the device", "c8y_Restart": {}}
