"""Proof of possession checked against the real openssl pipeline of the guide."""

import base64
import subprocess
from pathlib import Path

import pytest

from workbench.cli import run_cli
from workbench.core.pki.issuance import Issuer, create_root_ca
from workbench.core.pki.keys import KeySpec, dump_private_key_pem, generate_key
from workbench.core.pki.names import parse_dn
from workbench.core.pki.profiles import root_ca_profile
from workbench.core.pop import code_from_text, sign_code, verification_certificate, verify_code
from workbench.errors import InvalidInputError, KeyMaterialError

pytestmark = pytest.mark.interop
CODE = "6qgyIiqnYAx+1pkSSzXz8bX9WqnXo4W3" * 4 + "Ab/="  # shaped like the platform's ~136-character codes


def _openssl_sign(key_file: Path, code_file: Path) -> str:
    dgst = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key_file), str(code_file)], check=True,
                          capture_output=True)
    return subprocess.run(["openssl", "base64", "-A"], input=dgst.stdout, check=True,
                          capture_output=True).stdout.decode()


@pytest.mark.parametrize("form", ["pkcs8", "traditional"])
def test_rsa_signature_is_byte_identical_to_openssl(tmp_path: Path, form: str) -> None:
    key_file = tmp_path / "caKey.pem"
    cmd = ["openssl", "genrsa", "-out", str(key_file), "2048"]
    subprocess.run(cmd[:2] + (["-traditional"] if form == "traditional" else []) + cmd[2:], check=True,
                   capture_output=True)
    code_file = tmp_path / "code.txt"
    code_file.write_bytes(CODE.encode())  # printf %s CODE > code.txt
    from workbench.core.pki.keys import load_private_key

    ours = sign_code(load_private_key(key_file.read_bytes()), code_from_text(CODE + "\n"))
    assert ours.signature_b64 == _openssl_sign(key_file, code_file)
    assert ours.signed_bytes_hex == CODE.encode().hex()


def test_trailing_newline_changes_the_signature_and_code_files_are_signed_exactly(tmp_path: Path) -> None:
    key = generate_key(KeySpec.RSA_2048)
    key_file = tmp_path / "k.pem"
    key_file.write_bytes(dump_private_key_pem(key, None))
    echo_file = tmp_path / "echo.txt"
    echo_file.write_bytes(CODE.encode() + b"\n")  # what `echo CODE > code.txt` writes
    assert sign_code(key, echo_file.read_bytes()).signature_b64 == _openssl_sign(key_file, echo_file)
    assert sign_code(key, CODE.encode()).signature_b64 != _openssl_sign(key_file, echo_file)


def test_ecdsa_signatures_verify_both_ways(tmp_path: Path) -> None:
    key = generate_key(KeySpec.EC_P256)
    ca = create_root_ca(parse_dn("CN=EC Root"), key, root_ca_profile())
    key_file, cert_file, code_file, sig_file = (tmp_path / n for n in ("k.pem", "c.pem", "code.txt", "sig.der"))
    key_file.write_bytes(dump_private_key_pem(key, None))
    from cryptography.hazmat.primitives import serialization

    cert_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    code_file.write_bytes(CODE.encode())
    assert verify_code(ca, CODE.encode(), _openssl_sign(key_file, code_file))  # openssl → us
    sig_file.write_bytes(base64.b64decode(sign_code(key, CODE.encode()).signature_b64))
    pub = subprocess.run(["openssl", "x509", "-in", str(cert_file), "-pubkey", "-noout"], check=True,
                         capture_output=True).stdout
    (tmp_path / "pub.pem").write_bytes(pub)
    subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(tmp_path / "pub.pem"), "-signature",
                    str(sig_file), str(code_file)], check=True, capture_output=True)  # us → openssl
    assert not verify_code(ca, CODE.encode() + b"\n", sign_code(key, CODE.encode()).signature_b64)


def test_refusals_are_clear() -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        code_from_text("  \n")
    with pytest.raises(KeyMaterialError, match="cannot sign a proof of possession"):
        sign_code(generate_key(KeySpec.ED25519), b"x")
    with pytest.raises(InvalidInputError, match="not base64"):
        verify_code(create_root_ca(parse_dn("CN=R"), k := generate_key(KeySpec.EC_P256), root_ca_profile()),
                    b"x", "%%%")
    issuer = Issuer(create_root_ca(parse_dn("CN=R"), k, root_ca_profile()), k)
    with pytest.raises(InvalidInputError, match="at most 64"):
        verification_certificate(issuer, CODE)
    aws_code = "a" * 64
    cert = verification_certificate(issuer, aws_code)
    assert cert.subject.rfc4514_string() == f"CN={aws_code}"


def test_cli_sign_checks_the_key_against_the_certificate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cryptography.hazmat.primitives import serialization

    key, other = generate_key(KeySpec.RSA_2048), generate_key(KeySpec.EC_P256)
    ca = create_root_ca(parse_dn("CN=R"), key, root_ca_profile())
    (tmp_path / "k.pem").write_bytes(dump_private_key_pem(key, b"pw"))
    (tmp_path / "other.pem").write_bytes(dump_private_key_pem(other, None))
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "pw").write_text("pw\n")
    assert run_cli(["pop", "sign", "--key", str(tmp_path / "k.pem"), "--key-password-file", str(tmp_path / "pw"),
                    "--cert", str(tmp_path / "ca.pem"), "--code", f" {CODE}\n"]) == 0
    signature = capsys.readouterr().out.splitlines()[0]
    assert run_cli(["pop", "verify", "--cert", str(tmp_path / "ca.pem"), "--code", CODE, "--signature",
                    signature]) == 0
    assert "✓" in capsys.readouterr().out
    assert run_cli(["pop", "sign", "--key", str(tmp_path / "other.pem"), "--cert", str(tmp_path / "ca.pem"),
                    "--code", CODE]) == 1
    assert "does not belong to the certificate" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["pkcs12", "jks"])
def test_cli_signs_with_the_ca_key_inside_a_keystore(tmp_path: Path, kind: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from workbench.core.keystore import build_device_keystore

    key = generate_key(KeySpec.RSA_2048)
    ca = create_root_ca(parse_dn("CN=R"), key, root_ca_profile())
    (tmp_path / "ca.store").write_bytes(build_device_keystore(key, [ca], b"storepw", kind=kind, alias="cakey"))
    (tmp_path / "pw").write_text("storepw\n")
    assert run_cli(["pop", "sign", "--key", str(tmp_path / "ca.store"), "--key-password-file",
                    str(tmp_path / "pw"), "--code", CODE]) == 0
    assert capsys.readouterr().out.splitlines()[0] == sign_code(key, CODE.encode()).signature_b64
