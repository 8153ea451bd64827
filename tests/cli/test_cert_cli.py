import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.core.pki.test_chain_factory import T0, device, ec_key, make_cert
from workbench.cli import run_cli

AT = T0.isoformat()


def _write(path: Path, *certs: x509.Certificate, der: bool = False) -> str:
    encoding = serialization.Encoding.DER if der else serialization.Encoding.PEM
    path.write_bytes(b"".join(c.public_bytes(encoding) for c in certs))
    return str(path)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    root = make_cert("Root", ec_key(0), pathlen=1)
    inter = make_cert("Inter", ec_key(1), root, pathlen=0)
    leaf = device("dev-1", inter)
    return {
        "root": _write(tmp_path / "caCert.pem", root.cert),
        "inter": _write(tmp_path / "intermediateCert.pem", inter.cert),
        "leaf": _write(tmp_path / "deviceCert.pem", leaf.cert),
        "leaf_der": _write(tmp_path / "deviceCert.der", leaf.cert, der=True),
        "chain": _write(tmp_path / "deviceCertChain.pem", leaf.cert, inter.cert, root.cert),
        "bad_chain": _write(tmp_path / "bad.pem", leaf.cert, root.cert, inter.cert),
        "colon": _write(tmp_path / "colon.pem", device("dev:1", root).cert, root.cert),
    }


def test_show_brief_text_and_json(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["cert", "show", files["leaf"]]) == 0
    out = capsys.readouterr().out
    assert "Subject:         CN=dev-1" in out and "Serial:          10:00 (4096)" in out
    assert "X509v3 Basic Constraints (critical): CA:FALSE" in out
    assert "Platform certificate id (SHA-1, lower-case hex): " in out

    assert run_cli(["cert", "show", "--text", files["leaf_der"]]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Certificate:\n    Data:\n        Version: 3 (0x2)\n")
    assert "sha1 Fingerprint=" in text

    assert run_cli(["cert", "show", "--json", files["chain"]]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [c["common_name"] for c in data["certificates"]] == ["dev-1", "Inter", "Root"]
    assert len(data["certificates"][0]["certificate_id"]) == 40


def test_show_bad_input_is_a_clear_error(files: dict[str, str], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    assert run_cli(["cert", "show", str(key_file)]) == 2
    assert "contains no certificate (found: PRIVATE KEY)" in capsys.readouterr().err
    assert run_cli(["cert", "show", str(tmp_path / "missing.pem")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_verify_ok_and_partial_chain(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["cert", "verify", "--ca-file", files["root"], "--at", AT, files["chain"]]) == 0
    out = capsys.readouterr().out
    assert "depth 2: Root (trust anchor)" in out and out.strip().endswith("(trusted via 'Root')")
    assert run_cli(["cert", "verify", "--ca-file", files["root"], "--untrusted", files["inter"], "--at", AT,
                    files["leaf"]]) == 0
    capsys.readouterr()
    assert run_cli(["cert", "verify", "--ca-file", files["inter"], "--at", AT, files["leaf"]]) == 1
    captured = capsys.readouterr()
    assert "error: The chain of 'dev-1' does not verify" in captured.err
    assert "'Inter' is in the CA file but is not a self-signed root" in captured.err
    assert run_cli(["cert", "verify", "--ca-file", files["inter"], "--partial-chain", "--at", AT,
                    files["leaf"]]) == 0


def test_verify_json_and_expired(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    later = "1800000000"  # 2027-01-15, after the factory's certificates expire (openssl -attime style)
    assert run_cli(["cert", "verify", "--json", "--ca-file", files["root"], "--at", later, files["chain"]]) == 1
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["ok"] is False and {f["code"] for f in result["findings"]} == {"expired"}
    assert [f["openssl_error"] for f in result["findings"]] == [10, 10, 10]
    error = json.loads(captured.err)
    assert error["error"] == "ChainError" and any("'dev-1' expired on" in c for c in error["causes"])


def test_lint_device_and_ca(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["cert", "lint", "--device", "--client-id", "dev-1", "--at", AT, files["chain"]]) == 0
    out = capsys.readouterr().out
    assert "WARNING the chain has 3 certificates; the cloud allows 2" in out and "proof of possession" in out
    assert out.strip().splitlines()[-1] == "PASS: 'dev-1': 0 error(s), 1 warning(s)"
    assert run_cli(["cert", "lint", "--at", AT, files["root"]]) == 0  # a single CA is linted for upload
    assert "PASS: 'Root'" in capsys.readouterr().out
    assert run_cli(["cert", "lint", "--ca", "--at", AT, files["leaf"]]) == 1
    assert "would not be accepted by the platform" in capsys.readouterr().err


def test_lint_failures_exit_non_zero_with_causes(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["cert", "lint", "--at", AT, files["bad_chain"]]) == 1
    err = capsys.readouterr().err
    assert "error: The device chain 'dev-1' would not be accepted by the platform" in err
    assert "Reorder the file as 'dev-1' → 'Inter' → 'Root'" in err
    assert run_cli(["cert", "lint", "--json", "--client-id", "dev:1", "--at", AT, files["colon"]]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["mode"] == "device" and report["ok"] is False
    assert {f["code"] for f in report["findings"] if f["severity"] == "error"} == {"colon-in-cn"}
    assert run_cli(["cert", "lint", "--device", "--max-chain", "2", "--at", AT, files["chain"]]) == 1
    assert "at most 2" in capsys.readouterr().err
    assert run_cli(["cert", "lint", "--ca", "--client-id", "x", files["root"]]) == 2
    assert "--client-id applies to device chains" in capsys.readouterr().err


def test_bad_time_is_a_usage_error(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["cert", "verify", "--ca-file", files["root"], "--at", "yesterday", files["leaf"]])
    assert exit_info.value.code == 2
    assert "'yesterday' is not a time" in capsys.readouterr().err


def test_entry_point_runs_as_a_process(files: dict[str, str]) -> None:
    run = subprocess.run([sys.executable, "-m", "workbench", "cert", "verify", "--ca-file", files["root"],
                          "--at", AT, files["chain"]], capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    failed = subprocess.run([sys.executable, "-m", "workbench", "cert", "verify", "--ca-file", files["inter"],
                             files["leaf"]], capture_output=True, text=True, timeout=60, check=False)
    assert failed.returncode == 1 and failed.stderr.startswith("error: The chain of 'dev-1' does not verify")
