"""A tenant of the local platform and its trust: the trusted certificates (edit, delete, upload a CA from the
workspace's CA store in one click) and the device token lifespan option."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.core.platform_client import requests as api
from workbench.core.platform_client.responses import TrustedCertificate
from workbench.services import certificates
from workbench.ui import theme
from workbench.ui.errors import run_action, spawn
from workbench.ui.local_platform.common import ProblemLabel, make_table, selected_data, set_row
from workbench.ui.local_platform.dialogs import EditCertificateDialog
from workbench.ui.local_platform.link import DEFAULT_TENANT, PlatformLink, post

CERT_COLUMNS = ("Name", "Status", "Auto-registration", "PoP", "Fingerprint")
MIN_LIFESPAN = 300  # the platform refuses shorter device tokens (422)


class TenantsPanel(QWidget):
    """Signals: tenant_changed(str) when another tenant is picked (the devices follow it)."""

    tenant_changed = Signal(str)

    def __init__(self, workspace: Path) -> None:
        super().__init__()
        self.workspace = workspace
        self.link: PlatformLink | None = None
        self.found: list[TrustedCertificate] = []
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("<b>Tenant</b>"))
        self.tenant_box = QComboBox()
        self.tenant_box.setMinimumWidth(120)
        self.tenant_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.tenant_box.setMinimumContentsLength(10)
        self.tenant_box.currentIndexChanged.connect(self._tenant_picked)
        new_tenant = QPushButton("New tenant…")
        new_tenant.setToolTip("Create another tenant (for the proof-of-possession scenario); its admin password is "
                              "kept for this session")
        new_tenant.clicked.connect(self._ask_new_tenant)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(lambda: self.refresh())
        bar.addWidget(self.tenant_box)
        bar.addWidget(new_tenant)
        bar.addStretch(1)
        bar.addWidget(refresh)
        layout.addLayout(bar)
        self.problem = ProblemLabel()
        layout.addWidget(self.problem)
        self.certificates = make_table(CERT_COLUMNS)
        self.certificates.itemSelectionChanged.connect(self._selection_changed)
        self.certificates.doubleClicked.connect(lambda: self.edit_selected())
        layout.addWidget(self.certificates, 1)
        actions = QHBoxLayout()
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(lambda: self.edit_selected())
        self.delete_button = QPushButton("Delete…")
        self.delete_button.clicked.connect(lambda: self.delete_selected())
        self.ca_box = QComboBox()
        self.ca_box.setMinimumWidth(140)  # a long CA name elides in the box, never widens the page
        self.ca_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.ca_box.setMinimumContentsLength(16)
        self.upload_button = QPushButton("Upload from CA store")
        self.upload_button.setToolTip("Upload the chosen CA of the workspace's CA store, enabled, with "
                                      "auto-registration on")
        self.upload_button.clicked.connect(lambda: self.upload_selected_ca())
        actions.addWidget(self.edit_button)
        actions.addWidget(self.delete_button)
        actions.addStretch(1)
        actions.addWidget(QLabel("CA"))
        actions.addWidget(self.ca_box)
        actions.addWidget(self.upload_button)
        layout.addLayout(actions)
        options = QHBoxLayout()
        options.addWidget(QLabel("<b>Device token lifespan</b>"))
        self.lifespan = QSpinBox()
        self.lifespan.setRange(MIN_LIFESPAN, 365 * 24 * 3600)
        self.lifespan.setSingleStep(300)
        self.lifespan.setSuffix(" s")
        self.lifespan_apply = QPushButton("Apply")
        self.lifespan_apply.clicked.connect(lambda: self.apply_lifespan())
        self.lifespan_note = QLabel(f"tenant option {'/'.join(api.DEVICE_TOKEN_OPTION)} (at least {MIN_LIFESPAN} s)")
        self.lifespan_note.setProperty("status", "neutral")  # a grey note, in the theme's muted colour
        self.lifespan_note.setWordWrap(True)
        options.addWidget(self.lifespan)
        options.addWidget(self.lifespan_apply)
        options.addWidget(self.lifespan_note, 1)
        layout.addLayout(options)
        self.reload_cas()
        self._selection_changed()

    # --- tenants -------------------------------------------------------------------------------------------
    @property
    def tenant(self) -> str:
        """The tenant shown (t100 until another is picked)."""
        return self.tenant_box.currentData() or DEFAULT_TENANT

    def set_link(self, link: PlatformLink | None) -> None:
        """A (re)started platform: list its tenants, then show the current one's trust and options."""
        self.link = link
        self.certificates.setRowCount(0)
        self.found = []
        if link is not None:
            spawn(self, link.get("/platform/tenants", "list the tenants"), self._show_tenants, self.problem.show_error)
            self.refresh()

    def _show_tenants(self, data: dict) -> None:
        before = self.tenant
        current = before if self.link is not None and self.link.knows(before) else DEFAULT_TENANT
        self.tenant_box.blockSignals(True)
        self.tenant_box.clear()
        for entry in (data or {}).get("tenants", []):
            self.tenant_box.addItem(f"{entry['id']}  ({entry['domain']})", entry["id"])
        self.tenant_box.setCurrentIndex(max(self.tenant_box.findData(current), 0))
        self.tenant_box.blockSignals(False)
        if self.tenant != before:  # a restarted platform: back to t100, whose password we have
            self.tenant_changed.emit(self.tenant)
            self.refresh()

    def _tenant_picked(self) -> None:
        tenant = self.tenant
        if self.link is not None and not self.link.knows(tenant):
            password, ok = QInputDialog.getText(self, f"Admin of {tenant}", f"Password of {tenant}/admin",
                                                echo=QLineEdit.EchoMode.Password)
            if not ok or not password:
                self.tenant_box.setCurrentIndex(self.tenant_box.findData(DEFAULT_TENANT))
                return
            self.link.passwords[tenant] = password
        self.tenant_changed.emit(tenant)
        self.refresh()

    def _ask_new_tenant(self) -> None:
        name, ok = QInputDialog.getText(self, "New tenant", "Tenant id (lower-case letters and digits, like t200)")
        if ok and name.strip():
            self.create_tenant(name.strip())

    def create_tenant(self, tenant: str) -> asyncio.Task[None] | None:
        """Create a tenant and keep its admin password for this session; then pick it."""
        if self.link is None:
            return None
        link = self.link

        async def create() -> dict:
            async with link.http() as http:
                return await http.json(post("/platform/tenants", {"id": tenant}, f"create tenant {tenant}"))

        def created(data: dict) -> None:
            link.passwords[tenant] = str(data["password"])
            self.tenant_box.addItem(f"{tenant}  ({data['domain']})", tenant)
            self.tenant_box.setCurrentIndex(self.tenant_box.findData(tenant))

        return spawn(self, create(), created, self.problem.show_error)

    # --- trusted certificates ------------------------------------------------------------------------------
    def refresh(self) -> asyncio.Task[None] | None:
        """Read the tenant's trusted certificates and its token lifespan over REST."""
        if self.link is None or not self.link.knows(self.tenant):
            return None
        link, tenant = self.link, self.tenant

        async def load() -> tuple[list[TrustedCertificate], str]:
            async with link.http(tenant) as http:
                found = await http.trusted_certificates(tenant)
                option = await http.json(api.get_option(*api.DEVICE_TOKEN_OPTION))
            return found, str((option or {}).get("value", ""))

        return spawn(self, load(), self._show, self.problem.show_error)

    def _show(self, loaded: tuple[list[TrustedCertificate], str]) -> None:
        self.problem.clear_error()
        self.found, lifespan = loaded
        selected = selected_data(self.certificates)
        self.certificates.setRowCount(len(self.found))
        for row, cert in enumerate(self.found):
            colour = None if cert.status == "ENABLED" else theme.current().muted
            set_row(self.certificates, row, (cert.name, cert.status, "on" if cert.auto_registration else "off",
                                             cert.pop_state, cert.fingerprint), colour, cert.fingerprint)
            if cert.fingerprint == selected:
                self.certificates.selectRow(row)
        if lifespan.isdigit():
            self.lifespan.setValue(int(lifespan))
        self._selection_changed()

    def _selection_changed(self) -> None:
        chosen = selected_data(self.certificates) is not None
        self.edit_button.setEnabled(chosen)
        self.delete_button.setEnabled(chosen)

    def _certificate(self, fingerprint: str | None) -> TrustedCertificate | None:
        return next((c for c in self.found if c.fingerprint == fingerprint), None)

    def edit_selected(self) -> None:
        """Open the edit form for the selected certificate and send what changed."""
        cert = self._certificate(selected_data(self.certificates))
        if cert is None:
            return
        dialog = EditCertificateDialog(cert, self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.changes():
            self.update_certificate(cert.fingerprint, **dialog.changes())

    def update_certificate(self, fingerprint: str, **changes: object) -> asyncio.Task[None] | None:
        """PUT name / status / auto-registration, then show the list again."""
        return self._call(api.update_trusted_certificate(self.tenant, fingerprint, **changes))  # type: ignore[arg-type]

    def delete_selected(self, confirm: bool = True) -> asyncio.Task[None] | None:
        """Delete the selected certificate after asking (its devices' sessions close at once)."""
        cert = self._certificate(selected_data(self.certificates))
        if cert is None:
            return None
        return self.delete_certificate(cert.fingerprint, confirm)

    def delete_certificate(self, fingerprint: str, confirm: bool = True) -> asyncio.Task[None] | None:
        """DELETE one trusted certificate."""
        cert = self._certificate(fingerprint)
        name = cert.name if cert is not None else fingerprint
        if confirm and QMessageBox.question(
                self, "Delete trusted certificate",
                f"Delete '{name}' from tenant {self.tenant}? Devices chaining to it can no longer connect, and their "
                "open MQTT sessions are closed now.") != QMessageBox.StandardButton.Yes:
            return None
        return self._call(api.delete_trusted_certificate(self.tenant, fingerprint))

    def _call(self, request: api.ApiRequest) -> asyncio.Task[None] | None:
        if self.link is None:
            return None
        link, tenant = self.link, self.tenant

        async def send() -> None:
            async with link.http(tenant) as http:
                await http.send(request)

        return spawn(self, send(), lambda _none: self.refresh(), self.problem.show_error)

    # --- CA store ------------------------------------------------------------------------------------------
    def reload_cas(self) -> None:
        """List the CAs of the workspace's CA store (roots and intermediates)."""
        self.ca_box.clear()
        if self.workspace.exists():
            for name in run_action(self, lambda: certificates.ca_names(self.workspace), self.problem) or []:
                self.ca_box.addItem(name, name)
        if not self.ca_box.count():
            self.ca_box.addItem("(no CA in the workspace)", None)
        self.upload_button.setEnabled(self.ca_box.currentData() is not None)

    def upload_selected_ca(self) -> asyncio.Task[None] | None:
        """Upload the chosen CA, enabled and with auto-registration on (the guide's first step)."""
        name = self.ca_box.currentData()
        if name is None:
            return None
        certificate = run_action(self, lambda: certificates.ca_certificate(self.workspace, name), self.problem)
        if certificate is None:
            return None
        return self._call(api.upload_trusted_certificate(self.tenant, certificate, name))

    # --- options -------------------------------------------------------------------------------------------
    def apply_lifespan(self) -> asyncio.Task[None] | None:
        """Set the tenant's device token lifespan (new tokens get it; issued ones keep theirs)."""
        return self._call(api.set_option(*api.DEVICE_TOKEN_OPTION, str(self.lifespan.value())))

