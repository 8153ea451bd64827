"""The real `python -m workbench` as a process: SIGTERM and SIGINT stop its local-platform child (nothing is left
listening), and a GUI killed with -9 leaves a platform that the next launch finds and stops or adopts."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.support.polling import until
from workbench.services.local_platform import STATE_FILE, LocalPlatformProcess, _alive
from workbench.ui.local_platform_control import LocalPlatformControl

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
ROOT = Path(__file__).resolve().parents[2]


def _wait(condition: Callable[[], object], timeout: float, what: str) -> None:
    until(condition, what, timeout)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def gui(tmp_path: Path) -> Iterator[Callable[[], tuple[subprocess.Popen[bytes], dict]]]:
    """Starts `python -m workbench` offscreen with its own HOME, config and data folders and any free ports; returns
    the process and the `running.json` of its local platform once it runs."""
    started: list[subprocess.Popen[bytes]] = []
    data = Path(os.environ["WORKBENCH_DATA_DIR"])
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_DATA_HOME=str(tmp_path / "data"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               QT_QPA_PLATFORM="offscreen", WORKBENCH_PLATFORM_PORTS="mqtt=0 mqtts=0 https=0 sandbox=0")

    def launch() -> tuple[subprocess.Popen[bytes], dict]:
        state = data / "local-platform" / STATE_FILE
        with (tmp_path / "gui.log").open("ab") as log:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen([sys.executable, "-m", "workbench"], cwd=ROOT, env=env,
                                       stdout=subprocess.DEVNULL, stderr=log)
        started.append(process)
        _wait(lambda: state.exists() and json.loads(state.read_text())["pid"] and process.poll() is None, 60,
              "the GUI's local platform")
        return process, json.loads(state.read_text())

    yield launch
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()
    state = data / "local-platform" / STATE_FILE
    if state.exists():  # a platform a failed test left: never leave it running
        pid = json.loads(state.read_text())["pid"]
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_gui_and_its_platform_child(gui: Callable[[], tuple[subprocess.Popen[bytes], dict]],
                                                        signum: int) -> None:
    process, state = gui()
    assert all(_listening(port) for port in state["ports"].values())
    process.send_signal(signum)
    assert process.wait(30) == 0
    _wait(lambda: not _alive(state["pid"]), 15, "the platform child to end")
    assert not any(_listening(port) for port in state["ports"].values())


def test_a_killed_gui_leaves_its_platform_and_the_next_launch_stops_it(
        gui: Callable[[], tuple[subprocess.Popen[bytes], dict]], qtbot: QtBot,
        qasync_loop: asyncio.AbstractEventLoop) -> None:
    process, state = gui()
    process.kill()  # kill -9: no clean-up runs
    process.wait()
    assert _alive(state["pid"]) and _listening(state["ports"]["https"])  # the orphan still listens
    # the next launch: its keyring (this process's) does not hold the killed session's password, so it stops it
    control = LocalPlatformControl(LocalPlatformProcess(ports={"mqtt": 0, "mqtts": 0, "https": 0, "sandbox": 0}),
                                   prepare_demo=False)
    states: list[str] = []
    control.state_changed.connect(states.append)
    try:
        control.start()
        qtbot.waitUntil(lambda: control.phase in ("running", "failed"), timeout=60_000)
        assert control.phase == "running", states
        assert f"stopped the platform an earlier session left running (pid {state['pid']};" in states[-1]
        assert not _alive(state["pid"])
        assert not any(_listening(port) for port in state["ports"].values())
        assert control.info is not None and control.info.pid != state["pid"]
    finally:
        control.stop()
