import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from workbench.cli import run_cli
from workbench.core.pki.issuance import create_root_ca
from workbench.core.pki.keys import KeySpec, dump_private_key_pem, generate_key
from workbench.core.pki.names import parse_dn
from workbench.core.pki.profiles import root_ca_profile

OPENSSL = shutil.which("openssl")


@pytest.fixture
def ca_files(tmp_path: Path) -> dict[str, Path]:
    key = generate_key(KeySpec.EC_P256)
    cert = create_root_ca(parse_dn("CN=CLI Root"), key, root_ca_profile())
    files = {"cert": tmp_path / "caCert.pem", "key": tmp_path / "caKey.pem", "ca_pw": tmp_path / "ca.pw",
             "pw": tmp_path / "dev.pw"}
    files["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(dump_private_key_pem(key, b"ca-secret"))
    files["ca_pw"].write_text("ca-secret\n")
    files["pw"].write_text("dev-secret\n")
    return files


def _base(ca: dict[str, Path], out: Path) -> list[str]:
    return ["fleet", "issue", "--ca-cert", str(ca["cert"]), "--ca-key", str(ca["key"]), "--ca-password-file",
            str(ca["ca_pw"]), "--password-file", str(ca["pw"]), "--out", str(out)]


def test_fleet_issue_with_pattern_prints_progress_and_summary(ca_files: dict[str, Path], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fleet"
    code = run_cli([*_base(ca_files, out), "--count", "5", "--pattern", "pump-{n:02d}", "--keystore", "pkcs12",
                    "--truststore-cert", str(ca_files["cert"]), "--device-type", "c8y_Pump"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "issued 5/5 devices" in captured.err
    assert f"Issued 5 devices into {out}" in captured.out
    assert sorted(p.name for p in (out / "pump-03").iterdir()) == [
        "deviceCert.pem", "deviceCertChain.pem", "deviceKey.pem", "deviceKeystore.pkcs12", "deviceTruststore.pkcs12"]
    assert (out / "bulk-registration.csv").read_text().splitlines()[:2] == [
        "ID;AUTH_TYPE;CREDENTIALS;TYPE;com_cumulocity_model_Agent.active", "pump-01;CERTIFICATES;;c8y_Pump;true"]
    if OPENSSL:
        verify = subprocess.run([OPENSSL, "verify", "-CAfile", str(ca_files["cert"]),
                                 str(out / "pump-03" / "deviceCert.pem")], capture_output=True, check=False)
        assert verify.returncode == 0


def test_fleet_issue_from_csv_with_json(ca_files: dict[str, Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    ids = tmp_path / "ids.csv"
    ids.write_text("ID,NAME\nvalve-1,Valve one\nvalve-2,Valve two\n")
    out = tmp_path / "fleet"
    code = run_cli([*_base(ca_files, out), "--ids-csv", str(ids), "--key-type", "rsa2048", "--days", "30",
                    "--csv-separator", "tab", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["count"] == 2 and [d["id"] for d in summary["devices"]] == ["valve-1", "valve-2"]
    cert = x509.load_pem_x509_certificate((out / "valve-2" / "deviceCert.pem").read_bytes())
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 30
    assert cert.public_key().key_size == 2048  # type: ignore[union-attr]
    assert "valve-1\tCERTIFICATES\t\tValve one\ttrue" in (out / "bulk-registration.csv").read_text()


def test_bad_csv_lines_are_reported_and_nothing_is_written(ca_files: dict[str, Path], tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    ids = tmp_path / "ids.csv"
    ids.write_text("good-1\nbad:one\ngood-1\n")
    out = tmp_path / "fleet"
    code = run_cli([*_base(ca_files, out), "--ids-csv", str(ids)])
    err = capsys.readouterr().err
    assert code == 2
    assert "line 2: id 'bad:one' contains ':'" in err
    assert not out.exists()


def test_wrong_ca_password_and_missing_device_password(ca_files: dict[str, Path], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    ca_files["ca_pw"].write_text("wrong\n")
    assert run_cli([*_base(ca_files, tmp_path / "f"), "--count", "2"]) == 1
    assert "Could not decrypt" in capsys.readouterr().err
    ca_files["ca_pw"].write_text("ca-secret\n")
    args = [a for a in _base(ca_files, tmp_path / "f") if a not in ("--password-file", str(ca_files["pw"]))]
    assert run_cli([*args, "--count", "2"]) == 2
    assert "--password-file" in capsys.readouterr().err
    assert not (tmp_path / "f").exists()


def test_keystore_without_any_password_is_refused(ca_files: dict[str, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    args = [a for a in _base(ca_files, tmp_path / "f") if a not in ("--password-file", str(ca_files["pw"]))]
    assert run_cli([*args, "--no-password", "--count", "2", "--keystore", "pkcs12"]) == 2
    assert "need a password" in capsys.readouterr().err


def test_demo_certs_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pw").write_text("demo\n")
    code = run_cli(["demo-certs", str(tmp_path / "demo"), "--password-file", str(tmp_path / "pw")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "server/serverCert.pem" in captured.out
    assert (tmp_path / "demo" / "devices" / "demo-device-2" / "deviceKeystore.pkcs12").exists()
    assert run_cli(["demo-certs", str(tmp_path / "demo"), "--no-password"]) == 2
    assert "not empty" in capsys.readouterr().err
