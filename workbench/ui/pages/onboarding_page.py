"""The Onboarding page: the guide's journey as a checklist, run against the local platform or a real tenant.

Each step says what it did and how long it took, with the openssl/keytool/curl equivalent for people who must
document it. After an error, "Run again" resumes with the same CA once the cause is fixed. The last step saves a
connection profile for the new device, so the console can open it at once.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench import paths
from workbench.core.profiles import ConnectionProfile, ProfileSecrets, ProfileStore, TlsMode, TlsSettings
from workbench.errors import WorkbenchError
from workbench.services.local_platform import LocalPlatformInfo
from workbench.services.onboarding import (
    Onboarding,
    OnboardingOptions,
    StepResult,
    ca_secret_id,
    server_context,
    trust_from_pem,
)
from workbench.services.platform_http import PlatformCredentials, PlatformHttp

STEPS = (("ca", "CA"), ("upload", "Upload to the platform"), ("pop", "Proof of possession"),
         ("device", "Device certificate, keystore and truststore"), ("mqtt", "Connect over mutual TLS"),
         ("token", "Device token"), ("rest", "REST call with the token"), ("measurement", "First measurement"),
         ("profile", "Connection profile"))
EQUIVALENTS = {
    "ca": "openssl genrsa -aes256 -out caKey.pem 4096\n"
          "openssl req -new -x509 -extensions v3_ca -days 7300 -key caKey.pem -out caCert.pem",
    "upload": "curl -u 't100/admin:…' -H 'Accept: application/json' -H 'Content-Type: application/json' \\\n"
              "  {url}/tenant/tenants/t100/trusted-certificates \\\n"
              "  -d '{{\"status\":\"ENABLED\",\"autoRegistrationEnabled\":true,\"certInPemFormat\":\"…\"}}'",
    "pop": "curl -u … -X POST {url}/tenant/tenants/t100/trusted-certificates-pop/<fp>/verification-code\n"
           "echo -n '<code>' | openssl dgst -sha256 -sign caKey.pem | openssl base64 -A\n"
           "curl -u … {url}/tenant/tenants/t100/trusted-certificates-pop/<fp>/pop "
           "-d '{{\"proofOfPossessionSignedVerificationCode\":\"…\"}}'",
    "device": "openssl req -new -key deviceKey.pem -subj '/CN={device}' -out device.csr\n"
              "openssl ca -config caConfig.cnf -extensions v3_signed -in device.csr -out deviceCert.pem\n"
              "openssl pkcs12 -export -name devicekeyentry -inkey deviceKey.pem -in deviceCertChain.pem "
              "-out deviceKeystore.p12\n"
              "keytool -importcert -alias servercertificate -file server-ca.pem -keystore truststore.p12",
    "mqtt": "mosquitto_sub -h localhost -p 8883 --cafile server-ca.pem --cert deviceCertChain.pem "
            "--key deviceKey.pem -i d:{device} -t s/ds",
    "token": "mosquitto_rr … -i d:{device} -t s/uat -e s/dat -n      # prints 71,<JWT>",
    "rest": "curl -H 'Authorization: Bearer <JWT>' {url}/user/currentUser",
    "measurement": "mosquitto_pub … -i d:{device} -t s/us -m '200,c8y_Temperature,T,21.5,C'",
    "profile": "(MQTT.fx: self signed certificates in keystores: the keystore and truststore above)",
}


class OnboardingPage(QWidget):
    """Target, device name, Run, and the checklist with each step's result and its command-line equivalent.

    Signals:
        finished: the OnboardingReport of a run.
    """

    finished = Signal(object)

    def __init__(self, profiles: ProfileStore | None = None, workspace: Path | None = None,
                 out_dir: Path | None = None) -> None:
        super().__init__()
        self.profiles = profiles or ProfileStore()
        self.workspace = workspace or paths.default_workspace()
        self.out_dir = out_dir or paths.data_dir() / "onboarding"
        self.local: LocalPlatformInfo | None = None
        self.ca_name: str | None = None
        self.task: asyncio.Task[None] | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<h2>Onboarding</h2>The guide's whole journey, step by step: against the local "
                                "platform to rehearse, or against your tenant."))
        form = QFormLayout()
        self.target = QComboBox()
        self.target.addItems(["Local platform", "A tenant"])
        self.target.currentIndexChanged.connect(self._on_target_changed)
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://mytenant.cumulocity.com")
        self.user = QLineEdit()
        self.user.setPlaceholderText("t123/admin")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.device_id = QLineEdit(f"demo-device-{secrets.token_hex(2)}")
        form.addRow("Platform", self.target)
        form.addRow("Tenant URL", self.url)
        form.addRow("User", self.user)
        form.addRow("Password", self.password)
        form.addRow("Device id (CN)", self.device_id)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.run_button = QPushButton("Run the onboarding")
        self.run_button.clicked.connect(self.run)
        self.status = QLabel("The local platform starts with the app; the run uses it.")
        self.status.setWordWrap(True)
        row.addWidget(self.run_button)
        row.addWidget(self.status, 1)
        layout.addLayout(row)
        split = QSplitter(Qt.Orientation.Vertical)
        self.checklist = QTreeWidget()
        self.checklist.setHeaderLabels(["Step", "Result", "Time"])
        self.checklist.setColumnWidth(0, 300)
        self.checklist.setColumnWidth(1, 700)
        self.checklist.currentItemChanged.connect(self._on_step_selected)
        self.items: dict[str, QTreeWidgetItem] = {}
        for key, title in STEPS:
            item = QTreeWidgetItem([f"○ {title}", "", ""])
            item.setData(0, Qt.ItemDataRole.UserRole, key)
            self.checklist.addTopLevelItem(item)
            self.items[key] = item
        self.equivalent = QPlainTextEdit()
        self.equivalent.setReadOnly(True)
        self.equivalent.setPlaceholderText("Select a step to see its openssl / keytool / curl equivalent.")
        split.addWidget(self.checklist)
        split.addWidget(self.equivalent)
        split.setSizes([420, 160])
        layout.addWidget(split, 1)
        self._on_target_changed(0)

    # --- target --------------------------------------------------------------------------------------------
    def set_local_platform(self, info: LocalPlatformInfo) -> None:
        """The local platform runs: runs against it are possible."""
        self.local = info
        if self.target.currentIndex() == 0:
            self.status.setText(f"Local platform at {info.rest_url}, MQTT {info.ports['mqtts']}.")

    def _on_target_changed(self, index: int) -> None:
        for widget in (self.url, self.user, self.password):
            widget.setEnabled(index == 1)

    # --- run -----------------------------------------------------------------------------------------------
    def run(self) -> asyncio.Task[None] | None:
        """Run every step (resuming with the same CA after a failure); results appear as they come."""
        if self.task is not None and not self.task.done():
            return self.task
        for key, title in STEPS:
            self.items[key].setText(0, f"○ {title}")
            self.items[key].setText(1, "")
            self.items[key].setText(2, "")
            self.items[key].takeChildren()
        self.run_button.setEnabled(False)
        self.status.setText("running…")
        self.task = asyncio.get_event_loop().create_task(self._run())
        return self.task

    async def _run(self) -> None:
        try:
            report = await self._onboard()
        except WorkbenchError as exc:
            self.status.setText(f"✗ {exc.summary}: " + "; ".join(exc.causes))
            report = None
        finally:
            self.run_button.setEnabled(True)
            self.run_button.setText("Run again")
        if report is not None:
            self.finished.emit(report)

    async def _onboard(self) -> object:
        if self.target.currentIndex() == 0:
            if self.local is None:
                raise WorkbenchError("The local platform is not running yet", ("Wait for the status bar to say "
                                                                                 "it runs, then try again.",))
            base, trust = self.local.rest_url, trust_from_pem(self.local.server_ca.read_bytes())
            credentials = PlatformCredentials("admin", self.local.admin_password, "t100")
            mqtt_host, mqtt_port, jwks = "localhost", self.local.ports["mqtts"], True
        else:
            base, trust = self.url.text().strip().rstrip("/"), ()
            tenant, _, user = self.user.text().strip().rpartition("/")
            credentials = PlatformCredentials(user, self.password.text(), tenant or None)
            mqtt_host, mqtt_port, jwks = base.split("://", 1)[-1].split("/")[0].split(":")[0], 8883, False
        keystore_password = secrets.token_urlsafe(12)
        stored = self.profiles.secrets.get(ca_secret_id(self.ca_name), _key()) if self.ca_name else None
        if self.ca_name and stored is None:
            self.ca_name = None  # its password is gone (a session-only keyring): start with a new CA
        ca_password = stored or secrets.token_urlsafe(16)
        device = self.device_id.text().strip()
        async with PlatformHttp(base, credentials, trust=server_context(trust)) as http:
            options = OnboardingOptions(http=http, mqtt_host=mqtt_host, mqtt_port=mqtt_port,
                                        workspace=self.workspace, out_dir=self.out_dir,
                                        ca_password=ca_password.encode(), keystore_password=keystore_password.encode(),
                                        ca_name=self.ca_name, device_id=device, server_trust=trust, jwks=jwks)
            flow = Onboarding(options, self._show)
            report = await flow.run()
        if flow.ca_name:
            self.ca_name = flow.ca_name  # "Run again" resumes with the same CA
            self.profiles.secrets.set(ca_secret_id(flow.ca_name), _key(), ca_password)
        if report.ok:
            self._save_profile(device, mqtt_host, mqtt_port, base, keystore_password)
            self.status.setText(f"✓ Device {device} is onboarded; its profile is in Connections.")
        else:
            failed = report.steps[-1]
            self.status.setText(f"✗ stopped at '{failed.step}'. Fix the cause shown, then Run again (the same CA "
                                "is reused).")
        return report

    def _show(self, result: StepResult) -> None:
        item = self.items[result.step]
        title = dict(STEPS)[result.step]
        item.setText(0, f"{'✓' if result.ok else '✗'} {title}")
        item.setText(1, result.message)
        item.setText(2, f"{result.seconds * 1000:.0f} ms")
        for cause in result.causes:
            item.addChild(QTreeWidgetItem(["", cause, ""]))
        item.setExpanded(bool(result.causes))

    def _save_profile(self, device: str, host: str, port: int, rest_url: str, password: str) -> None:
        folder = self.out_dir / device
        profile = ConnectionProfile(
            name=f"{device} (onboarded)", broker_host=host, broker_port=port, client_id=f"d:{device}",
            rest_base_url=rest_url,
            tls=TlsSettings(mode=TlsMode.KEYSTORES, keystore_file=str(folder / "truststore.p12"),
                            client_keystore_file=str(folder / "deviceKeystore.p12")))
        self.profiles.save(profile, ProfileSecrets(trusted_keystore_password=password,
                                                   client_keystore_password=password,
                                                   client_key_pair_password=password))
        item = self.items["profile"]
        item.setText(0, f"✓ {dict(STEPS)['profile']}")
        item.setText(1, f"saved '{profile.name}' (keystores mode; passwords in the keyring)")

    def _on_step_selected(self, current: QTreeWidgetItem | None, _previous: object) -> None:
        if current is None:
            return
        key = current.data(0, Qt.ItemDataRole.UserRole) or (current.parent().data(0, Qt.ItemDataRole.UserRole)
                                                            if current.parent() else None)
        url = self.local.rest_url if self.local and self.target.currentIndex() == 0 else self.url.text() or "<url>"
        self.equivalent.setPlainText(EQUIVALENTS.get(key or "", "").format(url=url, device=self.device_id.text()))


def _key() -> object:
    from workbench.core.profiles.model import SecretName

    return SecretName.KEY_PASSWORD
