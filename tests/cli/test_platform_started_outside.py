"""The README's path: `embedded-broker` runs in one terminal, the workbench is used from another, no keyring.

`embedded-broker --print-ca-path` gives curl and mosquitto the server CA; `workbench onboard --local` takes the
admin password the platform was started with (`--admin-password-file/-env`, or `EMBEDDED_BROKER_ADMIN_PASSWORD`)
instead of exiting; the "no keyring" warning is printed once per command, the self-test's included.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.polling import until

ADMIN_PASSWORD = "the-admin-password-1"
NO_KEYRING = "no system keyring"


def _env(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "EMBEDDED_BROKER_ADMIN_PASSWORD"}
    env.update(WORKBENCH_DATA_DIR=str(data), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
               QT_QPA_PLATFORM="offscreen", **extra)
    return env


@contextlib.contextmanager
def _platform(data: Path, *options: str, **extra: str) -> Iterator[Path]:
    """`embedded-broker` started by hand on free ports, until the block ends; yields its WORKBENCH_DATA_DIR."""
    env = _env(data, EMBEDDED_BROKER_ADMIN_PASSWORD=ADMIN_PASSWORD, **extra)
    process = subprocess.Popen([sys.executable, "-m", "embedded_broker", "--mqtt-port", "0", "--mqtts-port", "0",
                                "--https-port", "0", *options], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        until(lambda: any(x.startswith("data folder: ") for x in lines) or process.poll() is not None,
              "the platform's banner", 60)
        assert process.poll() is None, "".join(lines)
        yield data
    finally:
        process.terminate()
        process.wait(20)
        reader.join(10)
        assert process.stdout is not None
        process.stdout.close()


@pytest.fixture
def outside_platform(tmp_path: Path) -> Iterator[Path]:
    """A local platform started by hand, as the README's second terminal does (its own admin password, free ports);
    yields the WORKBENCH_DATA_DIR it lives in."""
    with _platform(tmp_path / "data") as data:
        yield data


def _workbench(data: Path, *args: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", *args], env=_env(data, **extra), cwd=cwd,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def test_print_ca_path_before_and_after_the_first_start(tmp_path: Path, outside_platform: Path) -> None:
    fresh = _env(tmp_path / "never-started")
    before = subprocess.run([sys.executable, "-m", "embedded_broker", "--print-ca-path"], env=fresh,
                            capture_output=True, text=True, timeout=60)
    assert before.returncode == 1 and before.stdout == ""
    assert "no server CA in" in before.stderr and "first start" in before.stderr
    ephemeral = subprocess.run([sys.executable, "-m", "embedded_broker", "--print-ca-path", "--ephemeral"],
                               env=fresh, capture_output=True, text=True, timeout=60)
    assert ephemeral.returncode == 2 and "--ephemeral" in ephemeral.stderr
    after = subprocess.run([sys.executable, "-m", "embedded_broker", "--print-ca-path"], env=_env(outside_platform),
                           capture_output=True, text=True, timeout=60)
    assert after.returncode == 0, after.stderr
    path = Path(after.stdout.strip())
    assert path == (outside_platform / "local-platform" / "server-ca.pem").resolve()
    assert path.read_text().startswith("-----BEGIN CERTIFICATE-----")


def test_onboard_uses_the_password_the_platform_was_started_with(tmp_path: Path, outside_platform: Path) -> None:
    data = outside_platform
    unknown = _workbench(data, "onboard", "--local", cwd=tmp_path)
    assert unknown.returncode != 0
    assert "its admin password is not in the keyring" in unknown.stderr
    assert "--admin-password-file" in unknown.stderr and "EMBEDDED_BROKER_ADMIN_PASSWORD" in unknown.stderr

    (tmp_path / "wrong.pw").write_text("not-it\n")
    wrong = _workbench(data, "onboard", "--local", "--admin-password-file", "wrong.pw", cwd=tmp_path)
    assert wrong.returncode == 1
    assert "with the password from --admin-password-file wrong.pw" in wrong.stderr

    (tmp_path / "admin.pw").write_text(ADMIN_PASSWORD + "\n")
    given = _workbench(data, "onboard", "--local", "--admin-password-file", "admin.pw", cwd=tmp_path)
    assert given.returncode == 0, given.stdout + given.stderr
    assert given.stdout.startswith("local platform already running: https://localhost:")
    assert "onboarding rehearsal complete" in given.stdout
    assert given.stderr.count(NO_KEYRING) == 1, given.stderr

    by_env = _workbench(data, "onboard", "--local", "--admin-password-env", "MY_PW", cwd=tmp_path,
                        MY_PW=ADMIN_PASSWORD)
    assert by_env.returncode == 0, by_env.stderr
    platform_variable = _workbench(data, "onboard", "--local", cwd=tmp_path,
                                   EMBEDDED_BROKER_ADMIN_PASSWORD=ADMIN_PASSWORD)
    assert platform_variable.returncode == 0, platform_variable.stderr
    for run in (unknown, wrong, given, by_env, platform_variable):
        assert ADMIN_PASSWORD not in run.stdout + run.stderr


def test_admin_password_options_go_with_local(tmp_path: Path) -> None:
    run = _workbench(tmp_path, "onboard", "--url", "https://tenant.example", "--user", "t1/admin",
                     "--admin-password-env", "X", cwd=tmp_path, X="x")
    assert run.returncode == 2 and "--admin-password-file/-env go with --local" in run.stderr


def test_self_test_warns_about_the_keyring_once(tmp_path: Path) -> None:
    run = _workbench(tmp_path, "--self-test", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    warnings = [line for line in (run.stdout + run.stderr).splitlines() if NO_KEYRING in line]
    assert len(warnings) == 1, run.stdout + run.stderr
    assert "secrets are kept for this session only" in warnings[0]


def test_a_platform_serving_a_key_store_is_not_doubled(tmp_path: Path) -> None:
    """With --server-keystore the platform's own CA does not open it: the workbench says so instead of starting a
    second platform on the same data folder."""
    data = tmp_path / "data"
    made = _workbench(data, "demo-certs", "vh", "--password-env", "PW", "--virtual-host", "t100.localhost",
                      cwd=tmp_path, PW="store-password")
    assert made.returncode == 0, made.stderr
    with _platform(data, "--server-keystore", str(tmp_path / "vh/server/virtualHosts.p12"),
                   "--server-keystore-password-env", "PW", PW="store-password"):
        state = data / "local-platform" / "running.json"
        pid = json.loads(state.read_text())["pid"]
        run = _workbench(data, "onboard", "--local", cwd=tmp_path, EMBEDDED_BROKER_ADMIN_PASSWORD=ADMIN_PASSWORD)
        assert run.returncode == 1, run.stdout + run.stderr
        assert f"runs (pid {pid}) but does not answer over HTTPS with its own server CA" in run.stderr
        assert "--server-keystore" in run.stderr and "Ctrl+C" in run.stderr
        assert json.loads(state.read_text())["pid"] == pid  # no second platform took the folder
