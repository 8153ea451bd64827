"""The window on a real X server: under Xvfb (1280x800x24) with Qt's xcb platform plugin, not offscreen, the
assembled window opens, paints, keeps its size and fits the screen. This is what catches a missing system library
of the xcb plugin (libxcb-icccm4, libxcb-keysyms1, libxkbcommon-x11-0 …) before a user does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

WIDTH, HEIGHT = 1280, 800

# Runs in a child process: this test process already has an offscreen QApplication.
CHILD = r"""
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from workbench.services.local_platform import LocalPlatformProcess
from workbench.ui.assembly import build_workbench
from workbench.ui.local_platform_control import LocalPlatformControl
width, height, shot = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
bench = build_workbench(LocalPlatformControl(LocalPlatformProcess(ephemeral=True), prepare_demo=False))
window = bench.window
window.resize(width, height)
window.move(0, 0)
window.show()
sizes = []
def visit(titles):
    if titles:
        window.show_area(titles[0])
        QTimer.singleShot(150, lambda: (sizes.append([window.width(), window.height()]), visit(titles[1:])))
        return
    image = window.screen().grabWindow(0)
    image.save(shot)
    picture = image.toImage()
    colours = {picture.pixel(x, y) for x in range(0, picture.width(), 7) for y in range(0, picture.height(), 7)}
    screen = window.screen().geometry()
    print(json.dumps({"platform": QApplication.platformName(), "screen": [screen.width(), screen.height()],
                      "frame": [window.frameGeometry().x(), window.frameGeometry().y(),
                                window.frameGeometry().width(), window.frameGeometry().height()],
                      "sizes": sizes, "colours": len(colours), "shot": [image.width(), image.height()]}),
          flush=True)
    window.force_close = True
    window.close()
    app.quit()
from workbench.ui.main_window import AREAS
QTimer.singleShot(500, lambda: visit([title for title, _ in AREAS]))
sys.exit(app.exec())
"""


@pytest.fixture
def xvfb() -> Iterator[str]:
    """An Xvfb on a display number it picks itself (-displayfd: never a fixed, possibly taken, number)."""
    binary = shutil.which("Xvfb")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI: Xvfb is missing (.ci/run installs the xvfb package); the real-X smoke test must run")
        pytest.skip("Xvfb is not installed (apt install xvfb): the real-X smoke test runs in CI")
    read, write = os.pipe()
    server = subprocess.Popen([binary, "-displayfd", str(write), "-screen", "0", f"{WIDTH}x{HEIGHT}x24",
                               "-nolisten", "tcp"], pass_fds=(write,), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()  # Xvfb writes the number once it accepts connections
        assert number, "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_window_paints_and_fits_on_a_real_x_server(xvfb: str, tmp_path: Path, screenshot_dir: Path) -> None:
    shot = screenshot_dir / "xvfb-window.png"
    env = dict(os.environ, DISPLAY=xvfb, QT_QPA_PLATFORM="xcb", PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
               HOME=str(tmp_path), XDG_RUNTIME_DIR=str(tmp_path), WAYLAND_DISPLAY="")
    env.pop("QT_QPA_PLATFORMTHEME", None)
    result = subprocess.run([sys.executable, "-c", CHILD, str(WIDTH), str(HEIGHT), str(shot)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"the window did not open under Xvfb (xcb):\n{result.stderr[-3000:]}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["platform"] == "xcb" and report["screen"] == [WIDTH, HEIGHT]
    assert all(size == [WIDTH, HEIGHT] for size in report["sizes"]), report  # no page made the window grow
    x, y, width, height = report["frame"]
    assert x >= 0 and y >= 0 and x + width <= WIDTH and y + height <= HEIGHT, report  # it fits the screen
    assert report["shot"] == [WIDTH, HEIGHT] and report["colours"] > 20, report  # it painted, not a blank screen
    assert shot.stat().st_size > 10_000
