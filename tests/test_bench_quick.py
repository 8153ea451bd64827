"""Every benchmark runs to completion in its --quick mode (tiny loads) and prints what makes its figures readable:
the machine and its load, and what runs in parallel. `make bench` takes ~15 minutes, so without this a broken
benchmark (`bench/fleet_issuance.py --rsa 0` crashed) is found only when someone wants figures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = sorted(p.name for p in (ROOT / "bench").glob("*.py") if p.name != "benchlib.py")


@pytest.mark.slow
@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_runs_quickly_and_says_how_to_read_it(name: str, tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TMPDIR": str(tmp_path), "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / name), "--quick"], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert "machine:" in done.stdout and "load " in done.stdout, done.stdout[-2000:]
    if name != "mtls_connect.py":  # it prints its own load lines (before/after) and parallel line
        assert "parallel:" in done.stdout and "after" in done.stdout.splitlines()[-1], done.stdout[-2000:]


def test_fleet_issuance_runs_without_rsa_devices(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "fleet_issuance.py"), "--quick", "--rsa", "0"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "TMPDIR": str(tmp_path)})
    assert done.returncode == 0 and "rsa2048: skipped (--rsa 0)" in done.stdout, done.stdout + done.stderr[-2000:]
    assert "ec-p256" in done.stdout.split("keys")[-1]  # the EC row is still measured and printed


def test_every_benchmark_says_how_its_figures_were_taken() -> None:
    """No benchmark refers to a file that does not exist, and each one's docstring names its peer or reference and
    what runs in parallel."""
    for name in BENCHMARKS:
        text = (ROOT / "bench" / name).read_text()
        for word in text.replace("`", " ").replace("(", " ").replace(")", " ").replace(",", " ").split():
            if word.startswith("bench/") and word.endswith(".py"):
                assert (ROOT / word).exists(), f"{name} refers to {word}, which does not exist"
        doc = text.split('"""')[1].lower()
        assert "parallel" in doc, f"{name}: its docstring does not say what runs in parallel"
        assert any(w in doc for w in ("peer", "reference", "mosquitto")), f"{name}: no peer named in its docstring"
