"""Cold start of the GUI: from exec of a fresh process to the first paint of the main window (target <= 1.5 s),
against a bare PySide6 window started the same way as the peer (the floor of Python + Qt on this machine).

Run: `python bench/cold_start.py [--rounds 5] [--kinds app,window] [--quick]`. Each run is a new Python process
with fresh config, data and XDG folders (a first run: the welcome opens), offscreen. Kinds: `app` is `workbench`
with no arguments (run_gui: logging, theme, qasync, every page; the local platform is started only after the first
paint and is not waited for), `window` builds and paints the window only, `peer` is a QMainWindow with a sidebar
list and a stacked page (no workbench import). The runs are interleaved (app, window, peer, app, ...) and the
medians printed with every run's figure, the child's CPU seconds up to the paint (less sensitive to the load than
the wall time) and the ratio to the peer. What is parallel: nothing on purpose; each child is one process whose
GUI thread does the work (Qt's own helper threads aside); nothing else of the benchmark runs while it starts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib

ROOT = benchlib.ROOT
TARGET_S = 1.5

# The whole `workbench` start (run_gui), until the window's first full paint; then quit as a user would.
APP = r"""
import os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, sys.argv[1])
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMainWindow
from workbench.ui.app import create_application, run_gui
app = create_application()
def painted():
    windows = [w for w in app.topLevelWidgets() if isinstance(w, QMainWindow) and w.isVisible()]
    if not windows:  # something modal came first: that is not the window
        print("no window: " + ", ".join(type(w).__name__ for w in app.topLevelWidgets() if w.isVisible()), flush=True)
        os._exit(3)
    windows[0].grab()
    print("painted", time.process_time(), flush=True)  # what is measured ends here
    windows[0].force_close = True
    windows[0].close()
QTimer.singleShot(0, painted)
run_gui()
"""

# the end both the window and its peer share, so both sides are measured to the same point: shown, painted, quit
PAINTED = r"""window.show()
def painted():
    window.grab()
    print("painted", time.process_time(), flush=True)
    app.quit()
QTimer.singleShot(0, painted)
app.exec()
"""

WINDOW = r"""
import os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, sys.argv[1])
from PySide6.QtCore import QTimer
from workbench.ui.app import create_application
from workbench.ui.assembly import build_workbench
app = create_application()
window = build_workbench(first_run=True).window  # every page, as `workbench` opens it (no platform, no loop)
""" + PAINTED

PEER = r"""
import os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (QApplication, QLabel, QListWidget, QMainWindow, QSplitter, QStackedWidget)
app = QApplication(sys.argv)
window = QMainWindow()
window.resize(1200, 780)
splitter = QSplitter()
areas = QListWidget()
pages = QStackedWidget()
for name in ("Onboarding", "Connections", "Certificates", "Keystores", "Proof of Possession", "Fleet", "Platform"):
    areas.addItem(name)
    pages.addWidget(QLabel(name))
splitter.addWidget(areas)
splitter.addWidget(pages)
window.setCentralWidget(splitter)
window.statusBar().showMessage("ready")
window.menuBar().addMenu("&File")
""" + PAINTED

SCRIPTS = {"app": APP, "window": WINDOW, "peer": PEER}
WHAT = {"app": "`workbench` (run_gui, first run)", "window": "window only (build + show + paint)",
        "peer": "peer: bare PySide6 window"}


def cold_start(kind: str) -> tuple[float, float]:
    """(wall seconds from exec to the first full paint, the child's CPU seconds until then), in a fresh process
    with fresh folders."""
    folder = Path(tempfile.mkdtemp(prefix="bench-cold-"))
    env = {**os.environ, "WORKBENCH_CONFIG_DIR": str(folder / "config"), "WORKBENCH_DATA_DIR": str(folder / "data"),
           "XDG_CONFIG_HOME": str(folder / "xdg-config"), "XDG_DATA_HOME": str(folder / "xdg-data"),
           "XDG_STATE_HOME": str(folder / "xdg-state"), "XDG_CACHE_HOME": str(folder / "xdg-cache"),
           "QT_QPA_PLATFORM": "offscreen"}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", SCRIPTS[kind], str(ROOT)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, cwd=folder)
    line = process.stdout.readline() if process.stdout else ""
    took = time.perf_counter() - started
    try:
        _out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        _out, err = process.communicate()
    if not line.startswith("painted"):
        raise SystemExit(f"cold start ({kind}) failed: {line.strip()} {err[-800:]}")
    return took, float(line.split()[1])


def measure(kinds: list[str], rounds: int) -> dict[str, list[tuple[float, float]]]:
    """Interleaved fresh-process starts of each kind, each run printed as it comes."""
    def report(round_: int, kind: str, result: tuple[float, float]) -> None:
        print(f"  round {round_} {kind:<6} {result[0]:.2f} s to first paint, CPU {result[1]:.2f} s; {benchlib.load()}",
              flush=True)

    return benchlib.interleave(rounds, {kind: (lambda k=kind: cold_start(k)) for kind in kinds}, report)


def summary(runs: dict[str, list[tuple[float, float]]]) -> list[str]:
    """One line per kind: median wall and CPU, every run, the ratio to the peer, the target for the app."""
    peer = benchlib.median(r[0] for r in runs.get("peer", []))
    peer_cpu = benchlib.median(r[1] for r in runs.get("peer", []))
    lines = []
    for kind, results in runs.items():
        wall, cpu = benchlib.median(r[0] for r in results), benchlib.median(r[1] for r in results)
        text = (f"cold start to first paint, {WHAT[kind]}: median {wall:.2f} s "
                f"({benchlib.runs_text(r[0] for r in results)}), CPU {cpu:.2f} s")
        if kind != "peer" and "peer" in runs:
            text += f"; vs peer {benchlib.ratio(wall, peer)} wall, {benchlib.ratio(cpu, peer_cpu)} CPU"
        if kind == "app":
            text += f"; target <= {TARGET_S} s: {'met' if wall <= TARGET_S else 'NOT met'}"
        lines.append(text)
    return lines


def main() -> int:
    """Interleave the starts, print the medians, ratios and the load."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    benchlib.add_arguments(parser, rounds=5)
    parser.add_argument("--kinds", default="app,window,peer", help="comma-separated: app, window, peer")
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    kinds = [k for k in args.kinds.split(",") if k in SCRIPTS]
    benchlib.begin(f"cold start, fresh process each, offscreen; {rounds} interleaved rounds of {', '.join(kinds)}",
                   "none by design: one child process at a time, its GUI thread doing the work; the peer is "
                   "started the same way", args)
    for line in summary(measure(kinds, rounds)):
        print(line)
    benchlib.end()
    return 0


if __name__ == "__main__":
    sys.exit(main())
