import json
import subprocess
from pathlib import Path

import pytest

from workbench.cli import run_cli


@pytest.fixture
def pwfile(tmp_path: Path) -> str:
    path = tmp_path / "pw"
    path.write_text("ca-secret\n")
    return str(path)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run_cli(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.interop
def test_ca_commands_end_to_end(tmp_path: Path, pwfile: str, capsys: pytest.CaptureFixture[str]) -> None:
    ws = ["--workspace", str(tmp_path / "ws")]
    code, out, _ = _run(capsys, "ca", "init", *ws, "--cn", "CLI Root", "--org", "ACME", "--key-type", "ec-p256",
                        "--pathlen", "1", "--password-file", pwfile)
    assert code == 0 and "Created root CA 'CLI Root'" in out
    code, out, _ = _run(capsys, "ca", "issue", *ws, "--ca", "CLI Root", "--cn", "dev-1", "--out",
                        str(tmp_path / "dev-1"), "--ca-password-file", pwfile, "--password-file", pwfile, "--json")
    assert code == 0 and json.loads(out)["serial"] == "1000"
    subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "dev-1" / "deviceCertChain.pem"),
                    str(tmp_path / "dev-1" / "deviceCert.pem")], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", str(tmp_path / "dev-1" / "deviceKey.pem"), "-passin",
                    "pass:ca-secret", "-noout"], check=True)
    code, out, _ = _run(capsys, "ca", "revoke", *ws, "--ca", "CLI Root", "1000", "--reason", "keyCompromise")
    assert code == 0 and "Revoked 'dev-1'" in out
    code, out, _ = _run(capsys, "ca", "crl", *ws, "--ca", "CLI Root", "--out", str(tmp_path / "crl.pem"),
                        "--ca-password-file", pwfile)
    assert code == 0 and "1 revoked" in out
    code, out, _ = _run(capsys, "ca", "list", *ws)
    assert "CLI Root" in out and "dev-1" in out and "revoked" in out
    code, out, _ = _run(capsys, "ca", "export-openssl", *ws, "--ca", "CLI Root", str(tmp_path / "exp"),
                        "--ca-password-file", pwfile)
    assert code == 0 and (tmp_path / "exp" / "caConfig.cnf").exists()


def test_ca_errors_are_summaries_with_causes(tmp_path: Path, pwfile: str, capsys: pytest.CaptureFixture[str]) -> None:
    ws = ["--workspace", str(tmp_path / "ws")]
    code, _, err = _run(capsys, "ca", "issue", *ws, "--ca", "Nope", "--cn", "d", "--out", str(tmp_path / "o"),
                        "--ca-password-file", pwfile, "--password-file", pwfile)
    assert code == 1 and "There is no CA named 'Nope'" in err and "Traceback" not in err
    _run(capsys, "ca", "init", *ws, "--cn", "R", "--key-type", "ec-p256", "--password-file", pwfile)
    code, _, err = _run(capsys, "ca", "issue", *ws, "--ca", "R", "--cn", "bad:id", "--out", str(tmp_path / "o"),
                        "--ca-password-file", pwfile, "--password-file", pwfile)
    assert code == 1 and "contains ':'" in err
    wrong = tmp_path / "wrong"
    wrong.write_text("nope\n")
    code, _, err = _run(capsys, "ca", "crl", *ws, "--ca", "R", "--out", str(tmp_path / "c.pem"),
                        "--ca-password-file", str(wrong))
    assert code == 1 and "Could not unlock the key of CA 'R'" in err
    code, out, _ = _run(capsys, "ca", "list", "--workspace", str(tmp_path / "empty"))
    assert "The CA store is empty" in out


def test_fleet_from_a_store_ca_takes_store_serials_and_records_them(tmp_path: Path, pwfile: str,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    ws = ["--workspace", str(tmp_path / "ws")]
    _run(capsys, "ca", "init", *ws, "--cn", "Fleet Root", "--key-type", "ec-p256", "--password-file", pwfile)
    code, out, err = _run(capsys, "fleet", "issue", *ws, "--ca", "Fleet Root", "--count", "5", "--out",
                          str(tmp_path / "fleet"), "--ca-password-file", pwfile, "--password-file", pwfile, "--json")
    assert code == 0, err
    code, out, _ = _run(capsys, "ca", "list", *ws, "--json")
    issued = json.loads(out)[0]["issued"]
    assert sorted(i["serial"] for i in issued) == ["1000", "1001", "1002", "1003", "1004"]
    assert {i["cn"] for i in issued} == {f"wb-dev-{n:04d}" for n in range(1, 6)}


@pytest.mark.parametrize("kind", ["pkcs12", "jks"])
def test_fleet_keystores_with_a_password_per_device(tmp_path: Path, pwfile: str, kind: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from workbench.core.keystore import load_keystore
    from workbench.errors import KeystoreOpenError

    ws = ["--workspace", str(tmp_path / "ws")]
    _run(capsys, "ca", "init", *ws, "--cn", "KS Root", "--key-type", "ec-p256", "--password-file", pwfile)
    code, _, err = _run(capsys, "fleet", "issue", *ws, "--ca", "KS Root", "--count", "2", "--out",
                        str(tmp_path / "fleet"), "--keystore", kind, "--keystore-password-per-device",
                        "--ca-password-file", pwfile, "--password-file", pwfile)
    assert code == 0, err
    folders = sorted(p for p in (tmp_path / "fleet").iterdir() if p.is_dir())
    passwords = [(f / "keystorePassword.txt").read_bytes().strip() for f in folders]
    assert len(set(passwords)) == 2 and oct((folders[0] / "keystorePassword.txt").stat().st_mode)[-3:] == "600"
    stores = [next(f.glob("deviceKeystore.*")).read_bytes() for f in folders]
    assert load_keystore(stores[0], passwords[0], key_passwords=passwords[0]).entries
    with pytest.raises(KeystoreOpenError):
        load_keystore(stores[1], passwords[0], key_passwords=passwords[0])
