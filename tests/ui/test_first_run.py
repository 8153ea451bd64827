"""A first run that leads and a lifecycle that cleans up: the welcome view with both ways in and the platform's
state, a one-line keyring notice, Ctrl+Q that stops the platform child, an earlier session's platform adopted or
stopped, and bugs in slots and asyncio tasks that reach the crash dialog."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from keyring.backends.fail import Keyring as FailKeyring
from PySide6.QtCore import QObject, Qt, Signal
from pytestqt.qtbot import QtBot

from workbench.core.profiles import ProfileStore
from workbench.core.profiles.secrets import SecretStore
from workbench.services.local_platform import OWNER_FILE, STATE_FILE, LocalPlatformProcess, _alive
from workbench.ui.assembly import build_workbench
from workbench.ui.connections.profiles_panel import ProfilesPanel
from workbench.ui.dialogs.crash_dialog import CrashDialog
from workbench.ui.errors import ErrorBridge
from workbench.ui.lifecycle import welcome_once
from workbench.ui.local_platform_control import LocalPlatformControl
from workbench.ui.main_window import MainWindow

ANY_PORTS = {"mqtt": 0, "mqtts": 0, "https": 0, "sandbox": 0}


def _dead_pid() -> int:
    """The pid of a process that has ended (a workbench killed with -9, as far as the owner file can tell)."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def test_first_run_lands_on_the_welcome_and_quits_with_ctrl_q(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
                                                              screenshot_dir: Path) -> None:
    first = welcome_once()
    assert first and not welcome_once()  # the marker in the config folder: later launches restore the last page
    bench = build_workbench(LocalPlatformControl(LocalPlatformProcess(ephemeral=True), prepare_demo=False),
                            first_run=first)
    window, welcome = bench.window, bench.onboarding.welcome
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    assert window.current_area() == "Onboarding" and window.navigation.currentRow() == 0
    assert welcome.isVisible() and "local platform" in welcome.sentence.text()
    assert welcome.demo_button.text() == "Run the demo" and welcome.own_button.text() == "Onboard my own device"
    assert welcome.platform_state.text() == "Local platform: not started" and welcome.start_button.isVisible()
    welcome.start_button.click()  # the welcome's Start starts the platform
    qtbot.waitUntil(lambda: bench.platform.phase == "running", timeout=30_000)
    assert welcome.platform_state.text().startswith("Local platform: running: MQTT/TLS ")
    assert not welcome.start_button.isVisible() and welcome.demo_button.isEnabled()
    window.grab().save(str(screenshot_dir / "welcome.png"))
    welcome.own_button.click()
    assert "Run the onboarding" in bench.onboarding.status.text()
    child = bench.platform.process.process
    assert child is not None and child.poll() is None
    window.show_area("Keystores")
    window.activateWindow()
    qtbot.waitActive(window)
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)  # File > Quit
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert child.poll() is not None and bench.platform.process.process is None  # the platform child is gone
    assert window.platform_status.text() == "Local platform: stopped"
    again = MainWindow()  # a later launch opens where the last one was closed
    qtbot.addWidget(again)
    assert again.current_area() == "Keystores"


