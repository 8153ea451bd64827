"""The Onboarding page runs the guide against the local platform to the last step, saves a connection profile,
explains a failing step with its causes, and resumes with the same CA."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from workbench.core.profiles import ProfileStore
from workbench.services.local_platform import LocalPlatformInfo
from workbench.ui.pages.onboarding_page import OnboardingPage


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
    page.grab().save(str(screenshot_dir / "onboarding-page.png"))
    first_ca = page.ca_name
    # a failing step shows its causes; "Run again" keeps the same CA
    page.target.setCurrentIndex(1)
    page.url.setText(info.rest_url)
    page.user.setText("t100/admin")
    page.password.setText("wrong")
    with qtbot.waitSignal(page.finished, timeout=30_000) as failed:
        page.run()
    assert not failed.args[0].ok and page.items["upload"].text(0).startswith("✗")
    assert page.items["upload"].childCount() >= 1 and page.ca_name == first_ca
