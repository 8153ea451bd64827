"""The Fleet page drives a real fleet against a real local platform: Start shows live figures, the chaos button
drops connections that then recover, Stop ends cleanly; bad input shows a problem label; it fits 1280x800."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from tests.services.fleet_sim_support import make_store_fleet
from workbench.services.local_platform import LocalPlatformInfo
from workbench.ui.fleet.page import FleetPage

COUNT = 10


@pytest.fixture
def info() -> Iterator[LocalPlatformInfo]:
    with BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)) as bg:
        assert bg.local is not None and bg.local.server_ca_path is not None
        yield LocalPlatformInfo(dict(bg.ports), bg.local.server_ca_path, bg.local.admin_password or "")


def test_start_chaos_and_stop_show_live_figures(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
                                                info: LocalPlatformInfo, tmp_path: Path, screenshot_dir: Path) -> None:
    make_store_fleet(tmp_path / "ws", tmp_path / "devices", COUNT)
    page = FleetPage()
    qtbot.addWidget(page)
    page.resize(1280 - 220, 800 - 120)  # the window's content area beside the navigation
    page.show()
    page.set_local_platform(info)
    page.source.setText(str(tmp_path / "devices"))
    page.interval.setValue(0.3)
    page.start_button.click()
    connected = page.figures.values["connected"]
    qtbot.waitUntil(lambda: connected.text() == f"{COUNT} / {COUNT}", timeout=20_000)
    qtbot.waitUntil(lambda: page.latency.table.item(2, 1) is not None
                    and page.latency.table.item(2, 1).text() != "–", timeout=10_000)
    page.drop_button.click()
    qtbot.waitUntil(lambda: page.errors.table.rowCount() == 1, timeout=10_000)
    assert page.errors.table.item(0, 0).text() == "MQTT: connection lost"
    qtbot.waitUntil(lambda: page.simulator is not None and page.simulator.figures.states["connected"] == COUNT,
                    timeout=20_000)
    page.grab().save(str(screenshot_dir / "fleet-page.png"))
    with qtbot.waitSignal(page.finished, timeout=20_000) as finished:
        page.stop_button.click()
    summary = finished.args[0]
    assert summary["states"]["stopped"] == COUNT and summary["totals"]["connects"] >= COUNT + 2
    assert page.start_button.isEnabled() and not page.stop_button.isEnabled()
    assert page.minimumSizeHint().width() <= 1280 - 220 and page.minimumSizeHint().height() <= 800 - 120


def test_bad_input_shows_a_problem(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop, info: LocalPlatformInfo,
                                   tmp_path: Path) -> None:
    page = FleetPage()
    qtbot.addWidget(page)
    page.start_button.click()
    assert "local platform is not running" in page.problem.text()
    page.set_local_platform(info)
    page.source.setText(str(tmp_path / "missing"))
    page.start_button.click()
    assert "does not exist" in page.problem.text() and page.start_button.isEnabled()
