"""Secrets at rest in the data folder: 0700 folder, 0600 files (DB, -wal, -shm) and no key readable as PEM or DER.

Black-box: the real platform runs (as `python -m embedded_broker` or in a thread) on a folder in tmp_path; the tests
look at the folder while it runs, the way an attacker with a copy of it would (`strings` on the DB and WAL).
"""

from __future__ import annotations

import base64
import os
import queue
import re
import signal
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from embedded_broker.local_platform import BackgroundLocalPlatform, PlatformSettings
from tests.platform.support import Rest, make_ca

CLEAR_KEYS_COMMIT = "24104b7"  # the last commit whose platform kept its keys in clear: it makes an old data folder
START_TIMEOUT = 30.0
PUBLIC_FILES = {"server-ca.pem"}  # a certificate meant for truststores: readable on purpose (the folder is 0700)
# what `strings platform.db-wal | grep` finds of a PEM key, and the DER starts of PKCS#8 RSA / EC and PKCS#1 RSA keys
MARKERS = (b"PRIVATE KEY", b"BEGIN RSA", b"BEGIN EC",
           b"\x02\x01\x00\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00\x04",
           b"\x02\x01\x00\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07\x04",
           b"BgkqhkiG9w0BAQEFAAS", b"AgEAMBMGByqGSM49AgEG")
PEM_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\n(.*?)\n-----END", re.S)
pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


class Cli:
    """`python -m embedded_broker --data-dir X` with every port 0; its banner lines are read with a deadline."""

    def __init__(self, folder: Path, *, password: str | None = None, cwd: Path | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if k != "EMBEDDED_BROKER_ADMIN_PASSWORD"}
        if password is not None:
            env["EMBEDDED_BROKER_ADMIN_PASSWORD"] = password
        if cwd is not None:  # run that checkout's code, not the installed one
            env["PYTHONPATH"] = str(cwd)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "embedded_broker", "--data-dir", str(folder), "--mqtt-port", "0",
             "--mqtts-port", "0", "--https-port", "0"], cwd=cwd, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def banner(self) -> dict[str, str]:
        """Wait for the banner's last line (`data folder: ...`); ports, ca and the password when printed."""
        deadline = time.monotonic() + START_TIMEOUT
        while not self.lines or not self.lines[-1].startswith("data folder: "):
            line = self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            if line is None:
                raise AssertionError(f"the platform stopped: {self.process.communicate()[1]}")
            self.lines.append(line)
        found = {"ports": self.lines[0].removeprefix("embedded-broker ports: ")}
        for line in self.lines:
            if line.startswith("admin credentials (shown once): "):
                found["password"] = line.rsplit(" ", 1)[1]
        return found

    @property
    def https(self) -> int:
        return int(dict(p.split("=") for p in self.banner()["ports"].split())["https"])

    def stop(self, sig: int = signal.SIGTERM) -> str:
        """Stop it; its stderr, which must not hold a traceback."""
        self.process.send_signal(sig)
        _out, err = self.process.communicate(timeout=30)
        assert "Traceback" not in err, err
        return err


@pytest.fixture
def clis() -> Iterator[list[Cli]]:
    started: list[Cli] = []
    yield started
    for cli in started:
        if cli.process.poll() is None:
            cli.stop(signal.SIGKILL)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_private(folder: Path) -> None:
    """The folder 0700; every file 0600 but the public CA certificate (0644); -wal and -shm exist (WAL mode)."""
    assert mode(folder) == 0o700, oct(mode(folder))
    names = {p.name for p in folder.iterdir()}
    assert {"platform.db", "platform.db-wal", "platform.db-shm", "secret.key", "running.json"} <= names, names
    for path in folder.iterdir():
        assert path.is_file(), path
        expected = 0o644 if path.name in PUBLIC_FILES else 0o600
        assert mode(path) == expected, f"{path.name} is {oct(mode(path))}"


def assert_no_key(folder: Path, extra: tuple[bytes, ...] = ()) -> None:
    """No file of the folder holds a key marker (or one of `extra`), as `strings FILE | grep` would see it."""
    for path in folder.iterdir():
        data = path.read_bytes()
        for marker in MARKERS + extra:
            assert marker not in data, f"{path.name} holds {marker[:40]!r}"


def served_ca_works(port: int, ca_pem: bytes, tmp_path: Path) -> bool:
    """A TLS handshake with the HTTPS port verifies against `ca_pem` (copied outside the data folder)."""
    cafile = tmp_path / f"trust-{port}.pem"
    cafile.write_bytes(ca_pem)
    context = ssl.create_default_context(cafile=str(cafile))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname="localhost") as tls:
        return tls.version() is not None


