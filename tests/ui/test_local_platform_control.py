"""First run: the app starts the local platform in the background, the status bar follows it, and the sandbox
listener is one click away."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pytestqt.qtbot import QtBot

from workbench.services.local_platform import LocalPlatformProcess
from workbench.ui.connections.page import ConnectionsPage
from workbench.ui.local_platform_control import LocalPlatformControl
from workbench.ui.main_window import MainWindow


def test_platform_starts_in_the_background_and_the_sandbox_is_one_click_away(
        qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop, screenshot_dir: Path) -> None:
    connections = ConnectionsPage()
    window = MainWindow({"Connections": connections})
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    control = LocalPlatformControl(LocalPlatformProcess(ephemeral=True, ports={"mqtt": 0, "mqtts": 0, "https": 0,
                                                                               "sandbox": 0}))
    control.state_changed.connect(window.set_platform_status)
    control.ready.connect(connections.set_local_platform)
    control.demo_ready.connect(connections.profiles.add_demo_device)
    connections.connection_count_changed.connect(window.set_connection_count)
    assert not connections.sandbox_button.isEnabled()
    try:
        control.start()
        qtbot.waitUntil(lambda: "running" in window.platform_status.text(), timeout=30_000)
        assert f"MQTT/TLS {control.info.ports['mqtts']}" in window.platform_status.text()
        assert connections.sandbox_button.isEnabled()
        connections.sandbox_button.click()
        console = connections.consoles()[0]
        qtbot.waitUntil(lambda: console.state_label.text() == "connected", timeout=10_000)
        console.shutdown()
        # the built-in certificate-device profile connects as soon as the demo device is ready
        qtbot.waitUntil(lambda: "demo device ready" in window.platform_status.text(), timeout=30_000)
        panel = connections.profiles
        names = [panel.list.item(i).text() for i in range(panel.list.count())]
        panel.list.setCurrentRow(names.index("Local platform (certificate device)"))
        panel.connect_selected()
        assert panel.problem.text() == "", panel.problem.text()
        device = connections.consoles()[-1]
        qtbot.waitUntil(lambda: device.state_label.text() == "connected", timeout=10_000)
        assert device.token_panel is not None
        device.token_panel.request()
        qtbot.waitUntil(lambda: device.token_panel.token is not None, timeout=10_000)
        assert device.token_panel.token.claims["sub"] == "device_workbench-demo-device"
        window.grab().save(str(screenshot_dir / "local-platform-running.png"))
        device.shutdown()
    finally:
        control.stop()
    assert window.platform_status.text() == "Local platform: stopped"


def test_a_platform_that_cannot_start_is_explained(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
                                                   monkeypatch) -> None:
    import workbench.services.local_platform as module

    monkeypatch.setattr(module, "platform_command", lambda: ["/nonexistent/embedded-broker"])
    control = LocalPlatformControl(LocalPlatformProcess(ephemeral=True), prepare_demo=False)
    states: list[str] = []
    control.state_changed.connect(states.append)
    with qtbot.waitSignal(control.failed, timeout=10_000) as failed:
        control.start()
    assert "cannot start the local platform" in str(failed.args[0])
    assert states[-1] == "not running (cannot start the local platform)"
