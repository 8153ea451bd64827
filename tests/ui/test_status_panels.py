"""Console tools: the $SYS status tab against mosquitto, and the TLS handshake inspector against the local platform
(a good handshake in detail, and a failing one in words)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pytestqt.qtbot import QtBot

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from tests.support.certs import simple_cert as _cert
from tests.support.mosquitto import run_mosquitto
from workbench.core.tls import ClientIdentity, client_context, trust_from_pem
from workbench.services.mqtt_session import SessionSettings
from workbench.ui.console.console_widget import ConsoleWidget


@pytest.fixture
def mosquitto_port(tmp_path: Path) -> Iterator[int]:
    if shutil.which("mosquitto") is None:
        pytest.skip("mosquitto is not installed")
    with run_mosquitto(tmp_path) as running:
        yield running.plain_port


@pytest.mark.interop
def test_sys_panel_shows_mosquitto_status(qtbot: QtBot, mosquitto_port: int) -> None:
    console = ConsoleWidget(SessionSettings("127.0.0.1", mosquitto_port, "wb-sys", protocol=4))
    qtbot.addWidget(console)
    console.show()
    console.sys_panel.watch()
    assert console.sys_panel.note.text() == "Connect first."
    console.connect_session()
    qtbot.waitUntil(lambda: console.state_label.text() == "connected", timeout=10_000)
    console.sys_panel.watch()
    qtbot.waitUntil(lambda: console.sys_panel.value("$SYS/broker/version") is not None, timeout=15_000)
    assert console.sys_panel.value("$SYS/broker/version").startswith("mosquitto")
    console.shutdown()



def test_handshake_inspector_reports_the_chain_and_failures(
        qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop, screenshot_dir: Path) -> None:
    with BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)) as lp:
        assert lp.local is not None and lp.local.server_ca_path is not None
        trust = list(trust_from_pem(lp.local.server_ca_path.read_bytes()))
        key = ec.generate_private_key(ec.SECP256R1())
        ca = _cert("Inspector CA", key, None, key)
        identity = ClientIdentity(key, (_cert("dev-inspect", key, ca, key), ca))
        settings = SessionSettings("localhost", lp.ports["mqtts"], "d:dev-inspect", protocol=4,
                                   tls=client_context(trust=trust, identity=identity), identity=identity,
                                   trust=tuple(trust))
        console = ConsoleWidget(settings)
        qtbot.addWidget(console)
        console.resize(1200, 900)
        console.show()
        panel = console.handshake_panel
        assert panel is not None
        console.tools.setCurrentWidget(panel)
        panel.inspect()
        qtbot.waitUntil(lambda: panel.summary.text().startswith(("✓", "<p>")), timeout=15_000)
        assert panel.summary.text().startswith("✓ TLSv1.3") and panel.report is not None
        texts = [panel.tree.topLevelItem(i).text(1) for i in range(panel.tree.topLevelItemCount())]
        assert "yes" in texts and any("CN=dev-inspect" in t for t in texts)
        assert panel.report.chain[0].subject.rfc4514_string() == "CN=localhost,O=Device Onboarding Workbench"
        console.grab().save(str(screenshot_dir / "tls-handshake-inspector.png"))
        wrong = SessionSettings("localhost", lp.ports["mqtts"], "d:x", protocol=4, tls=client_context(trust=[ca]),
                                trust=(ca,))
        bad = ConsoleWidget(wrong)
        qtbot.addWidget(bad)
        assert bad.handshake_panel is not None
        bad.handshake_panel.inspect()
        qtbot.waitUntil(lambda: bad.handshake_panel.summary.text().startswith(("✓", "<p>")), timeout=15_000)
        assert "not trusted" in bad.handshake_panel.summary.text() or "verify" in bad.handshake_panel.summary.text()
