"""The Onboarding page's path choice: the platform-CA (EST) path to the last step with its profile and curl/openssl
equivalents, and the bootstrap path in demo mode ending on live data from the password device."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from workbench.core.profiles import ProfileStore
from workbench.services.local_platform import LocalPlatformInfo
from workbench.ui.onboarding.page import OnboardingPage


@pytest.fixture
def info() -> Iterator[LocalPlatformInfo]:
    with BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)) as lp:
        assert lp.local is not None and lp.local.server_ca_path is not None and lp.local.admin_password
        yield LocalPlatformInfo(dict(lp.ports), lp.local.server_ca_path, lp.local.admin_password)


def _choose(page: OnboardingPage, path: str) -> None:
    page.path.setCurrentIndex(page.path.findData(path))


def test_platform_ca_path_runs_to_the_last_step(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
                                                info: LocalPlatformInfo, tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles")
    page = OnboardingPage(store, tmp_path / "ws", tmp_path / "out")
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    page.set_local_platform(info)
    _choose(page, "platform-ca")
    assert list(page.items) == ["tenant_ca", "otp", "csr", "enroll", "keystores", "profile", "mqtt", "token",
                                "measurement"]
    page.device_id.setText("gui-est")
    with qtbot.waitSignal(page.finished, timeout=30_000) as done:
        page.run()
    assert done.args[0].ok, page.status.text()
    assert all(page.items[key].text(0).startswith("✓") for key in page.items), [
        page.items[k].text(0) for k in page.items]
    assert page.status.text() == "✓ Device gui-est is onboarded; its profile is in Connections."
    assert [p.name for p in store.load_all().profiles] == ["gui-est (onboarded)"]
    page.checklist.setCurrentItem(page.items["enroll"])
    enroll = page.equivalent.toPlainText()
    assert "-u gui-est:$OTP --data-binary @csr.b64 -H 'Content-Type: application/pkcs10'" in enroll
    assert f"{info.rest_url}/.well-known/est/simpleenroll" in enroll and "openssl pkcs7 -inform DER" in enroll
    page.checklist.setCurrentItem(page.items["keystores"])
    assert "openssl verify -CAfile tenant-ca.pem deviceCert.pem" in page.equivalent.toPlainText()
    with qtbot.waitSignal(page.inspect) as shown:
        page.link.click()
    assert shown.args[0] == "Keystores" and Path(shown.args[1]).exists()
    # back to the guide's path: its own checklist again
    _choose(page, "customer-ca")
    assert list(page.items)[:3] == ["ca", "upload", "pop"] and page.items["ca"].text(0).startswith("○")


def test_bootstrap_demo_ends_on_live_data(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
                                          info: LocalPlatformInfo, tmp_path: Path, screenshot_dir: Path) -> None:
    page = OnboardingPage(ProfileStore(tmp_path / "profiles"), tmp_path / "ws", tmp_path / "out")
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    page.set_local_platform(info)
    _choose(page, "bootstrap")
    with qtbot.waitSignal(page.finished, timeout=30_000) as done:
        page.demo()
    assert done.args[0].ok, page.status.text()
    assert [page.items[k].text(0)[0] for k in page.items] == ["✓"] * 7
    assert "received 70,t100,device_demo-thermostat-" in page.items["credentials"].text(1)
    assert page.demo_panel.isVisible()
    qtbot.waitUntil(lambda: page.demo_panel.device is not None and page.demo_panel.device.sent >= 2,
                    timeout=10_000)
    assert page.demo_panel.countdown.text().startswith("Password device t100/device_demo-thermostat-")
    page.checklist.setCurrentItem(page.items["credentials"])
    assert "-u management/devicebootstrap" in page.equivalent.toPlainText()
    assert "70,<tenant>,<user>,<password>" in page.equivalent.toPlainText()
    page.grab().save(str(screenshot_dir / "onboarding-bootstrap-demo.png"))
    with qtbot.waitSignal(page.demo_panel.stopped, timeout=10_000):
        page.demo_panel.stop()
