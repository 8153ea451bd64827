"""The simulator on Locust, as CI runs it: a headless master and two workers (subprocesses on loopback, free
ports) drive a 30-device fleet against a real local platform; each worker takes a disjoint slice, and the master's
summary merges both workers' figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from tests.services.fleet_sim_support import make_store_fleet
from tests.support.mosquitto import free_port
from workbench.services.fleet_simulator import LOCUSTFILE

COUNT = 30
RUN_SECONDS = 15


@pytest.fixture
def background() -> Iterator[BackgroundLocalPlatform]:
    with BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)) as bg:
        yield bg


def test_master_and_two_workers_drive_disjoint_slices(background: BackgroundLocalPlatform, tmp_path: Path) -> None:
    make_store_fleet(tmp_path / "ws", tmp_path / "devices", COUNT)
    local = background.local
    assert local is not None and local.server_ca_path is not None
    fleet_args = (f"--fleet {tmp_path / 'devices'} --url https://localhost:{background.ports['https']} "
                  f"--user t100/admin --tenant-password-env SIM_TENANT_PW --mqtt-host localhost "
                  f"--mqtt-port {background.ports['mqtts']} --server-ca {local.server_ca_path} --upload-ca "
                  f"--interval 1")
    env = {**os.environ, "SIM_TENANT_PW": local.admin_password or "", "PYTHONWARNINGS": "ignore"}
    locust = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--fleet-args", fleet_args]
    port, summary = free_port(), tmp_path / "summary.json"
    master = subprocess.Popen([*locust, "--headless", "--master", "--expect-workers", "2", "-u", "2", "-r", "2",
                               "-t", f"{RUN_SECONDS}s", "--master-bind-host", "127.0.0.1", "--master-bind-port",
                               str(port), "--fleet-summary", str(summary), "--stop-timeout", "20"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    workers = [subprocess.Popen([*locust, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port),
                                 "--fleet-workers", "2"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for _ in range(2)]
    try:
        out, _ = master.communicate(timeout=RUN_SECONDS + 60)
    finally:
        for process in [master, *workers]:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
    assert summary.exists(), out[-3000:]
    merged = json.loads(summary.read_text())
    assert merged["workers"] == 2 and merged["devices"] == COUNT, merged
    assert merged["totals"]["connects"] == COUNT and merged["totals"]["tokens"] == COUNT, merged
    assert merged["errors"] == {}, merged
    assert merged["locust"]["requests"] >= COUNT * 2 and merged["locust"]["failures"] == 0, merged
    # the slices were disjoint: the platform saw each device connect once
    assert merged["totals"]["messages"] >= COUNT * (RUN_SECONDS // 2), merged
