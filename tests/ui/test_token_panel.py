"""The device token panel end to end with the local platform: request, decode, countdown, copy, try it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from tests.support.platform_device import auto_registered_device
from workbench.services.mqtt_session import SessionSettings
from workbench.ui.console.console_widget import ConsoleWidget


@pytest.fixture
def platform() -> Iterator[BackgroundLocalPlatform]:
    with BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)) as lp:
        yield lp


def test_token_panel_requests_decodes_copies_and_tries_the_token(
        qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop, platform: BackgroundLocalPlatform,
        screenshot_dir: Path) -> None:
    tls = auto_registered_device(platform, "dev-gui", "GUI CA")
    rest_url = f"https://localhost:{platform.ports['https']}"
    console = ConsoleWidget(SessionSettings("localhost", platform.ports["mqtts"], "d:dev-gui", protocol=4, tls=tls),
                            rest_url=rest_url)
    qtbot.addWidget(console)
    console.resize(1200, 900)
    console.show()
    panel = console.token_panel
    assert panel is not None and not panel.copy_button.isEnabled()
    panel.request()
    assert panel.countdown.text() == "connect first"
    console.connect_session()
    qtbot.waitUntil(lambda: console.state_label.text() == "connected", timeout=10_000)
    panel.request_button.click()
    qtbot.waitUntil(lambda: panel.token is not None, timeout=10_000)
    assert '"sub": "device_dev-gui"' in panel.claims.toPlainText() and '"alg": "RS256"' in panel.claims.toPlainText()
    assert panel.countdown.text().startswith("expires in 59:") or panel.countdown.text().startswith("expires in 60:")
    first = panel.token.raw
    panel.request_button.click()
    qtbot.waitUntil(lambda: "the same token" in panel.countdown.text(), timeout=10_000)
    assert panel.token.raw == first
    panel.copy_button.click()
    assert QGuiApplication.clipboard().text() == f"Authorization: Bearer {first}"
    panel.try_button.click()
    qtbot.waitUntil(lambda: panel.try_result.text().startswith(("✓", "✗")), timeout=10_000)
    assert panel.try_result.text() == f"✓ {rest_url}/user/currentUser answered: device_dev-gui"
    console.grab().save(str(screenshot_dir / "token-panel.png"))
    console.shutdown()
