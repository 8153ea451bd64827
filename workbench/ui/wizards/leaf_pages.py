"""The wizard pages for certificates that sign nothing: device id (validated as typed), server names, output, CSR."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QWizardPage,
)

from workbench.core.pki.names import DnStyle, check_device_common_name, format_dn
from workbench.core.pki.profiles import (
    DEFAULT_VALIDITY_DAYS,
    CertificateProfile,
    ProfileKind,
    device_profile,
    server_profile,
)
from workbench.errors import WorkbenchError
from workbench.services import certificates
from workbench.services.certificates import IssuedRecord
from workbench.ui.errors import run_action

from . import guide_texts
from .form_kit import (
    explained_row,
    file_field,
    folder_field,
    form_label,
    page_form,
    password_edit,
    problem_label,
    show_problem,
)

CSR_FILES = "Certificate requests (*.csr *.pem *.der *.req);;All files (*)"
CERT_FILES = "Certificates (*.pem *.crt *.cer *.der);;All files (*)"


def _lines(edit: QPlainTextEdit) -> tuple[str, ...]:
    return tuple(line.strip() for line in edit.toPlainText().splitlines() if line.strip())


class LeafPage(QWizardPage):
    """Device: the id as CN, checked live for ':' and for a CN the store already issued. Server: CN and SANs."""

    def __init__(self, workspace: Path, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.workspace = workspace
        device = kind == "device"
        self.setTitle("Device identity" if device else "Server names")
        self.setSubTitle("The device id becomes the certificate's common name and its MQTT client id." if device
                         else "The names and addresses TLS clients will connect to.")
        form = page_form(self)
        self.cn = QLineEdit()
        self.cn.setPlaceholderText("e.g. wb-dev-0001" if device else "e.g. mqtt.example.com")
        explained_row(form, "Device id (CN)" if device else "Common name (CN)", self.cn,
                      guide_texts.DEVICE_CN if device else guide_texts.SUBJECT_FIELDS[0][2], "cn")
        self.cn_problem = problem_label("cn_problem")
        form.addRow("", self.cn_problem)
        self.client_auth = QCheckBox("Add extendedKeyUsage clientAuth")
        self.client_auth.setChecked(True)
        self.dns_names = QPlainTextEdit()
        self.ip_addresses = QPlainTextEdit()
        if device:
            explained_row(form, "Key usage", self.client_auth, guide_texts.CLIENT_AUTH, "client_auth")
        else:
            for edit, label, text, name in ((self.dns_names, "DNS names", guide_texts.SAN_DNS, "dns_names"),
                                            (self.ip_addresses, "IP addresses", guide_texts.SAN_IP, "ip_addresses")):
                edit.setMaximumHeight(70)
                explained_row(form, label, edit, text, name)
                edit.textChanged.connect(self._check)
            self.dns_names.setPlaceholderText("localhost")
            self.ip_addresses.setPlaceholderText("127.0.0.1")
        self.cn.textChanged.connect(self._check)
        self._issued: dict[str, IssuedRecord] = {}

    def initializePage(self) -> None:
        """Read the issued CNs once; typing then checks against them without touching the store."""
        try:
            self._issued = dict(certificates.issued_common_names(self.workspace))
        except WorkbenchError:
            self._issued = {}
        self._check()

    def profile(self, validity_days: int) -> CertificateProfile:
        """The device or server profile with the page's choices."""
        if self.kind == "device":
            return device_profile(validity_days, client_auth=self.client_auth.isChecked())
        dns = _lines(self.dns_names) or (self.cn.text().strip(),)
        return server_profile(dns, _lines(self.ip_addresses), validity_days)

    def problem(self) -> WorkbenchError | str | None:
        """Why the typed values cannot be issued, or None."""
        cn = self.cn.text()
        if not cn.strip():
            return None
        if self.kind == "device":
            try:
                check_device_common_name(cn)
            except WorkbenchError as exc:
                return exc
            if cn != cn.strip():
                return "The device id has leading or trailing spaces."
            record = self._issued.get(cn)
            if record is not None:
                return WorkbenchError(f"A certificate for '{cn}' is already issued by CA '{record.ca}' "
                                      f"(serial {record.serial:X})",
                                      ("Every certificate should have a unique common name (the guide).",
                                       "Choose another id, or revoke the old certificate first."))
            return None
        try:
            self.profile(DEFAULT_VALIDITY_DAYS[ProfileKind.SERVER])
        except WorkbenchError as exc:
            return exc
        return None

    def _check(self) -> None:
        show_problem(self.cn_problem, self.problem())
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        """A CN and no problem: Next stays disabled while the message shows."""
        return bool(self.cn.text().strip()) and self.problem() is None

    def validatePage(self) -> bool:
        """wizard.next() asks only this, so it repeats the isComplete check."""
        self._check()
        return self.isComplete()