def test_shortcuts_reach_the_pages(qtbot: QtBot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    refreshed: list[str] = []
    opened: list[bool] = []
    window.refreshers["Certificates"] = lambda: refreshed.append("Certificates")
    window.open_keystore = lambda: opened.append(True)
    window.show_area("Certificates")
    window.refresh_action.trigger()
    window.open_action.trigger()
    assert refreshed == ["Certificates"] and opened == [True] and window.current_area() == "Keystores"
    assert not window.refresh_current()  # Keystores has nothing to re-read: said in the status bar
    shortcuts = {a.shortcut().toString() for a in window.findChildren(type(window.quit_action))}
    assert {"Ctrl+Q", "F5", "Ctrl+O", "Ctrl+1", "Ctrl+6", "F1"} <= shortcuts


def test_the_keyring_notice_is_one_line_with_details(qtbot: QtBot, tmp_path: Path) -> None:
    panel = ProfilesPanel(ProfileStore(tmp_path / "profiles", SecretStore(backend=FailKeyring())))
    qtbot.addWidget(panel)
    panel.show()
    notice = panel.notice
    assert notice.isVisible() and "\n" not in notice.text() and "<br" not in notice.text()
    assert notice.text().startswith("⚠ No system keyring is available — ") and "details</a>" in notice.text()
    assert notice.sizeHint().height() < 2 * notice.fontMetrics().height()  # one line, not a bold block
    assert panel.problem.text() == ""
    dialog = notice.show_details()
    assert dialog is not None and "session" in dialog.text()  # the full text is one click away
    dialog.close()


def test_the_status_bar_counts_the_demo_device(qtbot: QtBot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.set_demo_connected(True)
    assert window.connection_status.text() == "Connections: 1 (demo device)"
    window.set_connection_count(2)
    assert window.connection_status.text() == "Connections: 3 (one is the demo device)"
    window.set_demo_connected(False)
    window.set_connection_count(0)
    assert window.connection_status.text() == "Connections: none"


def _orphan(folder: Path) -> tuple[LocalPlatformProcess, int]:
    """A platform on `folder` whose workbench has died (its owner file names a pid that has ended)."""
    first = LocalPlatformProcess(folder, ports=dict(ANY_PORTS))
    info = first.start()
    owner = json.loads((folder / OWNER_FILE).read_text())
    assert owner == {"platform_pid": info.pid, "gui_pid": os.getpid()}
    (folder / OWNER_FILE).write_text(json.dumps({"platform_pid": info.pid, "gui_pid": _dead_pid()}))
    assert info.pid is not None
    return first, info.pid


def _control(folder: Path, secrets: SecretStore | None = None) -> tuple[LocalPlatformControl, list[str]]:
    """The GUI's platform control for `folder` (without a demo device) and the states it reports."""
    control = LocalPlatformControl(LocalPlatformProcess(folder, ports=dict(ANY_PORTS), secrets=secrets),
                                   prepare_demo=False)
    states: list[str] = []
    control.state_changed.connect(states.append)
    return control, states


def test_an_earlier_sessions_platform_is_adopted_when_the_keyring_opens_it(
        qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    first, pid = _orphan(tmp_path / "platform")
    control, states = _control(tmp_path / "platform")
    try:
        with qtbot.waitSignal(control.ready, timeout=30_000):
            control.start()
        assert control.info is not None and control.info.pid == pid
        assert f"adopted the platform an earlier session left running (pid {pid})" in states[-1]
        control.stop()  # adopted is ours: it stops with the app
        assert not _alive(pid) and states[-1] == "stopped"
        assert not (tmp_path / "platform" / STATE_FILE).exists()
    finally:
        first.stop()


def test_an_earlier_sessions_platform_is_stopped_when_the_keyring_does_not_open_it(
        qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    first, pid = _orphan(tmp_path / "platform")
    store = SecretStore(backend=FailKeyring())  # a new session without a keyring: the password is gone
    control, states = _control(tmp_path / "platform", store)
    try:
        with qtbot.waitSignal(control.ready, timeout=30_000):
            control.start()
        assert not _alive(pid)
        assert control.info is not None and control.info.pid != pid
        assert f"stopped the platform an earlier session left running (pid {pid}; its admin password is not in " \
               "the keyring) and started a new one" in states[-1]
    finally:
        control.stop()
        first.stop()


class _Emitter(QObject):
    fire = Signal()


@pytest.mark.qt_no_exception_capture
def test_bugs_in_slots_and_asyncio_tasks_reach_the_crash_dialog(
        qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # install() replaces both hooks: restored afterwards
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    bridge = ErrorBridge()
    bridge.install()
    previous = qasync_loop.get_exception_handler()
    qasync_loop.set_exception_handler(bridge.asyncio_handler)
    try:
        emitter = _Emitter()

        def broken_slot() -> None:
            raise LookupError("a bug in a slot")

        emitter.fire.connect(broken_slot)
        emitter.fire.emit()
        qtbot.waitUntil(lambda: isinstance(bridge.last_dialog, CrashDialog), timeout=5_000)
        assert "LookupError: a bug in a slot" in bridge.last_dialog.details.toPlainText()
        bridge.last_dialog.close()

        async def broken_task() -> None:
            raise KeyError("a bug in a task")

        asyncio.ensure_future(broken_task())  # noqa: RUF006 (nobody keeps or awaits it: the loop reports it)

        def reported() -> bool:
            gc.collect()
            dialog = bridge.last_dialog
            return isinstance(dialog, CrashDialog) and "a bug in a task" in dialog.details.toPlainText()

        qtbot.waitUntil(reported, timeout=5_000)
        bridge.last_dialog.close()
    finally:
        qasync_loop.set_exception_handler(previous)
