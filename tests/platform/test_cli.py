"""`embedded-broker` without --sandbox runs the local platform: it prints ports, the CA file and the admin password."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path


def start(*args: str) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen([sys.executable, "-m", "embedded_broker", "--mqtt-port", "0", "--mqtts-port", "0",
                                "--https-port", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    lines = [process.stdout.readline().strip()]
    while lines[-1] and not lines[-1].startswith(("data folder", "admin")) and len(lines) < 6:
        lines.append(process.stdout.readline().strip())
    return process, lines


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err


def test_first_start_prints_ports_ca_and_credentials(tmp_path: Path) -> None:
    process, lines = start("--data-dir", str(tmp_path / "lp"))
    try:
        assert lines[0].startswith("embedded-broker ports: mqtt=") and "https=" in lines[0]
        assert any(f"server CA (add it to truststores): {tmp_path / 'lp' / 'server-ca.pem'}" in x for x in lines)
        assert any(x.startswith("admin credentials (shown once): tenant t100, user admin, password ") for x in lines)
    finally:
        stop(process)
    assert (tmp_path / "lp" / "platform.db").stat().st_mode & 0o777 == 0o600
    again, lines = start("--data-dir", str(tmp_path / "lp"))
    try:
        assert not any("admin credentials" in x for x in lines)  # shown on first start only
    finally:
        stop(again)


def test_create_tenant_and_reset(tmp_path: Path) -> None:
    folder = str(tmp_path / "lp")
    made = subprocess.run([sys.executable, "-m", "embedded_broker", "--data-dir", folder, "--create-tenant", "t200"],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0 and made.stdout.startswith("tenant t200 created: user admin, password ")
    twice = subprocess.run([sys.executable, "-m", "embedded_broker", "--data-dir", folder, "--create-tenant", "t200"],
                           capture_output=True, text=True, timeout=60)
    assert twice.returncode == 1 and "already exists" in twice.stderr
    process, lines = start("--data-dir", folder, "--reset")
    try:
        assert any("admin credentials" in x for x in lines)  # a fresh platform again
    finally:
        stop(process)
