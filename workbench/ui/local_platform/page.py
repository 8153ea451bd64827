"""The Local Platform page: its state and credentials, the live event log, tenants with their trust, and devices.

The event log reads the platform's server-sent event stream, so refusals appear with their reasons the moment a
device is turned away ("why?" names the failed check and its fix); the same events refresh the trusted
certificates and the devices at once, and the devices tab polls the selected device's data every second.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import ssl
from pathlib import Path

from cryptography import x509
from PySide6.QtWidgets import QMessageBox, QTabWidget, QWidget

from workbench import paths
from workbench.core.platform_client.requests import basic_authorization
from workbench.services.local_platform import LocalPlatformInfo
from workbench.ui.errors import spawn
from workbench.ui.local_platform.devices_panel import DevicesPanel
from workbench.ui.local_platform.event_log import COLUMNS, KIND_COLOURS, EventLog
from workbench.ui.local_platform.link import PlatformLink
from workbench.ui.local_platform.status_panel import StatusPanel
from workbench.ui.local_platform.tenants_panel import TenantsPanel
from workbench.ui.local_platform.truststore_dialog import TruststoreDialog
from workbench.ui.local_platform.virtual_hosts import VirtualHostsPanel
from workbench.ui.local_platform.why_dialog import WhyDialog, explain
from workbench.ui.local_platform_control import LocalPlatformControl
from workbench.ui.widgets.fit import scroll_layout

__all__ = ["COLUMNS", "KIND_COLOURS", "LocalPlatformPage"]
TRUST_KINDS = ("certificate_", "pop_completed", "sessions_closed")
DEVICE_KINDS = ("connected", "disconnected", "registered", "device_created", "operation_", "refused")


class LocalPlatformPage(QWidget):
    """State, credentials, live events, tenants with their trusted certificates, and devices of the bundled platform."""

    def __init__(self, control: LocalPlatformControl, workspace: Path | None = None) -> None:
        super().__init__()
        self.control = control
        self.workspace = workspace or paths.default_workspace()
        self.info: LocalPlatformInfo | None = None
        self.link: PlatformLink | None = None
        self.why_dialog: WhyDialog | None = None
        self._stream: asyncio.Task[None] | None = None
        layout = scroll_layout(self)  # scrolls rather than grow the window on a small screen
        self.status = StatusPanel()
        layout.addWidget(self.status)
        self.state, self.admin, self.server_ca = self.status.state, self.status.admin, self.status.server_ca
        self.ports, self.rest_url, self.folder = self.status.ports, self.status.rest_url, self.status.folder
        self.start_button, self.stop_button = self.status.start_button, self.status.stop_button
        self.restart_button, self.reset_button = self.status.restart_button, self.status.reset_button
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.restart_button.clicked.connect(self.restart)
        self.reset_button.clicked.connect(lambda: self.reset())
        self.status.truststore_button.clicked.connect(lambda: self.add_to_truststore())
        self.event_log = EventLog()
        self.log, self.filter, self.events = self.event_log.log, self.event_log.filter, self.event_log.events
        self.event_log.event_added.connect(self._event_arrived)
        self.event_log.why_requested.connect(self.show_why)
        self.tenants = TenantsPanel(self.workspace)
        self.certificates = self.tenants.certificates
        self.devices = DevicesPanel()
        self.tenants.tenant_changed.connect(self.devices.set_tenant)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.event_log, "Live event log")
        self.tabs.addTab(self.tenants, "Tenants and trusted certificates")
        self.tabs.addTab(self.devices, "Devices")
        self.virtual_hosts = VirtualHostsPanel()
        self.tabs.addTab(self.virtual_hosts, "Virtual hosts (SNI)")
        layout.addWidget(self.tabs, 1)
        control.state_changed.connect(self._state_changed)
        control.ready.connect(self.set_info)

    # --- state ---------------------------------------------------------------------------------------------
    def set_info(self, info: LocalPlatformInfo) -> None:
        """The platform runs: show how to reach it, follow its events, and read its tenants and devices."""
        self.info = info
        self.link = PlatformLink(info)
        self.status.show_info(info)
        if not self.state.text().startswith("running"):
            self.state.setText(f"running: MQTT/TLS {info.ports.get('mqtts')}, REST {info.ports.get('https')}")
        self._stop_stream()
        self._stream = spawn(self, self._follow(info))
        self.tenants.set_link(self.link)
        self.devices.set_link(self.link)
        self.virtual_hosts.set_link(self.link)

    def _state_changed(self, text: str) -> None:
        self.state.setText(text)
        if text == "stopped" or text.startswith("not running"):
            self.status.set_running(False)
        elif text == "starting…":
            self.start_button.setEnabled(False)

    def start(self) -> None:
        """Start the platform (or reuse the one running for this data folder)."""
        self.start_button.setEnabled(False)
        self.control.start()

    def stop(self) -> None:
        """Stop the platform this app started; the panels stop polling."""
        if self.control.process.process is None and self.info is not None and not self.info.started_here:
            self.state.setText("not stopped: this platform was started outside the app; stop it there")
            self._detach()
            return
        self._detach()
        self.control.stop()
        self.status.set_running(False)

    def restart(self) -> None:
        """Stop the platform this app started, and start it again."""
        self.stop()
        self.start()

    def reset(self, confirm: bool = True) -> None:
        """Delete the platform's data after asking, then start afresh."""
        if confirm and QMessageBox.question(
                self, "Reset the local platform",
                "Delete every tenant, trusted certificate, device, token and stored measurement of the local "
                "platform? Truststores made for it must be made again.") != QMessageBox.StandardButton.Yes:
            return
        self._detach()
        self.control.reset()
        self.event_log.clear()

    def _detach(self) -> None:
        self._stop_stream()
        self.tenants.set_link(None)
        self.devices.set_link(None)
        self.virtual_hosts.set_link(None)

    def _stop_stream(self) -> None:
        if self._stream is not None:
            self._stream.cancel()
            self._stream = None

    def add_to_truststore(self) -> TruststoreDialog | None:
        """Open the dialog that imports the server CA into a PKCS#12 or JKS truststore."""
        if self.info is None:
            return None
        dialog = TruststoreDialog(self.info.server_ca, self)
        if dialog.exec() and dialog.result_text:
            self.state.setToolTip(dialog.result_text)
            QMessageBox.information(self, "Truststore", dialog.result_text)
        return dialog

    # --- event log -----------------------------------------------------------------------------------------
    async def _follow(self, info: LocalPlatformInfo) -> None:
        import aiohttp  # here, not at import: it costs the window's cold start ~0.3 s (bench/cold_start.py)

        context = self.link.trust if self.link is not None else None
        headers = {"Authorization": basic_authorization("t100", "admin", info.admin_password)}
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError, ssl.SSLError, ConnectionError):
            async with aiohttp.ClientSession(timeout=timeout) as session, session.get(
                    f"{info.rest_url}/platform/events?history=true", headers=headers,
                    ssl=context if context is not None else True) as response:
                async for raw in response.content:
                    line = raw.decode("utf-8", "replace").strip()
                    if line.startswith("data: "):
                        self.add_event(json.loads(line[6:]))

    def add_event(self, event: dict) -> None:
        """One row, coloured by kind (refusals red, connections green, registrations blue)."""
        self.event_log.add_event(event)

    def _event_arrived(self, event: dict) -> None:
        kind = str(event.get("kind", ""))
        if kind.startswith(TRUST_KINDS) and event.get("tenant") == self.tenants.tenant:
            self.tenants.refresh()
        if kind == "tenant_created":  # a new tenant domain serves its own certificate
            self.virtual_hosts.refresh()
        if kind.startswith(DEVICE_KINDS):
            self.devices.refresh_list()
            if kind.startswith("operation_"):
                self.devices.poll_selected()

    def export_events(self, path: Path | None = None) -> int:
        """The shown events as JSON Lines."""
        return self.event_log.export_events(path)

    def show_why(self, event: dict) -> WhyDialog:
        """Explain a refusal: the failed check and its fix, and the lint of the chain when the CA store has it."""
        trusted = []
        for cert in self.tenants.found:
            with contextlib.suppress(ValueError, KeyError):
                trusted.append(x509.load_der_x509_certificate(base64.b64decode(cert.raw["certInPemFormat"])))
        if self.why_dialog is not None:
            self.why_dialog.close()
        self.why_dialog = WhyDialog(explain(event, self.workspace, trusted), self)
        self.why_dialog.show()
        return self.why_dialog

    # --- certificates --------------------------------------------------------------------------------------
    def refresh_certificates(self) -> asyncio.Task[None] | None:
        """Read the shown tenant's trusted certificates (and token lifespan) over the REST API."""
        return self.tenants.refresh()
