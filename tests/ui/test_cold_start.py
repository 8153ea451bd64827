"""The cold start stays short (issue #21: first painted window <= 1.5 s; bench/cold_start.py measures it): the
window is built without the heavy libraries only later actions need, and the local platform starts only after the
window first painted, so its start-up thread does not compete with the first paint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from workbench.ui.app import after_first_paint

ROOT = Path(__file__).resolve().parents[2]

# Imported by actions, not by the first window: pyjks (pycryptodome, cffi's C parser), aiohttp (and its default
# SSL context), qtawesome (through qtpy's `from PySide6.QtGui import *`), and the console with its payload codecs.
LATER = ("jks", "Cryptodome", "pycparser", "aiohttp", "qtawesome", "qtpy", "google.protobuf", "cbor2",
         "workbench.ui.console.console_widget")

WINDOW = """
import sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from workbench.ui.assembly import build_workbench
bench = build_workbench(first_run=True)
bench.window.show()
bench.window.grab()
print("loaded:", " ".join(m for m in sys.argv[1:] if m in sys.modules))
navigation = bench.window.navigation
print("icons:", all(not navigation.item(i).icon().isNull() for i in range(navigation.count())))
"""

ORDER = """
import os
from PySide6.QtCore import QTimer
from workbench.ui import local_platform_control, main_window
events = []
paint = main_window.MainWindow.paintEvent
def painted(self, event):
    events.append("paint")
    return paint(self, event)
main_window.MainWindow.paintEvent = painted
def start(self):
    events.append("start")
    print(" ".join(events), flush=True)
    for window in app.topLevelWidgets():
        if isinstance(window, main_window.MainWindow):
            window.force_close = True
            window.close()
local_platform_control.LocalPlatformControl.start = start
from workbench.ui.app import create_application, run_gui
app = create_application()
QTimer.singleShot(20_000, lambda: os._exit(3))  # never hang the test
run_gui()
"""


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "WORKBENCH_CONFIG_DIR": str(tmp_path / "config"),
            "WORKBENCH_DATA_DIR": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
            "XDG_STATE_HOME": str(tmp_path / "xdg-state"), "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
            "PYTHONPATH": str(ROOT)}  # the test keyring (PYTHON_KEYRING_BACKEND) lives in tests/support


def test_the_first_window_does_not_import_what_only_later_actions_need(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", WINDOW, *LATER], capture_output=True, text=True, timeout=60,
                          env=_env(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "loaded: \n" in done.stdout, done.stdout  # none of them
    assert "icons: True" in done.stdout  # the navigation still has its icons (the font loads without qtawesome)


def test_the_local_platform_starts_after_the_window_first_painted(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", ORDER], capture_output=True, text=True, timeout=60,
                          env=_env(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert done.stdout.split()[:1] == ["paint"] and "start" in done.stdout.split(), done.stdout


def test_after_first_paint_waits_for_the_paint_and_calls_once(qtbot: QtBot) -> None:
    label = QLabel("first paint")
    qtbot.addWidget(label)
    calls: list[int] = []
    after_first_paint(label, lambda: calls.append(1))
    qtbot.wait(50)
    assert calls == []  # not shown, not painted: nothing yet
    label.show()
    qtbot.waitUntil(lambda: calls == [1], timeout=5000)
    label.repaint()
    label.update()
    qtbot.wait(50)
    assert calls == [1]


def test_after_first_paint_gives_up_waiting_for_a_window_that_never_paints(qtbot: QtBot) -> None:
    label = QLabel("never shown")
    qtbot.addWidget(label)
    calls: list[int] = []
    after_first_paint(label, lambda: calls.append(1), latest_ms=100)
    qtbot.waitUntil(lambda: calls == [1], timeout=5000)
