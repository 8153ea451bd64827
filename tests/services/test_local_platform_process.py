"""The local platform as the workbench's child process: first start with our keyring password, reuse, and stop."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.core.profiles.model import SecretName
from workbench.core.profiles.secrets import SecretStore
from workbench.services.local_platform import SECRET_ID, LocalPlatformError, LocalPlatformProcess

PORTS = {"mqtt": 0, "mqtts": 0, "https": 0}


def test_first_start_reuse_and_stop(tmp_path: Path) -> None:
    secrets = SecretStore()
    folder = tmp_path / "lp"
    first = LocalPlatformProcess(folder, secrets=secrets, ports=PORTS)
    info = first.start_or_reuse()
    try:
        assert info.started_here and info.ports["mqtts"] > 0 and info.server_ca.exists()
        assert info.admin_password == secrets.get(SECRET_ID, SecretName.PLATFORM_PASSWORD)
        state = json.loads((folder / "running.json").read_text())
        assert state["pid"] == info.pid and state["ports"] == info.ports and "password" not in json.dumps(state)
        second = LocalPlatformProcess(folder, secrets=secrets, ports=PORTS).start_or_reuse()
        assert not second.started_here and second.ports == info.ports and second.pid == info.pid
    finally:
        first.stop()
    assert not (folder / "running.json").exists()
    again = LocalPlatformProcess(folder, secrets=secrets, ports=PORTS)
    try:
        assert again.start_or_reuse().admin_password == info.admin_password  # the same data, the same password
    finally:
        again.stop()


def test_a_platform_made_outside_the_workbench_gets_our_password(tmp_path: Path) -> None:
    folder = tmp_path / "lp"
    made = subprocess.run([sys.executable, "-m", "embedded_broker", "--data-dir", str(folder), "--create-tenant",
                           "t200"], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0
    secrets = SecretStore()
    secrets.delete(SECRET_ID, SecretName.PLATFORM_PASSWORD)
    process = LocalPlatformProcess(folder, secrets=secrets, ports=PORTS)
    try:
        info = process.start_or_reuse()  # we start it, so our (new) keyring password becomes its password
        assert info.admin_password == secrets.get(SECRET_ID, SecretName.PLATFORM_PASSWORD)
        # a platform someone else runs on the folder, with a password we do not know, is explained
        secrets.set(SECRET_ID, SecretName.PLATFORM_PASSWORD, "not-the-password")
        with pytest.raises(LocalPlatformError) as wrong:
            LocalPlatformProcess(folder, secrets=secrets, ports=PORTS).start_or_reuse()
        assert "does not open this local platform" in str(wrong.value)
    finally:
        process.stop()
