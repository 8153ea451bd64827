"""`workbench cert expiring | renew` against a local platform reached by URL (as a tenant would be) and a CA store:
the exit codes (0 none expiring / all renewed, 1 some expiring / a renewal failed, 2 usage), and the renewed
keystores read back by openssl."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from tests.cli.test_est_cli import _admin, platform  # noqa: F401  (fixture)
from tests.services.test_cert_lifecycle import CA_PW, _ca_store_device
from workbench.cli import run_cli


def _json(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out)


def test_expiring_and_renew_an_est_device(platform: list[str], tmp_path: Path,  # noqa: F811
                                          capsys: pytest.CaptureFixture[str]) -> None:
    folder, ws = tmp_path / "life-1", ["--workspace", str(tmp_path / "ws")]
    assert run_cli(["est", "enroll", *_admin(platform), "--device-id", "life-1", "--out", str(folder),
                    "--validity", "600", "--json"]) == 0
    first = _json(capsys)
    assert run_cli(["cert", "expiring", "--days", "1", "--folder", str(folder), *ws, "--json"]) == 1
    listed = _json(capsys)
    assert listed["expiring"] == 1 and listed["certificates"][0]["serialHex"] == first["serialHex"]
    assert listed["certificates"][0]["renewal"] == "re-enroll"
    assert run_cli(["cert", "expiring", "--days", "0.001", "--folder", str(folder), *ws]) == 0
    assert "0 of 1 device certificate(s) expire within 0.001 days" in capsys.readouterr().out

    code = run_cli(["cert", "renew", "--device-id", "life-1", "--folder", str(folder), *ws])  # no platform given
    out = capsys.readouterr().out
    assert code == 1 and "needs the platform" in out and "Traceback" not in out

    assert run_cli(["cert", "renew", "--expiring", "1", "--folder", str(folder), *ws, *platform, "--json"]) == 0
    renewed = _json(capsys)
    assert renewed["renewed"] == 1 and renewed["results"][0]["previousSerialHex"] == first["serialHex"]
    new_serial = renewed["results"][0]["serialHex"]
    assert new_serial != first["serialHex"]
    if shutil.which("openssl"):
        password = (folder / "keystorePassword.txt").read_text().strip()
        pem = subprocess.run(["openssl", "pkcs12", "-in", str(folder / "deviceKeystore.p12"), "-nokeys", "-clcerts",
                              "-passin", f"pass:{password}"], capture_output=True, timeout=60, check=True).stdout
        assert f"{x509.load_pem_x509_certificates(pem)[0].serial_number:x}" == new_serial


def test_renew_a_ca_store_device_and_usage_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    ws = ["--workspace", str(tmp_path / "ws")]
    issued = _ca_store_device(tmp_path / "ws", tmp_path / "store-1")
    assert run_cli(["cert", "renew", *ws]) == 2
    assert "Say which certificates to renew" in capsys.readouterr().err
    assert run_cli(["cert", "renew", "--device-id", "nobody", *ws]) == 2
    assert "No known device certificate for nobody" in capsys.readouterr().err
    assert run_cli(["cert", "expiring", "--folder", str(tmp_path / "missing"), *ws]) == 2
    capsys.readouterr()

    monkeypatch.setenv("LIFE_CA_PW", CA_PW.decode())
    monkeypatch.setenv("LIFE_KS_PW", "shared-ks")
    assert run_cli(["cert", "renew", "--serial", f"{issued.record.serial:X}", *ws, "--ca-password-env", "LIFE_CA_PW",
                    "--keystore-password-env", "LIFE_KS_PW"]) == 0
    out = capsys.readouterr().out
    assert "renewed store-1 (re-issue)" in out and "1 renewed, 0 failed" in out
    assert run_cli(["cert", "expiring", "--all", "--days", "10", *ws, "--json"]) == 0  # 20 days left
    listed = _json(capsys)
    assert [c["serialHex"] for c in listed["certificates"]] != [f"{issued.record.serial:x}"]
    assert listed["expiring"] == 0 and listed["certificates"][0]["renewal"] == "re-issue"
