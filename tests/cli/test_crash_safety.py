"""Crash safety of `workbench fleet issue`: kills at the worst moments never leave the CA store and the published
folder disagreeing, never leave worker processes behind, and the next run repairs or cleans what was left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.support.polling import poll
from workbench.cli import run_cli
from workbench.core.pki.store import CAStore

ROOT = Path(__file__).resolve().parents[2]  # the checkout these tests belong to (its code, not another install's)
CA = "Crash Root"

# Runs the CLI with os.rename wrapped: when the fleet's staging folder is renamed into place, the process dies at
# once (os._exit: no finally, no clean-up, as kill -9) just before or just after that rename.
_INJECT = """
import os, sys
MODE = sys.argv.pop(1)
real_rename = os.rename
def rename(src, dst, *args, **kwargs):
    hit = ".partial-" in os.fspath(src) and not os.fspath(src).endswith(".lock")
    if hit and MODE == "before":
        os._exit(137)
    real_rename(src, dst, *args, **kwargs)
    if hit and MODE == "after":
        os._exit(137)
os.rename = rename
from workbench.cli import run_cli
sys.exit(run_cli(sys.argv[1:]))
"""


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    (tmp_path / "pw").write_text("ca-secret\n")
    workspace = tmp_path / "ws"
    assert run_cli(["ca", "init", "--workspace", str(workspace), "--cn", CA, "--key-type", "ec-p256",
                    "--password-file", str(tmp_path / "pw")]) == 0
    capsys.readouterr()
    return workspace


def _fleet_args(ws: Path, out: Path, count: int, jobs: int = 1) -> list[str]:
    return ["fleet", "issue", "--workspace", str(ws), "--ca", CA, "--count", str(count), "--out", str(out),
            "--ca-password-file", str(ws.parent / "pw"), "--no-password", "--jobs", str(jobs)]


def _valid_serials(ws: Path) -> set[str]:
    """Serials the store lists as good certificates (neither revoked nor waiting for their files)."""
    with CAStore(ws) as store:
        return {format(r.serial, "X") for r in store.certificates(CA) if r.status() not in ("revoked", "unpublished")}


def _manifest_serials(*folders: Path) -> set[str]:
    serials: set[str] = set()
    for folder in folders:
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["count"] == len(manifest["devices"])
        serials |= {d["serial"] for d in manifest["devices"]}
    return serials


def _partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name)


@pytest.mark.parametrize("moment", ["before", "after"])
def test_a_kill_around_the_publishing_rename_never_leaves_store_and_folder_disagreeing(
        ws: Path, tmp_path: Path, moment: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fleet"
    crashed = subprocess.run([sys.executable, "-c", _INJECT, moment, *_fleet_args(ws, out, 40)], env=_env(),
                             capture_output=True, text=True, timeout=60, check=False)
    assert crashed.returncode == 137, crashed.stderr
    if moment == "after":  # the folder is published: the store must already hold every one of its certificates
        assert out.is_dir() and _valid_serials(ws) | _unpublished(ws) == _manifest_serials(out)
    else:  # nothing published: the store may hold the job's certificates, but never as good ones
        assert not out.exists() and _valid_serials(ws) == set()

    # The same command again finishes the interrupted job instead of failing or issuing a second fleet.
    code = run_cli(_fleet_args(ws, out, 40))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "note:" in captured.err and "interrupted" in captured.err
    assert "was finished (40 devices)" in captured.out
    assert _valid_serials(ws) == _manifest_serials(out) and len(_manifest_serials(out)) == 40
    assert _unpublished(ws) == set() and _partials(tmp_path) == []


def _unpublished(ws: Path) -> set[str]:
    with CAStore(ws) as store:
        return {format(r.serial, "X") for r in store.certificates(CA) if r.status() == "unpublished"}


def _marked_processes(marker: str) -> list[int]:
    """Live processes (not zombies) whose environment carries the marker: the CLI and everything it started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() not in (entry / "environ").read_bytes():
                continue
            state = (entry / "stat").read_bytes().rpartition(b")")[2].split()[0]
        except (OSError, IndexError):
            continue
        if state != b"Z":
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_mid_run_leaves_no_workers_and_the_next_run_cleans_up(ws: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    marker = f"WB_CRASH_TEST_{uuid.uuid4().hex}"
    out = tmp_path / "big"
    proc = subprocess.Popen([sys.executable, "-m", "workbench", *_fleet_args(ws, out, 4000, jobs=2)],
                            env=_env(**{marker: "1"}), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def devices_being_written() -> bool:
            return any(p.is_dir() and any(p.iterdir()) for p in tmp_path.glob(".big.partial-*"))

        assert poll(devices_being_written, 30), "the fleet never started writing devices"
        assert proc.poll() is None, "the fleet finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        remaining = poll(lambda: not _marked_processes(marker), 5)
        leftover_pids = _marked_processes(marker)
        assert remaining and not leftover_pids, f"processes outlived the killed fleet: {leftover_pids}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in _marked_processes(marker):  # only the processes this test started
            os.kill(pid, signal.SIGKILL)
    assert _partials(tmp_path), "the kill should have left the staging folder for the next run"

    code = run_cli(_fleet_args(ws, tmp_path / "small", 3))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "note: Removed the partial output of an interrupted fleet job" in captured.err
    assert _partials(tmp_path) == [] and not out.exists()
    assert _valid_serials(ws) == _manifest_serials(tmp_path / "small")


def test_an_old_partial_folder_without_an_owner_is_cleaned_and_said_so(ws: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    legacy = tmp_path / ".fleet.partial-abc123"  # what earlier versions left: no lock file, keys inside
    (legacy / "wb-dev-0001").mkdir(parents=True)
    (legacy / "wb-dev-0001" / "deviceKey.pem").write_text("key")
    old = time.time() - 3600
    os.utime(legacy / "wb-dev-0001", (old, old))
    os.utime(legacy, (old, old))
    assert run_cli(_fleet_args(ws, tmp_path / "fresh", 2)) == 0
    err = capsys.readouterr().err
    assert f"note: Removed '{legacy}', left by an interrupted run (1 private key file(s) deleted)" in err
    assert _partials(tmp_path) == []
