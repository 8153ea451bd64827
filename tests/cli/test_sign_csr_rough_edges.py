"""`workbench ca sign-csr` against openssl (issue 20): the subject keeps the request's order as `openssl x509 -req`
does, a refusal names options and commands that exist and the right certificate kind, and a refused request uses
up no serial number. The CA and every request are made by openssl, independently of our PKI code."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from workbench.cli import run_cli

CA = "Ext Root"


def _openssl(*args: str) -> str:
    done = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    """An openssl-made root CA, imported into a fresh workspace, and its files for `openssl x509 -req`."""
    files = {"ws": tmp_path / "ws", "pw": tmp_path / "pw", "cert": tmp_path / "caCert.pem",
             "key": tmp_path / "caKey.pem", "dir": tmp_path}
    files["pw"].write_text("ca-secret\n")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             str(files["key"]), "-out", str(files["cert"]), "-days", "30", "-subj", f"/CN={CA}/O=ACME",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    assert run_cli(["ca", "import", "--workspace", str(files["ws"]), "--cert", str(files["cert"]), "--key",
                    str(files["key"]), "--password-file", str(files["pw"])]) == 0
    return files


def _csr(folder: Path, name: str, subject: str, *extra: str, key: str = "ec") -> Path:
    path = folder / f"{name}.csr"
    key_args = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if key == "ec" else ["-newkey", key]
    _openssl("req", "-new", *key_args, "-nodes", "-keyout", str(folder / f"{name}.key"), "-out", str(path),
             "-subj", subject, *extra)
    return path


def _sign(setup: dict[str, Path], csr: Path, *extra: str) -> list[str]:
    return ["ca", "sign-csr", "--workspace", str(setup["ws"]), "--ca", CA, str(csr), "--out",
            str(csr.with_suffix(".pem")), "--ca-password-file", str(setup["pw"]), *extra]


def _subject(cert: Path) -> str:
    return _openssl("x509", "-noout", "-subject", "-in", str(cert)).strip()


def test_the_subject_keeps_the_requests_order_as_openssl_x509_req_does(setup: dict[str, Path],
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    csr = _csr(setup["dir"], "ext-dev-01", "/CN=ext-dev-01/O=ACME/L=Berlin")
    assert run_cli(_sign(setup, csr)) == 0, capsys.readouterr().err
    theirs = setup["dir"] / "openssl.pem"
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(setup["cert"]), "-CAkey", str(setup["key"]), "-out",
             str(theirs), "-days", "1", "-set_serial", "1")
    assert _subject(csr.with_suffix(".pem")) == _subject(theirs) == "subject=CN = ext-dev-01, O = ACME, L = Berlin"
    _openssl("verify", "-CAfile", str(setup["cert"]), str(csr.with_suffix(".pem")))


def test_a_ca_request_is_refused_naming_the_right_kind_and_real_commands(setup: dict[str, Path],
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    csr = _csr(setup["dir"], "sneaky", "/CN=sneaky", "-addext", "basicConstraints=critical,CA:TRUE")
    capsys.readouterr()
    for extra, kind in (((), "device"), (("--server",), "server")):
        assert run_cli(_sign(setup, csr, *extra)) == 1
        err = capsys.readouterr().err
        assert f"signed as a {kind} certificate" in err and f"A {kind} certificate must not be a CA" in err
        other = "server" if kind == "device" else "device"
        assert f"A {other} certificate must not" not in err
        assert "intermediate CA profile" not in err  # sign-csr has no such profile
        assert "workbench ca intermediate --ca NAME" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as done:  # the command the refusal names exists, with --ca
        run_cli(["ca", "intermediate", "--help"])
    assert done.value.code == 0
    assert "--ca CA" in capsys.readouterr().out


def _serials(setup: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    assert run_cli(["ca", "list", "--workspace", str(setup["ws"]), "--json"]) == 0
    return [i["serial"] for i in json.loads(capsys.readouterr().out)[0]["issued"]]


def test_refused_requests_use_up_no_serial(setup: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    folder = setup["dir"]
    assert run_cli(_sign(setup, _csr(folder, "first", "/CN=first"), "--json")) == 0
    assert json.loads(capsys.readouterr().out)["serial"] == "1000"
    ca_true = _csr(folder, "ca-true", "/CN=ca-true", "-addext", "basicConstraints=critical,CA:TRUE")
    weak = _csr(folder, "weak", "/CN=weak", key="rsa:1024")
    refusals = [
        _sign(setup, ca_true),
        _sign(setup, ca_true, "--server"),
        _sign(setup, _csr(folder, "colon", "/CN=bad:id")),  # a device CN must not contain ':'
        _sign(setup, _csr(folder, "no-cn", "/O=ACME")),  # the policy needs a CN
        _sign(setup, weak),
        _sign(setup, weak, "--server"),
    ]
    for argv in refusals:
        assert run_cli(argv) == 1
        assert "Traceback" not in capsys.readouterr().err
    assert run_cli(_sign(setup, _csr(folder, "next", "/CN=next"), "--json")) == 0
    assert json.loads(capsys.readouterr().out)["serial"] == "1001"
    assert _serials(setup, capsys) == ["1000", "1001"]
