"""The CA store stays truthful when output cannot be written or its own disk is full, and refuses a non-CA as a CA."""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from workbench.cli import run_cli
from workbench.core.pki import store_db
from workbench.core.pki.csr import build_csr
from workbench.core.pki.issuance import Issuer, create_root_ca, issue_certificate
from workbench.core.pki.keys import KeySpec, dump_private_key_pem, generate_key
from workbench.core.pki.names import parse_dn
from workbench.core.pki.profiles import device_profile, root_ca_profile
from workbench.core.pki.store import CAStore

CA = "Safe Root"


@pytest.fixture
def pw(tmp_path: Path) -> Path:
    path = tmp_path / "pw"
    path.write_text("ca-secret\n")
    return path


def _init(workspace: Path, pw: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["ca", "init", "--workspace", str(workspace), "--cn", CA, "--key-type", "ec-p256",
                    "--password-file", str(pw)]) == 0
    capsys.readouterr()


def _issue(workspace: Path, pw: Path, out: Path, cn: str = "dev-1") -> list[str]:
    return ["ca", "issue", "--workspace", str(workspace), "--ca", CA, "--cn", cn, "--out", str(out),
            "--ca-password-file", str(pw), "--no-password"]


def _listed(workspace: Path) -> list[tuple[str | None, str]]:
    with CAStore(workspace) as store:
        return [(r.cn, r.status()) for r in store.certificates(CA)]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs (root only; skipped elsewhere), unmounted afterwards."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True,
                          check=False)
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


def _fill(disk: Path) -> None:
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0")
    finally:
        os.close(fd)


def test_issue_onto_a_full_disk_records_nothing_and_leaves_no_folder(tmp_path: Path, pw: Path, small_disk: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "ws"
    _init(ws, pw, capsys)
    _fill(small_disk)
    out = small_disk / "dev-1"
    assert run_cli(_issue(ws, pw, out)) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    assert not out.exists(), "a failed issue must not leave an empty --out folder"
    assert _listed(ws) == [], "the store must not list a certificate whose files were never written"
    assert [p.name for p in small_disk.iterdir()] == ["filler"]  # no staging folder or lock file left


def test_a_failing_write_rolls_back_the_record_and_keeps_the_folder_as_it_was(
        tmp_path: Path, pw: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "ws"
    _init(ws, pw, capsys)
    out = tmp_path / "existing"
    out.mkdir()
    (out / "notes.txt").write_text("mine")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)  # the file I/O boundary: the data never reaches the disk
    assert run_cli(_issue(ws, pw, out)) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir() if ".partial-" in p.name) == []
    assert _listed(ws) == []
    monkeypatch.undo()
    (tmp_path / "pw").write_text("ca-secret\n")
    assert run_cli(_issue(ws, pw, out)) == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["deviceCert.pem", "deviceCertChain.pem", "deviceKey.pem",
                                                     "notes.txt"]
    assert _listed(ws) == [("dev-1", "valid")]


def test_sign_csr_whose_output_fails_is_not_recorded(tmp_path: Path, pw: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "ws"
    _init(ws, pw, capsys)
    key = generate_key(KeySpec.EC_P256)
    (tmp_path / "req.csr").write_bytes(build_csr(parse_dn("CN=csr-dev"), key).public_bytes(
        serialization.Encoding.PEM))

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    code = run_cli(["ca", "sign-csr", "--workspace", str(ws), "--ca", CA, str(tmp_path / "req.csr"), "--out",
                    str(tmp_path / "cert.pem"), "--ca-password-file", str(pw)])
    assert code == 1 and "No space left on device" in capsys.readouterr().err
    assert _listed(ws) == [] and not (tmp_path / "cert.pem").exists()


def test_a_full_disk_under_the_store_is_called_a_full_disk(tmp_path: Path, pw: Path, small_disk: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    ws = small_disk / "ws"
    _init(ws, pw, capsys)
    _fill(small_disk)
    assert run_cli(_issue(ws, pw, tmp_path / "dev-1")) == 1
    err = capsys.readouterr().err
    assert f"The disk holding the CA store '{ws}' is full" in err
    assert "Free some space" in err and "damaged" not in err and "disk I/O error" not in err
    (small_disk / "filler").unlink()
    assert run_cli(_issue(ws, pw, tmp_path / "dev-1")) == 0, capsys.readouterr().err
    assert _listed(ws) == [("dev-1", "valid")]


class _FullDatabase:
    """A connection whose writes fail as SQLite's own "database or disk is full" (SQLITE_FULL)."""

    def __init__(self, real: sqlite3.Connection) -> None:
        self.__dict__["real"] = real

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if sql.startswith("BEGIN"):
            raise sqlite3.OperationalError("database or disk is full")
        return self.real.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)

    def __setattr__(self, name: str, value: object) -> None:
        setattr(self.real, name, value)


def test_sqlite_full_is_reported_as_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    real_connect = sqlite3.connect
    monkeypatch.setattr(store_db.sqlite3, "connect", lambda *a, **k: _FullDatabase(real_connect(*a, **k)))
    assert run_cli(["ca", "list", "--workspace", str(tmp_path / "ws")]) == 1
    err = capsys.readouterr().err
    assert "is full" in err and "Free some space" in err and "damaged" not in err


def test_importing_a_device_certificate_as_a_ca_is_refused(tmp_path: Path, pw: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    root_key = generate_key(KeySpec.EC_P256)
    root = Issuer(create_root_ca(parse_dn("CN=Real Root"), root_key, root_ca_profile()), root_key)
    device_key = generate_key(KeySpec.EC_P256)
    device = issue_certificate(parse_dn("CN=dev-7"), device_key.public_key(), device_profile(), root, serial=7)
    (tmp_path / "dev.pem").write_bytes(device.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "dev.key").write_bytes(dump_private_key_pem(device_key, None))
    code = run_cli(["ca", "import", "--workspace", str(tmp_path / "ws"), "--cert", str(tmp_path / "dev.pem"),
                    "--key", str(tmp_path / "dev.key"), "--password-file", str(pw)])
    err = capsys.readouterr().err
    assert code == 1
    assert "'CN=dev-7' is not a CA certificate: it has basicConstraints CA:FALSE" in err
    assert "Import the CA that issued it instead ('CN=Real Root')" in err
    with CAStore(tmp_path / "ws") as store:
        assert store.cas() == []
