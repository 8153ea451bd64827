import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from workbench.core.pki.keys import (
    KeySpec,
    describe_key,
    dump_private_key_pem,
    generate_key,
    load_private_key,
)
from workbench.errors import InvalidInputError, KeyMaterialError, PasswordError


@pytest.mark.parametrize("spec", [KeySpec.RSA_2048, KeySpec.EC_P256, KeySpec.EC_P384, KeySpec.ED25519])
def test_generated_key_round_trips_encrypted(spec: KeySpec) -> None:
    key = generate_key(spec)
    pem = dump_private_key_pem(key, b"secret")
    assert b"BEGIN ENCRYPTED PRIVATE KEY" in pem
    again = load_private_key(pem, b"secret")
    assert describe_key(again) == describe_key(key)


def test_default_key_is_the_guides_rsa_4096() -> None:
    assert KeySpec.parse("rsa") is KeySpec.RSA_4096
    assert KeySpec.parse("RSA-3072") is KeySpec.RSA_3072
    assert KeySpec.parse("p256") is KeySpec.EC_P256


def test_rsa_below_2048_is_refused_with_the_guides_reason() -> None:
    with pytest.raises(KeyMaterialError, match="too weak") as info:
        KeySpec.parse("rsa1024")
    assert any("1024" in c for c in info.value.causes)
    weak = rsa.generate_private_key(65537, 1024)
    pem = weak.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    with pytest.raises(KeyMaterialError, match="RSA 1024 bits is too weak"):
        load_private_key(pem)


def test_unknown_key_type_lists_the_choices() -> None:
    with pytest.raises(InvalidInputError) as info:
        KeySpec.parse("dsa")
    assert "rsa4096" in info.value.causes[0]


def test_wrong_or_missing_password_is_a_password_error() -> None:
    pem = dump_private_key_pem(generate_key(KeySpec.EC_P256), b"right")
    with pytest.raises(PasswordError, match="needs its password"):
        load_private_key(pem, None)
    with pytest.raises(PasswordError) as info:
        load_private_key(pem, b"wrong")
    assert "The password is wrong." in info.value.causes


def test_garbage_is_not_a_key() -> None:
    with pytest.raises(KeyMaterialError, match="not a private key"):
        load_private_key(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(KeyMaterialError):
        load_private_key(b"\x30\x03\x02\x01\x00")


def test_password_for_an_unencrypted_key_is_harmless() -> None:
    pem = dump_private_key_pem(generate_key(KeySpec.EC_P256), None)
    assert b"BEGIN PRIVATE KEY" in pem
    load_private_key(pem, b"unneeded")


@pytest.mark.interop
def test_reads_openssl_traditional_encrypted_and_der_keys(tmp_path: Path) -> None:
    trad = tmp_path / "trad.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-aes256", "-passout", "pass:pw", "-out", str(trad),
                    "2048"], check=True, capture_output=True)
    assert b"Proc-Type: 4,ENCRYPTED" in trad.read_bytes()
    assert describe_key(load_private_key(trad.read_bytes(), b"pw")) == "RSA 2048"
    with pytest.raises(PasswordError):
        load_private_key(trad.read_bytes(), b"nope")
    der = tmp_path / "ec.der"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-outform", "DER", "-out", str(der)], check=True, capture_output=True)
    assert describe_key(load_private_key(der.read_bytes())) == "EC P-256"


@pytest.mark.interop
def test_openssl_reads_our_encrypted_key_with_aes256(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(dump_private_key_pem(generate_key(KeySpec.EC_P256), b"pw"))
    parsed = subprocess.run(["openssl", "asn1parse", "-in", str(path)], check=True, capture_output=True, text=True)
    assert "aes-256-cbc" in parsed.stdout
    subprocess.run(["openssl", "pkey", "-in", str(path), "-passin", "pass:pw", "-noout"], check=True)
