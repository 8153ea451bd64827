"""The Onboarding page runs the guide against the local platform to the last step, saves a connection profile,
explains a failing step with its causes, and resumes with the same CA."""

from __future__ import annotations

import asyncio
import time
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


def test_onboarding_page_runs_to_the_last_step(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
                                               info: LocalPlatformInfo, tmp_path: Path, screenshot_dir: Path) -> None:
    store = ProfileStore(tmp_path / "profiles")
    page = OnboardingPage(store, tmp_path / "ws", tmp_path / "out")
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    page.run()
    qtbot.waitUntil(lambda: page.status.text().startswith("✗"), timeout=10_000)
    assert "not running yet" in page.status.text()
    page.set_local_platform(info)
    page.device_id.setText("gui-onboarded")
    with qtbot.waitSignal(page.finished, timeout=30_000) as done:
        page.run()
    assert done.args[0].ok, page.status.text()
    assert page.status.text() == "✓ Device gui-onboarded is onboarded; its profile is in Connections."
    assert all(page.items[key].text(0).startswith("✓") for key in page.items)
    assert [p.name for p in store.load_all().profiles] == ["gui-onboarded (onboarded)"]
    page.checklist.setCurrentItem(page.items["pop"])
    assert "openssl dgst -sha256 -sign caKey.pem" in page.equivalent.toPlainText()
    page.checklist.setCurrentItem(page.items["keystores"])
    assert "keytool -importcert" in page.equivalent.toPlainText() and page.link.isEnabled()
    with qtbot.waitSignal(page.inspect) as shown:
        page.link.click()
    assert shown.args[0] == "Keystores" and shown.args[1].endswith("gui-onboarded/deviceKeystore.p12")
    assert Path(shown.args[1]).exists()
    page.grab().save(str(screenshot_dir / "onboarding-page.png"))
    first_ca = page.ca_name
    # a failing step shows its causes; "Run again" keeps the same CA
    page.target.kind.setCurrentIndex(1)
    page.target.url.setText(info.rest_url)
    page.target.user.setText("t100/admin")
    page.target.password.setText("wrong")
    page.target.server_ca.setText(str(info.server_ca))
    with qtbot.waitSignal(page.finished, timeout=30_000) as failed:
        page.run()
    assert not failed.args[0].ok and page.items["upload"].text(0).startswith("✗")
    assert page.items["upload"].childCount() >= 1 and page.ca_name == first_ca


def test_demo_mode_ends_on_live_data_and_a_token_countdown(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
                                                           info: LocalPlatformInfo, tmp_path: Path,
                                                           screenshot_dir: Path) -> None:
    page = OnboardingPage(ProfileStore(tmp_path / "profiles"), tmp_path / "ws", tmp_path / "out")
    qtbot.addWidget(page)
    page.resize(1200, 860)
    page.show()
    page.set_local_platform(info)
    started = time.monotonic()
    with qtbot.waitSignal(page.finished, timeout=60_000) as done:
        page.demo()
    assert done.args[0].ok and page.device_id.text().startswith("demo-thermostat-")
    assert page.ca_name == "ACME Smart Buildings Root CA"  # sensible names for a customer
    assert time.monotonic() - started < 60  # the budget for a customer demo
    assert page.demo_panel.isVisible()
    qtbot.waitUntil(lambda: page.demo_panel.device is not None and page.demo_panel.device.sent >= 3, timeout=10_000)
    assert "left · renewed at half-life in" in page.demo_panel.countdown.text()
    assert "measurement(s) sent, last" in page.demo_panel.sent.text()
    qtbot.waitUntil(lambda: page.demo_panel.plot.point_count() >= 3)
    page.grab().save(str(screenshot_dir / "onboarding-demo.png"))
    with qtbot.waitSignal(page.demo_panel.stopped, timeout=10_000):
        page.demo_panel.stop()
    assert page.demo_panel.countdown.text() == "stopped"
