"""The Local Platform page: credentials and ports, stop and start, the live event log (a refusal appears with its
reason, and "why?" names the failed check), the tenants' trusted certificates (edit, delete, upload from the CA
store), the token lifespan option, the server CA in a truststore, and devices with live data and operations."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from pytestqt.qtbot import QtBot

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from tests.support.certs import simple_cert as _cert
from workbench.core.keystore.operations import read_store
from workbench.core.pki.keys import KeySpec
from workbench.core.pki.names import parse_dn
from workbench.core.pki.profiles import device_profile
from workbench.core.pki.store import CAStore
from workbench.core.platform_client import requests as api
from workbench.core.tls import ClientIdentity, client_context, server_context, trust_from_pem
from workbench.errors import WorkbenchError
from workbench.services.local_platform import LocalPlatformInfo, LocalPlatformProcess
from workbench.services.platform_http import PlatformCredentials, PlatformHttp
from workbench.services.token_flow import DeviceConnection
from workbench.ui.errors import pending
from workbench.ui.local_platform.dialogs import EditCertificateDialog
from workbench.ui.local_platform.page import LocalPlatformPage
from workbench.ui.local_platform.truststore_dialog import TruststoreDialog, add_to_truststore
from workbench.ui.local_platform_control import LocalPlatformControl


def test_page_shows_live_refusals_certificates_and_resets(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
                                                           tmp_path: Path, screenshot_dir: Path) -> None:
    control = LocalPlatformControl(LocalPlatformProcess(ephemeral=True), prepare_demo=False)
    page = LocalPlatformPage(control, workspace=tmp_path / "ws")
    qtbot.addWidget(page)
    page.resize(1300, 800)
    page.show()
    try:
        control.start()
        qtbot.waitUntil(lambda: page.info is not None, timeout=30_000)
        info = page.info
        assert page.admin.text() == info.admin_password and str(info.server_ca) == page.server_ca.text()
        key = ec.generate_private_key(ec.SECP256R1())
        ca = _cert("Page CA", key, None, key)
        trust = trust_from_pem(info.server_ca.read_bytes())

        async def upload() -> None:
            async with PlatformHttp(info.rest_url, PlatformCredentials("admin", info.admin_password, "t100"),
                                    trust=server_context(trust)) as http:
                await http.trusted_certificate_call(api.upload_trusted_certificate("t100", ca, "Page CA",
                                                                                   auto_registration=False))

        uploaded = qasync_loop.create_task(upload())
        qtbot.waitUntil(uploaded.done, timeout=10_000)
        assert uploaded.exception() is None
        page.refresh_certificates()
        qtbot.waitUntil(lambda: page.certificates.rowCount() == 1, timeout=10_000)
        assert page.certificates.item(0, 0).text() == "Page CA" and page.certificates.item(0, 2).text() == "off"
        device = ClientIdentity(key, (_cert("page-device", key, ca, key), ca))
        connection = DeviceConnection("localhost", info.ports["mqtts"], "d:page-device",
                                      client_context(trust=list(trust), identity=device), timeout=5)
        try:
            connection.connect()
        except WorkbenchError:
            pass  # refused: auto-registration is off
        finally:
            connection.close()
        qtbot.waitUntil(lambda: any(e["kind"] == "refused" for e in page.events), timeout=10_000)
        refusal = next(e for e in page.events if e["kind"] == "refused")
        assert "auto-registration is off" in refusal["message"]
        row = next(r for r, e in enumerate(page.events) if e["kind"] == "refused")
        assert page.log.cellWidget(row, 5) is not None  # the "why?" button
        page.event_log.why(row)
        assert page.why_dialog is not None and page.why_dialog.explanation.failed_check == "not-registered"
        assert "auto-registration" in page.why_dialog.report.toPlainText()
        page.why_dialog.close()
        page.grab().save(str(screenshot_dir / "local-platform-page.png"))
        page.filter.setText("refused")
        shown = [r for r in range(page.log.rowCount()) if not page.log.isRowHidden(r)]
        assert shown and all(page.log.item(r, 1).text() == "refused" for r in shown)
        out = tmp_path / "events.jsonl"
        assert page.export_events(out) == len(shown)
        assert json.loads(out.read_text().splitlines()[0])["kind"] == "refused"
        assert not page.start_button.isEnabled() and page.stop_button.isEnabled()
        page.stop_button.click()
        qtbot.waitUntil(lambda: page.state.text() == "stopped", timeout=15_000)
        assert page.start_button.isEnabled() and not page.restart_button.isEnabled()
        page.start_button.click()
        qtbot.waitUntil(lambda: page.info is not info and page.stop_button.isEnabled(), timeout=30_000)
        old_password = page.info.admin_password
        page.reset(confirm=False)
        qtbot.waitUntil(lambda: page.info is not None and page.info.admin_password != old_password, timeout=30_000)
        assert page.log.rowCount() >= 0
    finally:
        control.stop()


@pytest.fixture
def platform_info() -> Iterator[LocalPlatformInfo]:
    """An in-process ephemeral platform (faster than a child process) for the page's panels."""
    with BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)) as lp:
        assert lp.local is not None and lp.local.server_ca_path is not None and lp.local.admin_password
        yield LocalPlatformInfo(dict(lp.ports), lp.local.server_ca_path, lp.local.admin_password)


