"""The Local Platform page: credentials and ports, the live event log (a refusal appears with its reason), the
trusted certificates of t100, export, and reset."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from pytestqt.qtbot import QtBot

from tests.support.certs import simple_cert as _cert
from workbench.core.platform_client import requests as api
from workbench.core.tls import ClientIdentity, client_context
from workbench.errors import WorkbenchError
from workbench.services.local_platform import LocalPlatformProcess
from workbench.services.onboarding import server_context, trust_from_pem
from workbench.services.platform_http import PlatformCredentials, PlatformHttp
from workbench.services.token_flow import DeviceConnection
from workbench.ui.local_platform_control import LocalPlatformControl
from workbench.ui.pages.local_platform_page import LocalPlatformPage


def test_page_shows_live_refusals_certificates_and_resets(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
                                                           tmp_path: Path, screenshot_dir: Path) -> None:
    control = LocalPlatformControl(LocalPlatformProcess(ephemeral=True), prepare_demo=False)
    page = LocalPlatformPage(control)
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
        page.filter.setText("refused")
        shown = [r for r in range(page.log.rowCount()) if not page.log.isRowHidden(r)]
        assert shown and all(page.log.item(r, 1).text() == "refused" for r in shown)
        page.grab().save(str(screenshot_dir / "local-platform-page.png"))
        out = tmp_path / "events.jsonl"
        assert page.export_events(out) == len(shown)
        assert json.loads(out.read_text().splitlines()[0])["kind"] == "refused"
        old_password = info.admin_password
        page.reset(confirm=False)
        qtbot.waitUntil(lambda: page.info is not None and page.info.admin_password != old_password, timeout=30_000)
        assert page.log.rowCount() >= 0
    finally:
        control.stop()
