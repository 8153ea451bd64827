"""The Onboarding page: the guide's journey as a checklist, run against the local platform or a real tenant.

Each step says what it did and how long it took, links to the page where its result can be inspected, and shows
the openssl/keytool/curl equivalent for people who must document it. After an error, "Run again" resumes with the
same CA once the cause is fixed. Demo mode runs it all with sensible names and ends on live data from a simulated
device, for customer demos. The path choice picks the customer-managed CA (the guide), the platform CA (EST) or the
password device with bootstrap registration; each has its own checklist and equivalents.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
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
from workbench.core.pki.keys import KeySpec, describe_key
from workbench.core.platform_client.tokens import DeviceToken
from workbench.core.profiles import ConnectionProfile, ProfileSecrets, ProfileStore, TlsMode, TlsSettings
from workbench.errors import WorkbenchError
from workbench.services.ca_passwords import remember_ca_password, stored_ca_password
from workbench.services.cert_lifecycle import EstTarget
from workbench.services.local_platform import LocalPlatformInfo
from workbench.services.onboarding import (
    BOOTSTRAP,
    CUSTOMER_CA,
    PATHS,
    PLATFORM_CA,
    Onboarding,
    OnboardingOptions,
    OnboardingReport,
    StepResult,
)
from workbench.services.simulated_device import CertificateRenewal, SimulatedDevice
from workbench.ui.errors import spawn
from workbench.ui.onboarding.demo_panel import DemoPanel
from workbench.ui.onboarding.steps import LINKS, PATH_STEPS, STEPS, KeyFacts, equivalent, spec_description
from workbench.ui.onboarding.welcome import WelcomeHeader
from workbench.ui.platform_target import PlatformTarget
from workbench.ui.widgets.fit import scroll_layout
from workbench.ui.widgets.problem_label import MessageLine

TITLES = dict(STEPS)  # the customer-CA path's titles (each path's: PATH_STEPS)
PATH_LABELS = {CUSTOMER_CA: "Customer CA (your CA, upload, proof of possession)",
               PLATFORM_CA: "Platform CA (EST with a one-time password)",
               BOOTSTRAP: "Password device (bootstrap registration)"}
DEMO_NAMES: dict[str, Any] = {"new_ca_name": "ACME Smart Buildings Root CA", "organization": "ACME Smart Buildings"}


class OnboardingPage(QWidget):
    """Target, device name, Run or Demo, and the checklist with each step's result, link and equivalent.

    Signals:
        finished: the OnboardingReport of a run.
        inspect: (area, detail) — show a step's result on another page (CA name, keystore path, profile name).
    """

    finished = Signal(object)
    inspect = Signal(str, str)

    def __init__(self, profiles: ProfileStore | None = None, workspace: Path | None = None,
                 out_dir: Path | None = None) -> None:
        super().__init__()
        self.profiles = profiles or ProfileStore()
        self.workspace = workspace or paths.default_workspace()
        self.out_dir = out_dir or paths.data_dir() / "onboarding"
        self.ca_name: str | None = None
        self.task: asyncio.Task[None] | None = None
        self.flow: Onboarding | None = None
        self.details: dict[str, str] = {}
        self.keystore_password: str | None = None
        layout = scroll_layout(self)  # scrolls rather than grow the window on a small screen
        self.welcome = WelcomeHeader()  # where a first run lands: the demo, your own device, the platform's state
        self.welcome.demo_requested.connect(self.demo)
        self.welcome.own_requested.connect(self.own_device)
        layout.addWidget(self.welcome)
        layout.addWidget(QLabel("The guide's whole journey, step by step: against the local "
                                "platform to rehearse, or against your tenant."))
        self.target = PlatformTarget(self.profiles.secrets)
        layout.addWidget(self.target)
        form = QFormLayout()
        self.path = QComboBox()
        for key, label in PATH_LABELS.items():
            self.path.addItem(label, key)
            self.path.setItemData(self.path.count() - 1, PATHS[key], Qt.ItemDataRole.ToolTipRole)
        self.path.setToolTip("Which onboarding to rehearse; each has its own steps below")
        self.path.currentIndexChanged.connect(lambda _index: self._build_items())
        form.addRow("Path", self.path)
        self.device_id = QLineEdit(f"demo-device-{secrets.token_hex(2)}")
        self.device_id.setToolTip("The certificate's CN; the device connects as d:<CN>")
        form.addRow("Device id (CN)", self.device_id)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.run_button = QPushButton("Run the onboarding")
        self.run_button.clicked.connect(self.run)
        self.demo_button = QPushButton("Demo: run it all, then show live data")
        self.demo_button.setToolTip("Onboards a new device on the local platform with sensible names, then keeps it "
                                    "sending a temperature every second")
        self.demo_button.clicked.connect(self.demo)
        self.status = MessageLine("onboarding_status")  # a failure in the shared ProblemLabel style
        self.status.setText("The local platform starts with the app; the run uses it.")
        row.addWidget(self.run_button)
        row.addWidget(self.demo_button)
        row.addWidget(self.status, 1)
        layout.addLayout(row)
        split = QSplitter(Qt.Orientation.Vertical)
        self.checklist = QTreeWidget()
        self.checklist.setHeaderLabels(["Step", "Result", "Time"])
        self.checklist.setColumnWidth(0, 260)
        header = self.checklist.header()  # the Time column stays on screen; long results elide (full text as tooltip)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.checklist.currentItemChanged.connect(self._on_step_selected)
        self.checklist.itemDoubleClicked.connect(lambda _item, _col: self.show_selected())
        self.items: dict[str, QTreeWidgetItem] = {}
        self.titles: dict[str, str] = dict(STEPS)
        self._build_items()
        bottom = QWidget()
        below = QVBoxLayout(bottom)
        below.setContentsMargins(0, 0, 0, 0)
        link_row = QHBoxLayout()
        self.link = QPushButton("Show")
        self.link.setEnabled(False)
        self.link.clicked.connect(self.show_selected)
        link_row.addWidget(QLabel("Equivalent commands:"))
        link_row.addStretch(1)
        link_row.addWidget(self.link)
        below.addLayout(link_row)
        self.equivalent = QPlainTextEdit()
        self.equivalent.setReadOnly(True)
        self.equivalent.setPlaceholderText("Select a step to see its openssl / keytool / curl equivalent.")
        below.addWidget(self.equivalent)
        self.demo_panel = DemoPanel()
        self.demo_panel.hide()
        split.addWidget(self.checklist)
        split.addWidget(bottom)
        split.addWidget(self.demo_panel)
        split.setSizes([330, 130, 280])
        layout.addWidget(split, 1)

    def set_local_platform(self, info: LocalPlatformInfo) -> None:
        """The local platform runs: runs against it are possible."""
        self.target.set_local_platform(info)
        if self.target.is_local():
            self.status.setText(f"Local platform at {info.rest_url}, MQTT {info.ports['mqtts']}.")

    # --- run -----------------------------------------------------------------------------------------------
    def run(self, demo: bool = False) -> asyncio.Task[None]:
        """Run every step (resuming with the same CA after a failure); results appear as they come."""
        if self.task is not None and not self.task.done():
            return self.task
        self.demo_panel.stop()
        self.details.clear()
        self._build_items()
        self.run_button.setEnabled(False)
        self.demo_button.setEnabled(False)
        self.status.setText("running…")
        self.task = spawn(self, self._onboard(demo), self._ran, self._run_failed)
        return self.task

    def selected_path(self) -> str:
        """The chosen onboarding path (a key of services.onboarding.PATHS)."""
        return str(self.path.currentData() or CUSTOMER_CA)

    def _build_items(self) -> None:
        """The checklist of the chosen path, every step still open."""
        steps = PATH_STEPS[self.selected_path()]
        self.titles = dict(steps)
        self.checklist.clear()
        self.items.clear()
        for key, title in steps:
            item = QTreeWidgetItem([f"○ {title}", "", ""])
            item.setData(0, Qt.ItemDataRole.UserRole, key)
            self.checklist.addTopLevelItem(item)
            self.items[key] = item
        if hasattr(self, "equivalent"):  # built after the checklist in __init__
            self.equivalent.clear()
            self.link.setEnabled(False)

    def own_device(self) -> None:
        """"Onboard my own device": the target and device name come first, then Run."""
        self.target.kind.setFocus()
        self.status.setText("Choose the platform (the local one, or your tenant) and the device's id, then click "
                            "Run the onboarding.")

    def demo(self) -> asyncio.Task[None]:
        """The customer demo: local platform, a fresh thermostat, and live data at the end."""
        self.target.kind.setCurrentIndex(0)
        self.device_id.setText(f"demo-thermostat-{secrets.token_hex(2)}")
        return self.run(demo=True)

    def _run_failed(self, exc: WorkbenchError) -> None:
        self.status.show_error(f"✗ {exc.summary}: " + "; ".join(exc.causes))
        self._ready_again()

    def _ran(self, report: OnboardingReport) -> None:
        self._ready_again()
        self.finished.emit(report)

    def _ready_again(self) -> None:
        self.run_button.setEnabled(True)
        self.demo_button.setEnabled(True)
        self.run_button.setText("Run again")

    async def _onboard(self, demo: bool) -> OnboardingReport:
        http = self.target.http()  # says what is missing before anything is created
        mqtt_host, mqtt_port = self.target.mqtt_endpoint()
        trust = self.target.server_trust()
        keystore_password = secrets.token_urlsafe(12)
        stored = stored_ca_password(self.ca_name, self.profiles.secrets) if self.ca_name else None
        if self.ca_name and stored is None:
            self.ca_name = None  # its password is gone (a session-only store): start with a new CA
        ca_password = stored or secrets.token_urlsafe(16)
        device = self.device_id.text().strip()
        self._profile_args = (device, mqtt_host, mqtt_port, self.target.rest_url(), keystore_password)
        async with http:
            options = OnboardingOptions(http=http, mqtt_host=mqtt_host, mqtt_port=mqtt_port,
                                        workspace=self.workspace, out_dir=self.out_dir,
                                        ca_password=ca_password.encode(), keystore_password=keystore_password.encode(),
                                        ca_name=self.ca_name, device_id=device, server_trust=trust,
                                        jwks=self.target.is_local(), keep_connection=demo,
                                        certificate_validity=600 if demo and self.target.is_local() else 0,  # #17
                                        path=self.selected_path(),
                                        **(DEMO_NAMES if demo and not self.ca_name else {}))
            self.flow = Onboarding(options, self._show)
            report = await self.flow.run()
        if self.flow.ca_name:
            self.ca_name = self.flow.ca_name  # "Run again" resumes with the same CA
            self.details["ca"] = self.flow.ca_name
            remember_ca_password(self.flow.ca_name, ca_password.encode(), self.profiles.secrets)
        if report.ok:
            self.target.remember()
            where = ("its credentials went to the device only" if self.flow.o.path == BOOTSTRAP else
                     "its profile is in Connections")
            self.status.setText(f"✓ Device {device} is onboarded; {where}.")
            if demo and self.flow.connection is not None and (self.flow.token is not None or
                                                              self.flow.received is not None):
                self._start_demo(device)
        else:
            failed = report.steps[-1]
            self.status.show_error(f"✗ stopped at '{failed.step}'. Fix the cause shown, then Run again (the same "
                                   "CA is reused).")
        return report

    def _start_demo(self, device: str) -> None:
        assert self.flow is not None and self.flow.connection is not None
        token = self.flow.token
        received = self.flow.received
        if token is None:  # a password device has no token: nothing to renew, the demo panel says so
            assert received is not None
            token = DeviceToken("", {}, {"sub": received.user})
        renewal = None
        if self.flow.o.path == PLATFORM_CA and self.flow.identity is not None:  # renews live at 75 % (issue #17)
            renewal = CertificateRenewal(EstTarget(self.target.rest_url(), tuple(self.target.server_trust())),
                                         self.out_dir / device, self.flow.identity)
        simulated = SimulatedDevice(self.flow.connection, token, jwks=self.flow.jwks, renewal=renewal)
        self.demo_panel.show()
        self.demo_panel.start(simulated, device)
        if self.flow.token is None:
            self.demo_panel.token = None  # the panel's countdown keeps this text
            self.demo_panel.countdown.setText(f"Password device {received.login if received else ''}: Basic "
                                              "credentials, no token to renew")
        where = "" if self.flow.o.path == BOOTSTRAP else "; its profile is in Connections"
        self.status.setText(f"✓ Device {device} is onboarded and sends live data below{where}.")

    def _show(self, result: StepResult) -> None:
        self._mark(result.step, result.ok, result.message.split("; ")[0] if result.step == "device" else
                   result.message, f"{result.seconds * 1000:.0f} ms", result.causes)
        if result.step == "device" and result.ok:
            self.details["device"] = self.device_id.text().strip()
            self._mark("keystores", True, result.message.partition("; ")[2], "")
            self._save_profile(*self._profile_args)
        elif result.step == "keystores" and result.ok:  # the platform-CA path writes the same folder layout
            self._save_profile(*self._profile_args)

    def _mark(self, key: str, ok: bool, message: str, took: str, causes: tuple[str, ...] = ()) -> None:
        item = self.items[key]
        item.setText(0, f"{'✓' if ok else '✗'} {self.titles[key]}")
        item.setText(1, message)
        item.setToolTip(1, message)
        item.setText(2, took)
        for cause in causes:
            child = QTreeWidgetItem(["", cause, ""])
            child.setToolTip(1, cause)
            item.addChild(child)
        item.setExpanded(bool(causes))

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
        self.details["keystores"] = str(folder / "deviceKeystore.p12")
        self.keystore_password = password  # the link to the Keystores page opens the store without asking
        self.details["profile"] = profile.name
        self._mark("profile", True,
                   f"saved '{profile.name}' (keystores mode; passwords {self.profiles.secrets.kept})", "")

    # --- links and equivalents -----------------------------------------------------------------------------
    def _selected_key(self) -> str | None:
        current = self.checklist.currentItem()
        if current is None:
            return None
        owner = current.parent() or current
        return owner.data(0, Qt.ItemDataRole.UserRole)

    def _on_step_selected(self, _current: QTreeWidgetItem | None, _previous: object) -> None:
        key = self._selected_key()
        if key is None:
            return
        area, text = LINKS[key]
        self.link.setText(f"{text} ({area}) →")
        self.link.setEnabled(self.items[key].text(0).startswith("✓"))
        url = self.target.rest_url() or "<url>"
        self.equivalent.setPlainText(equivalent(key, self.key_facts(), url=url, device=self.device_id.text(),
                                                path=self.selected_path()))

    def key_facts(self) -> KeyFacts:
        """The key types, CA subject and validities of the last run (the run's defaults before one)."""
        flow = self.flow
        spec = OnboardingOptions.__dataclass_fields__["key_type"].default  # the key type the run makes
        default = spec_description(spec) if isinstance(spec, KeySpec) else KeyFacts.ca_key
        facts = KeyFacts(ca_key=default, device_key=default)
        if flow is not None and flow.ca_cert is not None:
            ca = flow.ca_cert
            subject = "".join(f"/{a.rfc4514_attribute_name}={a.value!s}" for a in ca.subject)
            facts = replace(facts, ca_key=describe_key(ca.public_key()), ca_subject=subject or facts.ca_subject,
                            ca_days=(ca.not_valid_after_utc - ca.not_valid_before_utc).days)
        if flow is not None and flow.identity is not None:
            leaf = flow.identity.chain[0]
            facts = replace(facts, device_key=describe_key(leaf.public_key()),
                            device_days=(leaf.not_valid_after_utc - leaf.not_valid_before_utc).days)
        return facts

    def show_selected(self) -> None:
        """Open the page where the selected step's result lives (emits `inspect`)."""
        key = self._selected_key()
        if key is not None and self.items[key].text(0).startswith("✓"):
            self.inspect.emit(LINKS[key][0], self.details.get(key, ""))
