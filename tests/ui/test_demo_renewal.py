"""Renewal live in the demo: an EST device (certificates valid 10 minutes) sends into the demo panel; when the fake
clock passes 75 % of the validity it renews and reconnects, the panel shows the new serial, and the plot keeps
receiving points."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pytestqt.qtbot import QtBot

from embedded_broker import BackgroundLocalPlatform
from tests.services.onboarding_support import Clock, clock, platform  # noqa: F401  (fixtures)
from tests.services.test_cert_lifecycle import _target, enroll_est_device
from workbench.core.tls import ClientIdentity, client_context
from workbench.services.simulated_device import CertificateRenewal, SimulatedDevice
from workbench.services.token_flow import DeviceConnection, TokenFlowResult
from workbench.ui.onboarding.demo_panel import DemoPanel, certificate_text


def test_demo_panel_shows_the_renewal_and_keeps_plotting(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
                                                         platform: BackgroundLocalPlatform,  # noqa: F811
                                                         clock: Clock, tmp_path: Path,  # noqa: F811
                                                         screenshot_dir: Path) -> None:
    folder = tmp_path / "demo-live"
    target = _target(platform)

    def prepare() -> tuple[ClientIdentity, DeviceConnection, TokenFlowResult]:
        enrolled = enroll_est_device(platform, folder, "demo-live", validity=600)
        identity = ClientIdentity(enrolled.key, enrolled.chain)  # type: ignore[arg-type]
        connection = DeviceConnection("localhost", platform.ports["mqtts"], "d:demo-live",
                                      client_context(trust=list(target.server_trust), identity=identity))
        connection.connect()
        return identity, connection, connection.request_token()

    with ThreadPoolExecutor(1) as pool:  # asyncio.run cannot run on the thread of the (running) qasync loop
        identity, connection, token = pool.submit(prepare).result()
    first = identity.chain[0]
    renewal = CertificateRenewal(target, folder, identity, fraction=0.75)
    assert "renewal at 75% in" in certificate_text(renewal)
    device = SimulatedDevice(connection, token.token, interval=0.05, clock=clock, seed=7, renewal=renewal)
    panel = DemoPanel()
    qtbot.addWidget(panel)
    panel.resize(1000, 420)
    panel.show()
    panel.start(device, "demo-live")
    qtbot.waitUntil(lambda: device.sent >= 3, timeout=10_000)
    old = f"{first.serial_number:x}"
    assert panel.certificate.isVisible() and old[:6] in panel.certificate.text()
    clock.now = first.not_valid_before_utc.timestamp() + 0.8 * 660
    qtbot.waitUntil(lambda: "✓ renewed" in panel.certificate.text() or "✗" in panel.certificate.text(),
                    timeout=20_000)
    assert "✓ renewed" in panel.certificate.text(), panel.certificate.text()
    assert device.renewal is not None
    new = f"{device.renewal.certificate.serial_number:x}"
    assert new != old and new[:6] in panel.certificate.text()
    sent = device.sent
    qtbot.waitUntil(lambda: device.sent >= sent + 3, timeout=10_000)  # the plot keeps running
    panel.grab().save(str(screenshot_dir / "onboarding-demo-renewal.png"))
    with qtbot.waitSignal(panel.stopped, timeout=10_000):
        panel.stop()
