"""`workbench keystore|truststore|tls` in-process: stdout, stderr and exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.certs import Pki, make_pki
from tests.support.tls_server import tls_server
from workbench.cli import run_cli
from workbench.core.keystore import PrivateKeyEntry, StoreKind, TrustedCertEntry, read_store

PW = b"storepass1"


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture
def files(pki: Pki, tmp_path: Path) -> dict[str, str]:
    paths = {
        "pw": tmp_path / "pw.txt", "newpw": tmp_path / "newpw.txt", "keypw": tmp_path / "keypw.txt",
        "key": tmp_path / "deviceKey.pem", "chain": tmp_path / "deviceCertChain.pem",
        "server": tmp_path / "serverCertificate.pem", "bundle": tmp_path / "bundle.pem",
    }
    paths["pw"].write_text(PW.decode() + "\n")
    paths["newpw"].write_text("newpass22\n")
    paths["keypw"].write_text("keypass33\n")
    paths["key"].write_bytes(pki.device_ec.key_pem(b"keypass33"))
    paths["chain"].write_bytes(pki.device_ec.chain_pem())
    paths["server"].write_bytes(pki.server.cert_pem())
    paths["bundle"].write_bytes(pki.server.cert_pem() + pki.root.cert_pem())
    out = {k: str(v) for k, v in paths.items()}
    out["dir"] = str(tmp_path)
    return out


def _pw(files: dict[str, str], flag: str = "--store-password-file") -> list[str]:
    return [flag, files["pw"]]


def test_create_list_json_and_human(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    store = f"{files['dir']}/deviceKeystore.pkcs12"
    assert run_cli(["keystore", "create", store, "--key", files["key"], "--cert", files["chain"],
                    "--in-key-password-file", files["keypw"], *_pw(files)]) == 0
    assert "Saved" in capsys.readouterr().out
    assert run_cli(["keystore", "list", store, *_pw(files)]) == 0
    out = capsys.readouterr().out
    assert "Alias name: devicekeyentry" in out and "Certificate chain length: 3" in out
    assert run_cli(["keystore", "list", store, *_pw(files), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["type"] == "PKCS12" and data["entries"][0]["chain_length"] == 3


def test_wrong_password_and_no_password(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    store = f"{files['dir']}/ks.jks"
    assert run_cli(["keystore", "create", store, "--type", "jks", "--key", files["key"], "--cert", files["chain"],
                    "--in-key-password-file", files["keypw"], *_pw(files)]) == 0
    capsys.readouterr()
    before = Path(store).read_bytes()
    assert run_cli(["keystore", "list", store, "--store-password-file", files["newpw"]]) == 1
    err = capsys.readouterr().err
    assert "password does not match" in err and "password is wrong" in err and "altered or damaged" in err
    assert run_cli(["keystore", "list", store]) == 2  # no terminal to prompt on, no password source
    assert "--store-password-file" in capsys.readouterr().err
    assert run_cli(["keystore", "delete", store, "nope", *_pw(files), "--json"]) == 1
    assert json.loads(capsys.readouterr().err)["error"] == "KeystoreError"
    assert Path(store).read_bytes() == before


def test_truststore_create_add_collision(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    ts = f"{files['dir']}/deviceTruststore.jks"
    assert run_cli(["truststore", "create", ts, "--type", "jks", "--cert", files["bundle"], *_pw(files)]) == 0
    assert "servercertificate, servercertificate-2" in capsys.readouterr().out
    before = Path(ts).read_bytes()
    assert run_cli(["truststore", "add", ts, "--cert", files["server"], "--alias", "servercertificate",
                    *_pw(files)]) == 1
    assert "unique identifier for every keystore or truststore entry" in capsys.readouterr().err
    assert Path(ts).read_bytes() == before
    assert run_cli(["truststore", "add", ts, "--cert", files["server"], "--alias", "Second", *_pw(files)]) == 0
    assert "lower case" in capsys.readouterr().out
    assert read_store(ts, PW).aliases == ("servercertificate", "servercertificate-2", "second")


def test_import_rename_delete_export_passwd_convert(files: dict[str, str], pki: Pki,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    ks = f"{files['dir']}/ks.p12"
    assert run_cli(["keystore", "create", ks, "--key", files["key"], "--cert", files["chain"],
                    "--in-key-password-file", files["keypw"], *_pw(files)]) == 0
    assert run_cli(["keystore", "import", ks, "--trusted", files["server"], *_pw(files)]) == 0
    assert run_cli(["keystore", "rename", ks, "servercertificate", "broker", *_pw(files)]) == 0
    assert run_cli(["keystore", "export", ks, "--alias", "broker", *_pw(files)]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith(pki.server.cert_pem().decode().rstrip())
    key_out = f"{files['dir']}/exported.pem"
    assert run_cli(["keystore", "export", ks, "--part", "key", "--out", key_out, "--export-password-file",
                    files["keypw"], *_pw(files)]) == 0
    assert b"ENCRYPTED PRIVATE KEY" in Path(key_out).read_bytes()
    assert Path(key_out).stat().st_mode & 0o777 == 0o600
    assert run_cli(["keystore", "delete", ks, "broker", *_pw(files)]) == 0
    assert run_cli(["keystore", "passwd", ks, *_pw(files), "--new-password-file", files["newpw"]]) == 0
    assert Path(ks + ".bak").exists()
    jks = f"{files['dir']}/ks.jks"
    assert run_cli(["keystore", "convert", ks, "--to", "jks", "--out", jks,
                    "--store-password-file", files["newpw"]]) == 0
    converted = read_store(jks, b"newpass22")
    assert converted.kind is StoreKind.JKS
    entry = converted.get("devicekeyentry")
    assert isinstance(entry, PrivateKeyEntry) and len(entry.chain) == 3
    # JKS key password apart from the store password, then list with and without it
    assert run_cli(["keystore", "passwd", jks, "--alias", "devicekeyentry", "--store-password-file", files["newpw"],
                    "--new-password-file", files["keypw"]]) == 0
    assert read_store(jks, b"newpass22").get("devicekeyentry").locked  # type: ignore[union-attr]
    capsys.readouterr()
    assert run_cli(["keystore", "list", jks, "--store-password-file", files["newpw"]]) == 0
    assert "sealed by its own key password" in capsys.readouterr().out
    p12 = f"{files['dir']}/back.p12"
    assert run_cli(["keystore", "convert", jks, "--to", "pkcs12", "--out", p12, "--store-password-file",
                    files["newpw"]]) == 1
    assert "own key password" in capsys.readouterr().err
    assert run_cli(["keystore", "convert", jks, "--to", "pkcs12", "--out", p12, "--store-password-file",
                    files["newpw"], "--key-password-file", files["keypw"]]) == 0
    assert "one password" in capsys.readouterr().out


def test_bad_files(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    truncated = Path(files["dir"]) / "cut.p12"
    assert run_cli(["keystore", "create", str(truncated), "--key", files["key"], "--cert", files["chain"],
                    "--in-key-password-file", files["keypw"], *_pw(files)]) == 0
    truncated.write_bytes(truncated.read_bytes()[:300])
    capsys.readouterr()
    assert run_cli(["keystore", "list", str(truncated), *_pw(files)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert run_cli(["keystore", "create", str(truncated), "--key", files["key"], "--cert", files["chain"],
                    "--in-key-password-file", files["keypw"], *_pw(files)]) == 1
    assert "already exists" in capsys.readouterr().err


def test_tls_fetch_into_truststore(files: dict[str, str], pki: Pki, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    ts = tmp_path / "fetched.p12"
    out = tmp_path / "serverCertificate.pem"
    ks = f"{files['dir']}/client.p12"
    assert run_cli(["keystore", "create", ks, "--key", files["key"], "--cert", files["chain"],
                    "--in-key-password-file", files["keypw"], *_pw(files)]) == 0
    with tls_server(pki.server, tmp_path, client_ca=pki.root.cert) as server:
        code = run_cli(["tls", "fetch", f"127.0.0.1:{server.port}", "--servername", "mqtt.example.test",
                        "--keystore", ks, "--keystore-password-file", files["pw"], "--out", str(out),
                        "--to-truststore", str(ts), *_pw(files), "--showcerts"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "(SNI mqtt.example.test)" in text and "Client certificate requested: yes (sent)" in text
    assert "BEGIN CERTIFICATE" in text
    assert server.server_names == ["mqtt.example.test"]
    assert out.read_bytes() == pki.server.cert_pem()
    store = read_store(ts, PW)
    entry = store.get("servercertificate")
    assert isinstance(entry, TrustedCertEntry) and entry.cert == pki.server.cert


def test_tls_fetch_refused_json(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    assert run_cli(["tls", "fetch", f"127.0.0.1:{port}", "--json"]) == 1
    err = json.loads(capsys.readouterr().err)
    assert err["error"] == "TlsError" and "refused" in err["summary"]


def test_an_unencrypted_pem_bundle_opens_without_a_password(files: dict[str, str], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    key, cert, bundle = tmp_path / "plain-key.pem", tmp_path / "plain-cert.pem", tmp_path / "plain.pem"
    for args in (["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key)],
                 ["req", "-x509", "-key", str(key), "-subj", "/CN=plain", "-days", "2", "-out", str(cert)]):
        done = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    bundle.write_bytes(key.read_bytes() + cert.read_bytes())
    assert run_cli(["keystore", "list", str(bundle), "--json"]) == 0  # no terminal and no password source
    assert json.loads(capsys.readouterr().out)["entries"][0]["alias"] == "devicekeyentry"
    p12 = tmp_path / "plain.p12"
    assert run_cli(["keystore", "convert", str(bundle), "--to", "pkcs12", "--out", str(p12),
                    "--new-password-file", files["newpw"]]) == 0
    assert read_store(p12, b"newpass22").aliases == ("devicekeyentry",)
    capsys.readouterr()
    assert run_cli(["keystore", "convert", str(bundle), "--to", "pkcs12", "--out", str(tmp_path / "x.p12")]) == 2
    assert "--store-password-file" in capsys.readouterr().err  # the new store's password is asked, not invented
