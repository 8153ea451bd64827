"""The devices of a tenant on the local platform, polled every second while shown: user, managed object, external
id, certificate, last seen and connected state, and the selected device's live data and operations."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QHideEvent, QShowEvent
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from workbench.ui import theme
from workbench.ui.errors import spawn
from workbench.ui.local_platform.common import ProblemLabel, make_table, selected_data, set_row
from workbench.ui.local_platform.device_detail import DeviceDetail, local_time
from workbench.ui.local_platform.dialogs import OperationDialog
from workbench.ui.local_platform.link import DEFAULT_TENANT, PlatformLink, get, post

DEVICE_COLUMNS = ("Device", "User", "Managed object", "External id", "Certificate (CN · issuing CA)", "Last seen",
                  "Connection")
POLL_MS = 1000
LIST_EVERY = 3  # ticks between device list refreshes (events about devices refresh it at once)


def certificate_text(device: dict[str, Any]) -> str:
    """`CN=dev-1 · Demo CA (3f2a9c1e…)`: the platform keeps the issuing CA, not the device certificate."""
    cert = device.get("certificate")
    if not cert:
        return "password" if device.get("authType") == "BASIC" else "–"
    issuer = cert.get("issuerName") or "CA"
    fp = cert.get("issuerFingerprint")
    return f"CN={cert['cn']} · {issuer} ({fp[:8]}…)" if fp else f"CN={cert['cn']}"


class DevicesPanel(QWidget):
    """Device table above, the selected device's detail below; polling runs only while the panel is visible."""

    def __init__(self) -> None:
        super().__init__()
        self.link: PlatformLink | None = None
        self.tenant = DEFAULT_TENANT
        self.entries: list[dict[str, Any]] = []
        self._ticks = 0
        self._busy: set[str] = set()
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.heading = QLabel(f"<b>Devices of {self.tenant}</b>")
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(lambda: self.refresh_list())
        bar.addWidget(self.heading, 1)
        bar.addWidget(refresh)
        layout.addLayout(bar)
        self.problem = ProblemLabel()
        layout.addWidget(self.problem)
        split = QSplitter(Qt.Orientation.Vertical)
        self.devices = make_table(DEVICE_COLUMNS, stretch=4)
        self.devices.itemSelectionChanged.connect(self._selected)
        self.detail = DeviceDetail()
        self.detail.create_button.clicked.connect(self.ask_operation)
        split.addWidget(self.devices)
        split.addWidget(self.detail)
        split.setSizes([170, 430])
        layout.addWidget(split, 1)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.tick)

    def set_link(self, link: PlatformLink | None) -> None:
        """A (re)started platform, or None when it stopped (polling pauses)."""
        self.link = link
        if link is None:
            self.timer.stop()
            return
        if self.isVisible():
            self.timer.start()
        self.refresh_list()

    def set_tenant(self, tenant: str) -> None:
        """Show another tenant's devices."""
        self.tenant = tenant
        self.heading.setText(f"<b>Devices of {tenant}</b>")
        self.entries = []
        self.devices.setRowCount(0)
        self.detail.set_device(None)
        self.refresh_list()

    def showEvent(self, event: QShowEvent) -> None:
        """Poll while visible."""
        super().showEvent(event)
        if self.link is not None:
            self.timer.start()
            self.tick()

    def hideEvent(self, event: QHideEvent) -> None:
        """No polling while nobody looks."""
        super().hideEvent(event)
        self.timer.stop()

    def tick(self) -> None:
        """One poll: the selected device every second, the device list every few seconds."""
        if self._ticks % LIST_EVERY == 0:
            self.refresh_list()
        self._ticks += 1
        self.poll_selected()

    # --- device list ---------------------------------------------------------------------------------------
    def refresh_list(self) -> asyncio.Task[None] | None:
        """Read `/platform/devices` of the tenant (skipped while a read is under way)."""
        if self.link is None or not self.link.knows(self.tenant) or "list" in self._busy:
            return None
        self._busy.add("list")
        return spawn(self, self._finish("list", self.link.get("/platform/devices", "list the devices", self.tenant)),
                      self._show_list, self.problem.show_error)

    async def _finish(self, what: str, work: Any) -> Any:
        try:
            return await work
        finally:
            self._busy.discard(what)

    def _show_list(self, data: dict) -> None:
        self.problem.clear_error()
        entries = (data or {}).get("devices", [])
        if entries == self.entries:
            return
        chosen = selected_data(self.devices)
        self.entries = entries
        self.devices.blockSignals(True)
        self.devices.setRowCount(len(entries))
        for row, device in enumerate(entries):
            mo = device.get("managedObject") or {}
            externals = ", ".join(f"{e['type']}: {e['externalId']}" for e in device.get("externalIds", []))
            online = device.get("connected")
            set_row(self.devices, row, (device["deviceId"], device.get("user") or "–", mo.get("id", "–"),
                                        externals or "–", certificate_text(device),
                                        local_time(device.get("lastSeen"), True),
                                        "● connected" if online else "○ offline"), None, device["deviceId"])
            state = self.devices.item(row, 6)
            assert state is not None  # set_row has just filled the row
            state.setForeground(QBrush(theme.status_colour("ok" if online else "neutral")))
            if device["deviceId"] == chosen:
                self.devices.selectRow(row)
        self.devices.blockSignals(False)
        if chosen is None and entries:
            self.devices.selectRow(0)
        self._selected(refresh_only=True)

    def _selected(self, refresh_only: bool = False) -> None:
        chosen = selected_data(self.devices)
        device = next((d for d in self.entries if d["deviceId"] == chosen), None)
        same = self.detail.device is not None and device is not None and \
            self.detail.device["deviceId"] == device["deviceId"] and \
            self.detail.device.get("managedObject") == device.get("managedObject")
        if same:
            self.detail.device = device
            return
        self.detail.set_device(device)
        if not refresh_only or device is not None:
            self.poll_selected()

    # --- selected device -----------------------------------------------------------------------------------
    def poll_selected(self) -> asyncio.Task[None] | None:
        """Read the selected device's measurements, events, alarms and operations in one session."""
        mo = ((self.detail.device or {}).get("managedObject") or {}).get("id")
        if self.link is None or mo is None or "detail" in self._busy or not self.link.knows(self.tenant):
            return None
        self._busy.add("detail")
        link, tenant = self.link, self.tenant

        async def fetch() -> tuple[str, dict[str, list]]:
            found: dict[str, list] = {}
            async with link.http(tenant) as http:
                for key, path, what in (
                        ("measurements", f"/measurement/measurements?source={mo}&pageSize=100&revert=true",
                         "read measurements"),
                        ("events", f"/event/events?source={mo}&pageSize=20&revert=true", "read events"),
                        ("alarms", f"/alarm/alarms?source={mo}&pageSize=20&revert=true", "read alarms"),
                        ("operations", f"/devicecontrol/operations?deviceId={mo}&pageSize=2000",
                         "read operations")):
                    found[key] = (await http.json(get(path, what)) or {}).get(key, [])
            return mo, found

        def show(result: tuple[str, dict[str, list]]) -> None:
            if ((self.detail.device or {}).get("managedObject") or {}).get("id") == result[0]:
                self.detail.apply(result[1])

        return spawn(self, self._finish("detail", fetch()), show, self.problem.show_error)

    def ask_operation(self) -> None:
        """The operation form for the selected device."""
        device = self.detail.device
        if device is None:
            return
        dialog = OperationDialog(device["deviceId"], self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.create_operation(dialog.body())

    def create_operation(self, body: dict[str, Any]) -> asyncio.Task[None] | None:
        """POST /devicecontrol/operations for the selected device; a connected device gets it on s/ds at once."""
        mo = ((self.detail.device or {}).get("managedObject") or {}).get("id")
        if self.link is None or mo is None:
            return None
        link, tenant = self.link, self.tenant

        async def create() -> None:
            async with link.http(tenant) as http:
                await http.json(post("/devicecontrol/operations", {"deviceId": mo, **body}, "create the operation"))

        return spawn(self, create(), lambda _none: self.poll_selected(), self.problem.show_error)

