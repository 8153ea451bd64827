"""The Local Platform page: its state and credentials, the live event log, and the tenant's trusted certificates.

The event log reads the platform's server-sent event stream, so refusals appear with their reasons the moment a
device is turned away; it is colour-coded, filterable and exportable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from pathlib import Path

import aiohttp
from PySide6.QtGui import QBrush, QColor, QGuiApplication
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.files import write_atomic
from workbench.core.platform_client.requests import basic_authorization
from workbench.errors import WorkbenchError
from workbench.services.local_platform import LocalPlatformInfo
from workbench.services.onboarding import server_context, trust_from_pem
from workbench.services.platform_http import PlatformCredentials, PlatformHttp
from workbench.ui.local_platform_control import LocalPlatformControl

KIND_COLOURS = {"refused": "#c62828", "tls_failed": "#c62828", "sessions_closed": "#ef6c00",
                "connected": "#2e7d32", "registered": "#1565c0", "token_issued": "#6a1b9a", "token_reused": "#6a1b9a",
                "pop_completed": "#00838f", "certificate_uploaded": "#00838f"}
COLUMNS = ("Time", "Event", "Tenant", "Device", "What happened")


class LocalPlatformPage(QWidget):
    """State, credentials, live events and trusted certificates of the bundled platform."""

    def __init__(self, control: LocalPlatformControl) -> None:
        super().__init__()
        self.control = control
        self.info: LocalPlatformInfo | None = None
        self.events: list[dict] = []
        self._stream: asyncio.Task[None] | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<h2>Local Platform</h2>The cloud's side of the guide on this machine: MQTT over "
                                "mutual TLS, the REST API, registration and device tokens."))
        row = QHBoxLayout()
        self.state = QLabel("not started")
        self.restart_button = QPushButton("Restart")
        self.restart_button.clicked.connect(self.restart)
        self.reset_button = QPushButton("Reset…")
        self.reset_button.setToolTip("Delete every tenant, certificate, device and token of the local platform")
        self.reset_button.clicked.connect(self.reset)
        row.addWidget(self.state, 1)
        row.addWidget(self.restart_button)
        row.addWidget(self.reset_button)
        layout.addLayout(row)
        form = QFormLayout()
        self.ports = QLabel("–")
        self.rest_url = QLabel("–")
        self.folder = QLabel("–")
        self.server_ca = QLabel("–")
        self.admin = QLineEdit()
        self.admin.setReadOnly(True)
        self.admin.setEchoMode(QLineEdit.EchoMode.Password)
        copy = QPushButton("Copy password")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.info.admin_password if self.info else ""))
        admin_row = QHBoxLayout()
        admin_row.addWidget(QLabel("t100/admin"))
        admin_row.addWidget(self.admin, 1)
        admin_row.addWidget(copy)
        form.addRow("Ports", self.ports)
        form.addRow("REST", self.rest_url)
        form.addRow("Data folder", self.folder)
        form.addRow("Server CA (for truststores)", self.server_ca)
        form.addRow("Admin", admin_row)
        layout.addLayout(form)
        split = QSplitter()
        log_panel = QWidget()
        log_layout = QVBoxLayout(log_panel)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("<b>Live event log</b>"))
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("filter: kind, device or words")
        self.filter.textChanged.connect(self._apply_filter)
        export = QPushButton("Export…")
        export.clicked.connect(lambda: self.export_events())
        bar.addWidget(self.filter, 1)
        bar.addWidget(export)
        log_layout.addLayout(bar)
        self.log = QTableWidget(0, len(COLUMNS))
        self.log.setHorizontalHeaderLabels(COLUMNS)
        self.log.horizontalHeader().setStretchLastSection(True)
        self.log.verticalHeader().setVisible(False)
        log_layout.addWidget(self.log)
        split.addWidget(log_panel)
        cert_panel = QWidget()
        cert_layout = QVBoxLayout(cert_panel)
        cert_bar = QHBoxLayout()
        cert_bar.addWidget(QLabel("<b>Trusted certificates of t100</b>"))
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(lambda: self.refresh_certificates())
        cert_bar.addWidget(refresh)
        cert_layout.addLayout(cert_bar)
        self.certificates = QTableWidget(0, 5)
        self.certificates.setHorizontalHeaderLabels(("Name", "Status", "Auto-registration", "PoP", "Fingerprint"))
        self.certificates.horizontalHeader().setStretchLastSection(True)
        cert_layout.addWidget(self.certificates)
        split.addWidget(cert_panel)
        split.setSizes([700, 500])
        layout.addWidget(split, 1)
        control.state_changed.connect(self.state.setText)
        control.ready.connect(self.set_info)

    # --- state ---------------------------------------------------------------------------------------------
    def set_info(self, info: LocalPlatformInfo) -> None:
        """The platform runs: show how to reach it and follow its events."""
        self.info = info
        self.ports.setText("  ".join(f"{k} {v}" for k, v in info.ports.items()))
        self.rest_url.setText(info.rest_url)
        self.folder.setText(str(info.data_dir) if info.data_dir else "in memory (ephemeral)")
        self.server_ca.setText(str(info.server_ca))
        self.admin.setText(info.admin_password)
        if self._stream is not None:
            self._stream.cancel()
        self._stream = asyncio.get_event_loop().create_task(self._follow(info))
        self.refresh_certificates()

    def restart(self) -> None:
        """Stop the platform this app started, and start it again."""
        self._stop_stream()
        self.control.stop()
        self.control.start()

    def reset(self, confirm: bool = True) -> None:
        """Delete the platform's data after asking, then start afresh."""
        if confirm and QMessageBox.question(
                self, "Reset the local platform",
                "Delete every tenant, trusted certificate, device, token and stored measurement of the local "
                "platform? Truststores made for it must be made again.") != QMessageBox.StandardButton.Yes:
            return
        self._stop_stream()
        self.control.reset()
        self.log.setRowCount(0)
        self.events.clear()

    def _stop_stream(self) -> None:
        if self._stream is not None:
            self._stream.cancel()
            self._stream = None

    # --- event log -----------------------------------------------------------------------------------------
    async def _follow(self, info: LocalPlatformInfo) -> None:
        context = server_context(trust_from_pem(info.server_ca.read_bytes()))
        headers = {"Authorization": basic_authorization("t100", "admin", info.admin_password)}
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError, ssl.SSLError, ConnectionError):
            async with aiohttp.ClientSession(timeout=timeout) as session, session.get(
                    f"{info.rest_url}/platform/events?history=true", headers=headers, ssl=context) as response:
                async for raw in response.content:
                    line = raw.decode("utf-8", "replace").strip()
                    if line.startswith("data: "):
                        self.add_event(json.loads(line[6:]))

    def add_event(self, event: dict) -> None:
        """One row, coloured by kind (refusals red, connections green, registrations blue)."""
        self.events.append(event)
        row = self.log.rowCount()
        self.log.insertRow(row)
        values = (event.get("time", "")[11:23], event.get("kind", ""), event.get("tenant", ""),
                  event.get("device", ""), event.get("message", ""))
        colour = QBrush(QColor(KIND_COLOURS.get(event.get("kind", ""), "#37474f")))
        for column, value in enumerate(values):
            item = QTableWidgetItem(value)
            item.setForeground(colour)
            self.log.setItem(row, column, item)
        self.log.setRowHidden(row, not self._matches(event))
        self.log.scrollToBottom()

    def _matches(self, event: dict) -> bool:
        text = self.filter.text().strip().lower()
        return not text or any(text in str(event.get(k, "")).lower() for k in ("kind", "device", "message"))

    def _apply_filter(self) -> None:
        for row, event in enumerate(self.events):
            self.log.setRowHidden(row, not self._matches(event))

    def export_events(self, path: Path | None = None) -> int:
        """The shown events as JSON Lines."""
        if path is None:
            from PySide6.QtWidgets import QFileDialog

            name = QFileDialog.getSaveFileName(self, "Export events", "platform-events.jsonl",
                                               "JSON Lines (*.jsonl)")[0]
            if not name:
                return 0
            path = Path(name)
        shown = [e for e in self.events if self._matches(e)]
        write_atomic(path, "".join(json.dumps(e) + "\n" for e in shown).encode())
        return len(shown)

    # --- certificates --------------------------------------------------------------------------------------
    def refresh_certificates(self) -> asyncio.Task[None] | None:
        """Read t100's trusted certificates over the REST API."""
        if self.info is None:
            return None
        return asyncio.get_event_loop().create_task(self._load_certificates(self.info))

    async def _load_certificates(self, info: LocalPlatformInfo) -> None:
        try:
            async with PlatformHttp(info.rest_url, PlatformCredentials("admin", info.admin_password, "t100"),
                                    trust=server_context(trust_from_pem(info.server_ca.read_bytes()))) as http:
                found = await http.trusted_certificates("t100")
        except WorkbenchError as exc:
            self.state.setText(f"{self.state.text()} (certificates: {exc.summary})")
            return
        self.certificates.setRowCount(len(found))
        for row, cert in enumerate(found):
            values = (cert.name, cert.status, "on" if cert.auto_registration else "off", cert.pop_state,
                      cert.fingerprint)
            for column, value in enumerate(values):
                self.certificates.setItem(row, column, QTableWidgetItem(value))
