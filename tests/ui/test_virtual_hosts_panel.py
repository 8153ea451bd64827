"""The Local Platform page's "Virtual hosts (SNI)" tab lists what each name is served, from the running platform:
the default (CN=localhost), then the tenant domains; a tenant created while it runs appears with its certificate."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import urllib.request
from pathlib import Path

from cryptography import x509
from pytestqt.qtbot import QtBot

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from workbench.services.local_platform import LocalPlatformInfo
from workbench.services.tls_fetch import fetch_server_chain
from workbench.ui.console.status_panels import chosen_text, sni_text
from workbench.ui.local_platform.link import PlatformLink
from workbench.ui.local_platform.virtual_hosts import VirtualHostsPanel


def test_the_tab_shows_each_virtual_host_and_its_certificate(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
                                                             screenshot_dir: Path) -> None:
    with BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)) as bg:
        assert bg.local is not None and bg.local.server_ca_path is not None and bg.local.admin_password
        info = LocalPlatformInfo(dict(bg.ports), bg.local.server_ca_path, bg.local.admin_password)
        panel = VirtualHostsPanel()
        qtbot.addWidget(panel)
        panel.resize(1200, 400)
        panel.show()
        panel.set_link(PlatformLink(info))
        qtbot.waitUntil(lambda: panel.table.rowCount() == 2, timeout=10_000)
        assert panel.table.item(0, 0).text() == "localhost (and any other name)"
        assert panel.table.item(0, 3).text().startswith("CN=localhost")
        assert [panel.table.item(1, c).text() for c in (0, 1, 2)] == ["t100.localhost", "t100", "tenant domain"]
        assert "Local Platform CA" in panel.table.item(1, 3).toolTip()
        assert len(panel.table.item(1, 5).toolTip()) == 64  # the full SHA-256 behind the short column

        login = base64.b64encode(f"t100/admin:{info.admin_password}".encode()).decode()
        headers = {"Content-Type": "application/json", "Authorization": f"Basic {login}"}
        request = urllib.request.Request(f"{info.rest_url}/platform/tenants", data=json.dumps({"id": "t200"}).encode(),
                                         headers=headers)
        urllib.request.urlopen(request, context=ssl.create_default_context(cafile=str(info.server_ca)),
                               timeout=10).close()
        panel.refresh()
        qtbot.waitUntil(lambda: panel.table.rowCount() == 3, timeout=10_000)
        assert panel.table.item(2, 0).text() == "t200.localhost"
        assert panel.table.item(2, 3).text().startswith("CN=t200.localhost")
        panel.grab().save(str(screenshot_dir / "local-platform-virtual-hosts.png"))
        panel.set_link(None)
        assert panel.table.rowCount() == 0

        # the console's TLS inspector: the profile's SNI override next to the certificate the server chose
        trust = [x509.load_pem_x509_certificate(info.server_ca.read_bytes())]
        report = fetch_server_chain("127.0.0.1", info.ports["mqtts"], server_name="t200.localhost", trust=trust)
        assert sni_text(report) == "t200.localhost (the profile's SNI override; connected to 127.0.0.1)"
        assert chosen_text(report) == ("CN=t200.localhost,O=Device Onboarding Workbench; SAN t200.localhost; "
                                       "names t200.localhost")
        other = fetch_server_chain("127.0.0.1", info.ports["mqtts"], server_name="t999.localhost")
        assert "does not name t999.localhost" in chosen_text(other) and "SAN localhost" in chosen_text(other)