@contextlib.contextmanager
def _page(qtbot: QtBot, info: LocalPlatformInfo, workspace: Path) -> Iterator[LocalPlatformPage]:
    """The page on a running platform; afterwards its stream and polls end before the platform stops."""
    page = LocalPlatformPage(LocalPlatformControl(LocalPlatformProcess(ephemeral=True), prepare_demo=False), workspace)
    qtbot.addWidget(page)
    page.resize(1300, 800)
    page.show()
    page.set_info(info)
    try:
        yield page
    finally:
        page.stop()
        qtbot.waitUntil(lambda: pending() == 0, timeout=10_000)


def _run(qtbot: QtBot, loop: asyncio.AbstractEventLoop, work: Any) -> Any:
    task = loop.create_task(work)
    qtbot.waitUntil(task.done, timeout=10_000)
    return task.result()


def _rest(info: LocalPlatformInfo) -> PlatformHttp:
    return PlatformHttp(info.rest_url, PlatformCredentials("admin", info.admin_password, "t100"),
                        trust=server_context(trust_from_pem(info.server_ca.read_bytes())))


def _store_ca(workspace: Path, cn: str) -> str:
    with CAStore(workspace) as store:
        return store.init_root(parse_dn(f"CN={cn}"), b"ca-pass", key_spec=KeySpec.EC_P256).name


def test_tenants_certificates_options_and_truststore(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
                                                    platform_info: LocalPlatformInfo, tmp_path: Path) -> None:
    info = platform_info
    workspace = tmp_path / "ws"
    store_ca = _store_ca(workspace, "Store CA")
    with _page(qtbot, info, workspace) as page:
        page.tabs.setCurrentWidget(page.tenants)
        tenants = page.tenants
        qtbot.waitUntil(lambda: tenants.tenant_box.count() == 1 and tenants.lifespan.value() == 3600, timeout=10_000)
        assert tenants.tenant == "t100" and tenants.ca_box.currentData() == store_ca
        tenants.upload_button.click()  # one click: the store's CA, enabled, auto-registration on
        qtbot.waitUntil(lambda: page.certificates.rowCount() == 1, timeout=10_000)
        assert [page.certificates.item(0, c).text() for c in (0, 1, 2)] == [store_ca, "ENABLED", "on"]

        key = ec.generate_private_key(ec.SECP256R1())

        async def upload() -> None:
            async with _rest(info) as http:
                await http.trusted_certificate_call(api.upload_trusted_certificate(
                    "t100", _cert("Manual CA", key, None, key), "Manual CA", auto_registration=False))

        _run(qtbot, qasync_loop, upload())  # the event stream refreshes the table
        qtbot.waitUntil(lambda: page.certificates.rowCount() == 2, timeout=10_000)
        manual = next(c for c in tenants.found if c.name == "Manual CA")
        dialog = EditCertificateDialog(manual)
        qtbot.addWidget(dialog)
        dialog.auto_registration.setChecked(True)
        dialog.name.setText("Manual CA (edited)")
        assert dialog.changes() == {"name": "Manual CA (edited)", "auto_registration": True}
        tenants.update_certificate(manual.fingerprint, **dialog.changes())
        qtbot.waitUntil(lambda: any(c.name == "Manual CA (edited)" and c.auto_registration for c in tenants.found),
                        timeout=10_000)
        row = next(r for r in range(page.certificates.rowCount()) if page.certificates.item(r, 4).text()
                   == manual.fingerprint)
        assert page.certificates.item(row, 2).text() == "on"
        page.certificates.selectRow(row)
        assert tenants.delete_selected(confirm=False) is not None
        qtbot.waitUntil(lambda: page.certificates.rowCount() == 1, timeout=10_000)
        assert page.certificates.item(0, 0).text() == store_ca

        tenants.lifespan.setValue(900)
        tenants.lifespan_apply.click()

        async def lifespan() -> str:
            async with _rest(info) as http:
                return str((await http.json(api.get_option(*api.DEVICE_TOKEN_OPTION)))["value"])

        qtbot.waitUntil(lambda: _run(qtbot, qasync_loop, lifespan()) == "900", timeout=10_000)

        tenants.create_tenant("t200")
        qtbot.waitUntil(lambda: tenants.tenant == "t200" and page.devices.tenant == "t200", timeout=10_000)
        qtbot.waitUntil(lambda: page.certificates.rowCount() == 0, timeout=10_000)

        truststore = tmp_path / "truststore.p12"
        server_ca = x509.load_pem_x509_certificate(info.server_ca.read_bytes())
        assert "Created" in add_to_truststore(truststore, "changeit", server_ca)
        assert "Added" in add_to_truststore(truststore, "changeit", server_ca, "second-alias")
        assert read_store(truststore, b"changeit").aliases == ("local-platform-ca", "second-alias")
        dialog = TruststoreDialog(info.server_ca)
        qtbot.addWidget(dialog)
        dialog.path.setText(str(tmp_path / "trust.jks"))
        assert dialog.kind.currentData() == "jks"
        assert not dialog.add() and dialog.problem.isVisibleTo(dialog)  # no password yet
        dialog.password.setText("changeit")
        assert dialog.add() and read_store(tmp_path / "trust.jks", b"changeit").kind.value == "jks"


