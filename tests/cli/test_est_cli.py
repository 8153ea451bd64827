"""`workbench est enroll | reenroll | cacerts` against a running local platform reached by URL, as a tenant would be
(the admin registers the device with an OTP; the device enrolls, renews; openssl checks the results)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from tests.support.tenant_url import local_tenant_url
from workbench.cli import run_cli
from workbench.core.keystore import load_keystore


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A local platform on loopback; the target options of an `est` command for it."""
    with local_tenant_url(monkeypatch, "EST_TEST_ADMIN") as target:
        yield target


def _admin(target: list[str]) -> list[str]:
    return [*target, "--user", "t100/admin", "--tenant-password-env", "EST_TEST_ADMIN"]


def test_enroll_reenroll_and_cacerts(platform: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "cli-1"
    code = run_cli(["est", "enroll", *_admin(platform), "--device-id", "cli-1", "--out", str(folder),
                    "--validity", "600", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    first = json.loads(captured.out)
    assert first["registered"] is True and first["issuer"] == "CN=t100,O=Cumulocity"
    assert (folder / "deviceKey.pem").stat().st_mode & 0o777 == 0o600
    chain = x509.load_pem_x509_certificates((folder / "deviceCertChain.pem").read_bytes())
    assert len(chain) == 2 and chain[0].subject.rfc4514_string() == "CN=cli-1"
    assert (chain[0].not_valid_after_utc - chain[0].not_valid_before_utc).total_seconds() == 660
    password = (folder / "keystorePassword.txt").read_text().strip().encode()
    store = load_keystore((folder / "deviceKeystore.p12").read_bytes(), password)
    assert store.key_entries()[0].chain[0] == chain[0]
    assert (folder / "truststore.p12").exists()

    ca_file = tmp_path / "tenant-ca.pem"
    assert run_cli(["est", "cacerts", *platform, "--out", str(ca_file)]) == 0
    capsys.readouterr()
    if shutil.which("openssl"):
        verified = subprocess.run(["openssl", "verify", "-CAfile", str(ca_file), str(folder / "deviceCert.pem")],
                                  capture_output=True, text=True, timeout=30, check=False)
        assert verified.returncode == 0 and verified.stdout.strip().endswith("OK"), verified.stderr

    code = run_cli(["est", "reenroll", *platform, "--folder", str(folder), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    second = json.loads(captured.out)
    assert second["previousSerialHex"] == first["serialHex"] != second["serialHex"]
    renewed = load_keystore((folder / "deviceKeystore.p12").read_bytes(), password)
    assert f"{renewed.key_entries()[0].chain[0].serial_number:x}" == second["serialHex"]


def test_refusals_exit_1_and_usage_2(platform: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WRONG_OTP", "not-the-otp")
    code = run_cli(["est", "enroll", *platform, "--device-id", "nobody", "--otp-env", "WRONG_OTP", "--out",
                    str(tmp_path / "nobody")])
    err = capsys.readouterr().err
    assert code == 1
    assert "No newDeviceRequest found for this ID" in err and "Traceback" not in err
    assert not (tmp_path / "nobody").exists()
    code = run_cli(["est", "enroll", *platform, "--device-id", "nobody", "--out", str(tmp_path / "x")])
    assert code == 2 and "No one-time password and no admin" in capsys.readouterr().err
    code = run_cli(["est", "reenroll", *platform, "--folder", str(tmp_path / "missing")])
    assert code == 2 and "holds no enrolled device" in capsys.readouterr().err
