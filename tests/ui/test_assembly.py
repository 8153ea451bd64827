"""The whole window as `workbench` builds it: every area has its real page, the local platform reaches every page
that talks to it, and a step's link on the Onboarding page opens the page that shows its result."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pytestqt.qtbot import QtBot

from workbench.services.local_platform import LocalPlatformProcess
from workbench.ui.assembly import build_workbench
from workbench.ui.local_platform_control import LocalPlatformControl
from workbench.ui.main_window import AREAS
from workbench.ui.pages.placeholder import PlaceholderPage


def test_pages_are_wired(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop, screenshot_dir: Path) -> None:
    bench = build_workbench(LocalPlatformControl(LocalPlatformProcess(ephemeral=True), prepare_demo=False))
    window = bench.window
    qtbot.addWidget(window)
    window.show()
    assert window.pages.count() == len(AREAS)
    real = [not isinstance(window.pages.widget(i), PlaceholderPage) for i in range(len(AREAS))]
    assert [a[0] for a, ok in zip(AREAS, real, strict=True) if not ok] == ["Keystores"]  # the editor comes next
    try:
        bench.platform.start()
        qtbot.waitUntil(lambda: bench.pop.target.local is not None, timeout=30_000)
        assert bench.certificates.platform_info is not None and bench.onboarding.target.local is not None
        assert window.platform_status.text().startswith("Local platform: running")
        bench.onboarding.inspect.emit("Certificates", "")
        assert window.pages.currentWidget() is bench.certificates
        bench.onboarding.inspect.emit("Connections", "")
        assert window.pages.currentWidget() is bench.connections
    finally:
        bench.platform.stop()