def test_devices_live_data_operations_and_why(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
                                             platform_info: LocalPlatformInfo, tmp_path: Path,
                                             screenshot_dir: Path) -> None:
    info = platform_info
    workspace = tmp_path / "ws"
    ca_name = _store_ca(workspace, "Fleet CA")
    key = ec.generate_private_key(ec.SECP256R1())
    with CAStore(workspace) as store:
        issued = store.issue(ca_name, b"ca-pass", parse_dn("CN=page-dev"), key.public_key(), device_profile())
        chain = (issued.certificate, *store.chain(ca_name))
    with _page(qtbot, info, workspace) as page:
        page.tenants.upload_button.click()
        qtbot.waitUntil(lambda: page.certificates.rowCount() == 1, timeout=10_000)
        page.tabs.setCurrentWidget(page.devices)
        trust = list(trust_from_pem(info.server_ca.read_bytes()))
        tls = client_context(trust=trust, identity=ClientIdentity(key, chain))
        device = DeviceConnection("localhost", info.ports["mqtts"], "d:page-dev", tls, timeout=5)
        device.connect()
        try:
            device.subscribe("s/ds")
            start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=60)
            device.publish("s/us", f"100,Page device,c8y_Demo\n200,c8y_Temperature,T,21.5,C,{start.isoformat()}")
            devices = page.devices
            qtbot.waitUntil(lambda: devices.devices.rowCount() == 1 and
                            devices.devices.item(0, 6).text() == "● connected", timeout=10_000)
            assert [devices.devices.item(0, c).text() for c in (0, 1, 3)] == ["page-dev", "device_page-dev",
                                                                              "c8y_Serial: page-dev"]
            assert devices.devices.item(0, 4).text().startswith("CN=page-dev · Fleet CA")
            qtbot.waitUntil(lambda: devices.detail.plot.point_count() == 1, timeout=10_000)  # the first row is chosen
            for step, value in enumerate(("22.1", "21.8", "22.6", "23.4", "23.1"), start=1):
                moment = (start + datetime.timedelta(seconds=10 * step)).isoformat()
                device.publish("s/us", f"200,c8y_Temperature,T,{value},C,{moment}")
            device.publish("s/us", "400,c8y_Boot,Booted from the page test\n301,c8y_HighTemp,Warm in here")
            qtbot.waitUntil(lambda: devices.detail.plot.point_count("c8y_Temperature.T") == 6, timeout=10_000)
            qtbot.waitUntil(lambda: devices.detail.records.rowCount() == 2, timeout=10_000)

            devices.create_operation({"description": "Restart from the page", "c8y_Restart": {}})
            operations = devices.detail.operations
            qtbot.waitUntil(lambda: operations.rowCount() == 1 and operations.item(0, 2).text() == "PENDING",
                            timeout=10_000)
            assert device.wait_line("s/ds") == "510,page-dev"
            device.publish("s/us", "501,c8y_Restart")
            qtbot.waitUntil(lambda: operations.item(0, 2).text() == "EXECUTING", timeout=10_000)
            device.publish("s/us", "503,c8y_Restart")
            qtbot.waitUntil(lambda: operations.item(0, 2).text() == "SUCCESSFUL", timeout=10_000)
            assert devices.detail.status_history[operations.item(0, 0).text()] == ["PENDING", "EXECUTING", "SUCCESSFUL"]
            page.grab().save(str(screenshot_dir / "local-platform-devices.png"))
        finally:
            device.close()
        qtbot.waitUntil(lambda: devices.devices.item(0, 6).text() == "○ offline", timeout=10_000)

        intruder = DeviceConnection("localhost", info.ports["mqtts"], "d:someone-else", tls, timeout=5)
        try:
            intruder.connect()
        except WorkbenchError:
            pass  # refused: the CN is page-dev
        finally:
            intruder.close()
        qtbot.waitUntil(lambda: any(e["kind"] == "refused" for e in page.events), timeout=10_000)
        page.tabs.setCurrentWidget(page.event_log)
        row = next(r for r, e in enumerate(page.events) if e["kind"] == "refused")
        page.log.cellWidget(row, 5).click()
        why = page.why_dialog
        assert why is not None and why.explanation.failed_check == "client-id-mismatch"
        assert why.explanation.chain_lint is not None and not why.explanation.chain_lint.ok  # found in the CA store
        assert "Connect as 'd:page-dev'" in why.report.toPlainText()
        why.resize(820, 560)
        why.grab().save(str(screenshot_dir / "local-platform-why.png"))
        why.close()