def test_cli_folder_is_private_keys_sealed_and_given_password_not_echoed(tmp_path: Path, clis: list[Cli]) -> None:
    folder, password = tmp_path / "lp", "Given-Pw-" + base64.b32encode(os.urandom(10)).decode()
    cli = Cli(folder, password=password)
    clis.append(cli)
    cli.banner()
    rest = Rest(cli.https, folder / "server-ca.pem", "t100/admin", password)
    root = make_ca()
    assert rest.upload(root).status == 201
    files = root.issue("Secrets Intermediate", ca=True).issue("dev-secret").write(tmp_path / "client", "dev")
    answer = rest.call("POST", "/devicecontrol/deviceAccessToken", auth=False, cert=files)
    assert answer.status == 200, answer.body
    token = answer.json["accessToken"]
    assert rest.call("GET", "/user/currentUser", token=token).status == 200
    assert rest.call("GET", "/tenant/currentTenant").status == 200  # the given password works ...
    assert all(password not in line for line in cli.lines)  # ... and was never printed
    assert_private(folder)  # while it runs: the WAL holds the latest writes
    assert_no_key(folder)
    assert len((folder / "secret.key").read_bytes()) == 32
    err = cli.stop()
    assert password not in err
    assert mode(folder) == 0o700 and mode(folder / "platform.db") == 0o600
    assert_no_key(folder)
    again = Cli(folder, password=password)  # the sealed keys open again: same server CA, same signing key
    clis.append(again)
    again.banner()
    assert served_ca_works(again.https, (folder / "server-ca.pem").read_bytes(), tmp_path)
    again_rest = Rest(again.https, folder / "server-ca.pem", "t100/admin", password)
    assert again_rest.call("GET", "/user/currentUser", token=token).status == 200
    assert all(password not in line for line in again.lines)
    again.stop()


def test_embedded_platform_tightens_a_lax_folder_whatever_the_umask(tmp_path: Path) -> None:
    folder = tmp_path / "lp"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    stray = folder / "notes.txt"
    stray.write_text("left here")
    os.chmod(stray, 0o644)
    old_umask = os.umask(0o022)  # a host process with the usual umask: the platform must not rely on it
    try:
        settings = PlatformSettings(data_dir=folder, mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0,
                                    admin_password="Embedded-Given-Pw")
        with BackgroundLocalPlatform(settings) as background:
            assert background.local is not None
            rest = Rest(background.ports["https"], folder / "server-ca.pem", "t100/admin", "Embedded-Given-Pw")
            assert rest.upload(make_ca()).status == 201
            assert_private(folder)
            assert_no_key(folder)
            assert not any("Embedded-Given-Pw" in line for line in background.local.summary())
    finally:
        os.umask(old_umask)


def test_ephemeral_platform_still_shows_its_generated_password(tmp_path: Path) -> None:
    with BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)) as bg:
        assert bg.local is not None and bg.local.admin_password
        assert any(bg.local.admin_password in line for line in bg.local.summary())


def test_missing_data_key_is_a_clear_refusal(tmp_path: Path) -> None:
    folder = tmp_path / "lp"
    with BackgroundLocalPlatform(PlatformSettings(data_dir=folder, mqtt_port=0, mqtts_port=0, https_port=0,
                                                  sys_interval=0)):
        pass
    (folder / "secret.key").unlink()
    broken = subprocess.run([sys.executable, "-m", "embedded_broker", "--data-dir", str(folder), "--mqtt-port", "0",
                             "--mqtts-port", "0", "--https-port", "0"], capture_output=True, text=True, timeout=60)
    assert broken.returncode == 1
    assert "secret.key" in broken.stderr and "Traceback" not in broken.stderr, broken.stderr
    assert not (folder / "secret.key").exists()  # no new key was made that would hide the real one


@pytest.fixture(scope="module")
def old_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The local platform as it was at CLEAR_KEYS_COMMIT, taken from this clone's history."""
    root = Path(__file__).resolve().parents[2]
    archive = subprocess.run(["git", "-C", str(root), "archive", CLEAR_KEYS_COMMIT, "embedded_broker"],
                             capture_output=True, timeout=60)
    if archive.returncode != 0:
        pytest.skip(f"commit {CLEAR_KEYS_COMMIT} is not in this clone (a shallow clone?)")
    folder = tmp_path_factory.mktemp("old-code")
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True, timeout=60)
    return folder


@pytest.mark.parametrize("how", ["stopped", "killed"])
def test_old_clear_folder_is_sealed_and_keeps_its_server_ca(tmp_path: Path, clis: list[Cli], how: str,
                                                              old_code: Path) -> None:
    folder = tmp_path / "lp"
    old = Cli(folder, cwd=old_code)  # the old code: keys in clear, laxer modes
    clis.append(old)
    old_password = old.banner()["password"]
    old_ca = (folder / "server-ca.pem").read_bytes()
    old_jwks = Rest(old.https, folder / "server-ca.pem").call("GET", "/.well-known/jwks.json", auth=False).json
    clear = b"".join((folder / n).read_bytes() for n in ("platform.db", "platform.db-wal") if (folder / n).exists())
    bodies = PEM_KEY.findall(clear)
    assert len(bodies) >= 3  # server CA key, server key, signing key: the old code keeps them in clear
    old.stop(signal.SIGTERM if how == "stopped" else signal.SIGKILL)  # killed: its WAL (in clear) stays behind
    fragments = tuple({line for body in bodies for line in body.split(b"\n") if len(line) >= 40})
    new = Cli(folder)
    clis.append(new)
    new.banner()
    assert (folder / "server-ca.pem").read_bytes() == old_ca
    assert served_ca_works(new.https, old_ca, tmp_path)  # a truststore made with the old CA still works
    rest = Rest(new.https, folder / "server-ca.pem", "t100/admin", old_password)
    assert rest.call("GET", "/tenant/currentTenant").status == 200
    assert_private(folder)
    assert_no_key(folder, fragments)  # no line of any old key body lingers in the DB, WAL or SHM
    jwks = rest.call("GET", "/.well-known/jwks.json", auth=False)
    assert jwks.json == old_jwks  # the same signing key: tokens issued before the upgrade stay valid
    new.stop()
    assert_no_key(folder, fragments)
