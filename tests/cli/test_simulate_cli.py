"""`workbench simulate` as a user runs it: a subprocess against a real local platform (or a port with nothing
behind it), with the live display, Ctrl+C, `--json`, `--events`, `--locustfile`, and a `kill -9` mid-run."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from tests.services.fleet_sim_support import make_store_fleet
from tests.support.mosquitto import free_port
from workbench.cli import run_cli
from workbench.services.fleet_simulator import Fleet

COUNT = 8
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Fleet]:
    folder = tmp_path_factory.mktemp("fleet")
    return folder / "devices", make_store_fleet(folder / "ws", folder / "devices", COUNT)


@pytest.fixture
def background() -> Iterator[BackgroundLocalPlatform]:
    with BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)) as bg:
        yield bg


def _platform_args(bg: BackgroundLocalPlatform) -> tuple[list[str], dict[str, str]]:
    local = bg.local
    assert local is not None and local.server_ca_path is not None
    args = ["--url", f"https://localhost:{bg.ports['https']}", "--user", "t100/admin",
            "--tenant-password-env", "SIM_TENANT_PW", "--mqtt-host", "localhost",
            "--mqtt-port", str(bg.ports["mqtts"]), "--server-ca", str(local.server_ca_path)]
    return args, {**os.environ, "SIM_TENANT_PW": local.admin_password or ""}


def _start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "workbench", "simulate", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _events_until(process: subprocess.Popen[str], done: Any, seconds: float = 20.0) -> dict[str, Any]:
    """Read --events lines until a figures line satisfies ``done``."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not selector.select(timeout=deadline - time.monotonic()):
            break
        line = process.stdout.readline()
        if not line:
            break
        event = json.loads(line)
        if event["event"] == "figures" and done(event["figures"]):
            return event["figures"]  # type: ignore[no-any-return]
    process.kill()
    raise AssertionError(f"no matching figures; stderr: {process.communicate()[1][-2000:]}")


def test_locustfile_prints_the_shipped_user_class(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["simulate", "--locustfile"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.name == "locustfile.py" and path.is_file() and "class" in path.read_text()


def test_a_timed_run_prints_the_json_summary(background: BackgroundLocalPlatform, made: tuple[Path, Fleet]) -> None:
    args, env = _platform_args(background)
    done = subprocess.run([sys.executable, "-m", "workbench", "simulate", "--fleet", str(made[0]), *args,
                           "--upload-ca", "--interval", "0.3", "--duration", "3", "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["totals"]["connects"] == COUNT and summary["totals"]["tokens"] == COUNT, summary
    assert summary["totals"]["messages"] >= COUNT * 3 and summary["errors"] == {}
    assert summary["process"]["rss_mib"] > 0 and "uploaded the fleet's CA" in done.stderr
    assert done.stderr.count("\n") < 10  # a progress display, not a log flood


def test_ctrl_c_stops_cleanly_with_a_summary(background: BackgroundLocalPlatform, made: tuple[Path, Fleet]) -> None:
    args, env = _platform_args(background)
    process = _start(["--fleet", str(made[0]), *args, "--upload-ca", "--interval", "0.3", "--events"], env)
    _events_until(process, lambda f: f["states"]["connected"] == COUNT)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["event"] == "summary" and summary["figures"]["states"]["stopped"] == COUNT
    assert "Traceback" not in err


def test_kill_9_then_the_next_run_continues(background: BackgroundLocalPlatform, made: tuple[Path, Fleet]) -> None:
    args, env = _platform_args(background)
    ca = made[1].ca_chain[0]
    from cryptography.hazmat.primitives import serialization

    from tests.platform.support import admin_rest
    answer = admin_rest(background).call("POST", "/tenant/tenants/t100/trusted-certificates", {
        "name": "bulk", "status": "ENABLED", "autoRegistrationEnabled": False,
        "certInPemFormat": ca.public_bytes(serialization.Encoding.PEM).decode()})
    assert answer.status == 201
    process = _start(["--fleet", str(made[0]), *args, "--registration", "bulk", "--interval", "0.3", "--events"],
                     env)
    _events_until(process, lambda f: f["states"]["connected"] >= 2)
    process.kill()
    process.communicate(timeout=10)
    done = subprocess.run([sys.executable, "-m", "workbench", "simulate", "--fleet", str(made[0]), *args,
                           "--registration", "bulk", "--duration", "2", "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["totals"]["connects"] == COUNT and summary["errors"] == {}, summary
    assert f"bulk registration: {COUNT} of {COUNT} devices registered" in done.stderr


def test_bad_input_and_a_target_that_is_down(tmp_path: Path) -> None:
    missing = subprocess.run([sys.executable, "-m", "workbench", "simulate", "--fleet", str(tmp_path / "nope"),
                              "--broker", "127.0.0.1:1"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    down = subprocess.run([sys.executable, "-m", "workbench", "simulate", "--ids", "3", "--broker",
                           f"127.0.0.1:{free_port()}", "--duration", "1.5"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert down.returncode == 1, down.stderr
    assert "TCP: connection refused (is the target running?)" in down.stdout