class OutputPage(QWizardPage):
    """Where the key, certificate and chain go, and the optional keystore and truststore."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.setTitle("Output files")
        self.setSubTitle("A folder for the new files; a keystore and truststore for Java clients if you want them.")
        form = page_form(self)
        row, self.out_dir = folder_field(self, "out_dir", "Folder for the new files")
        explained_row(form, "Folder", row, guide_texts.OUTPUT_FOLDER)
        self.out_dir.textChanged.connect(self.completeChanged)
        self.keystore = QComboBox()
        prefix = "server" if kind == "server" else "device"
        for label, data in (("None", None), (f"PKCS#12 ({prefix}Keystore.pkcs12)", "pkcs12"),
                            (f"JKS ({prefix}Keystore.jks)", "jks")):
            self.keystore.addItem(label, data)
        explained_row(form, "Keystore", self.keystore, guide_texts.KEYSTORE, "keystore")
        self.keystore_password = password_edit("keystore_password", "empty: the key password")
        explained_row(form, "Keystore password", self.keystore_password,
                      "Protects the keystore and truststore; keytool asks for it when listing them.")
        row, self.truststore_cert = file_field(self, "truststore_cert", "Server certificate for the truststore",
                                               CERT_FILES)
        explained_row(form, "Truststore certificate", row, guide_texts.TRUSTSTORE)
        self.problem = problem_label("output_problem")
        form.addRow("", self.problem)

    def isComplete(self) -> bool:
        """A folder is needed."""
        return bool(self.out_dir.text().strip())

    def validatePage(self) -> bool:
        """Repeat isComplete for wizard.next()."""
        return self.isComplete()


class CsrPage(QWizardPage):
    """An external CSR: pick the file, see its subject, choose the profile, validity and output file."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Sign a certificate request")
        self.setSubTitle("The CA signs the request's subject and public key under the chosen profile.")
        form = page_form(self)
        row, self.csr_file = file_field(self, "csr_file", "Choose the CSR", CSR_FILES)
        explained_row(form, "CSR file", row, guide_texts.CSR_FILE)
        self.csr_subject = QLabel("—")
        self.csr_subject.setObjectName("csr_subject")
        self.csr_subject.setWordWrap(True)
        form.addRow(form_label("Requested subject"), self.csr_subject)
        self.problem = problem_label("csr_problem")
        form.addRow("", self.problem)
        self.profile_kind = QComboBox()
        self.profile_kind.addItem("Device (v3_signed)", "device")
        self.profile_kind.addItem("TLS server", "server")
        explained_row(form, "Profile", self.profile_kind, guide_texts.CSR_PROFILE, "profile_kind")
        self.validity = QSpinBox()
        self.validity.setRange(1, 36500)
        self.validity.setSuffix(" days")
        self.validity.setValue(DEFAULT_VALIDITY_DAYS[ProfileKind.DEVICE])
        explained_row(form, "Validity", self.validity, guide_texts.VALIDITY["device"], "validity")
        self.profile_kind.currentIndexChanged.connect(
            lambda: self.validity.setValue(DEFAULT_VALIDITY_DAYS[self._profile_kind()]))
        row, self.out_file = file_field(self, "out_file", "Save the certificate as", CERT_FILES, save=True)
        explained_row(form, "Certificate file", row, "The signed certificate is written here as PEM.")
        self.out_file.textChanged.connect(self.completeChanged)
        self.csr: x509.CertificateSigningRequest | None = None
        self.csr_file.textChanged.connect(self._load)

    def _profile_kind(self) -> ProfileKind:
        return ProfileKind.SERVER if self.profile_kind.currentData() == "server" else ProfileKind.DEVICE

    def profile(self) -> CertificateProfile:
        """Server profile without SANs (the CSR's are not copied, as `openssl ca`), or the device profile."""
        if self._profile_kind() is ProfileKind.SERVER:
            return server_profile((), (), self.validity.value())
        return device_profile(self.validity.value())

    def _load(self) -> None:
        self.csr = None
        path = self.csr_file.text().strip()
        if path:
            self.csr = run_action(self, lambda: certificates.read_csr(Path(path)), self.problem)
            if self.csr is None:
                self.csr_subject.setText("—")
                self.completeChanged.emit()
                return
            self.csr_subject.setText(format_dn(self.csr.subject, DnStyle.OPENSSL) or "(empty)")
            if not self.out_file.text():
                self.out_file.setText(str(Path(path).with_name(Path(path).stem + "-cert.pem")))
        show_problem(self.problem, None)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        """A readable CSR and an output file."""
        return self.csr is not None and bool(self.out_file.text().strip())

    def validatePage(self) -> bool:
        """Repeat isComplete for wizard.next()."""
        return self.isComplete()
