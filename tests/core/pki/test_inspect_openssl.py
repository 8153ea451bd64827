"""`openssl x509 -noout -text` shows exactly the guide's extension sets on our certificates, and so does our dump."""

from __future__ import annotations

import datetime
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.core.pki.test_chain_factory import ec_key, make_cert
from tests.core.pki.test_inspect import with_unique_ids
from workbench.core.pki.issuance import Issuer, create_root_ca, issue_certificate
from workbench.core.pki.keys import KeySpec, generate_key
from workbench.core.pki.names import parse_dn
from workbench.core.pki.profiles import device_profile, intermediate_ca_profile, root_ca_profile, server_profile
from workbench.core.pki.summary import summarize
from workbench.core.pki.textdump import fingerprint_lines, text_dump

pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")]

NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
V3_CA = ["X509v3 Subject Key Identifier", "X509v3 Authority Key Identifier", "X509v3 Basic Constraints: critical",
         "X509v3 Key Usage"]
V3_CA_USAGE = "Digital Signature, Certificate Sign, CRL Sign"
V3_SIGNED = ["X509v3 Subject Key Identifier", "X509v3 Authority Key Identifier",
             "X509v3 Basic Constraints: critical", "X509v3 Key Usage"]
V3_SIGNED_USAGE = "Digital Signature, Non Repudiation, Key Encipherment"


@pytest.fixture(scope="module")
def certs() -> dict[str, x509.Certificate]:
    root_key = generate_key(KeySpec.RSA_2048)  # RSA where it matters: the guide's CA is RSA
    root = Issuer(create_root_ca(parse_dn("/C=PL/O=ACME/CN=Root CA"), root_key, root_ca_profile(path_length=1),
                                 now=NOW), root_key)
    inter_key = generate_key(KeySpec.EC_P256)
    inter = Issuer(issue_certificate(parse_dn("/O=ACME/CN=Intermediate"), inter_key.public_key(),
                                     intermediate_ca_profile(), root, now=NOW), inter_key)
    device_key = generate_key(KeySpec.EC_P256).public_key()
    return {
        "root": root.certificate,
        "root-no-pathlen": create_root_ca(parse_dn("CN=Plain Root"), root_key, root_ca_profile(), now=NOW),
        "intermediate": inter.certificate,
        "device": issue_certificate(parse_dn("CN=dev-1"), device_key, device_profile(), inter, serial=0x1000,
                                    now=NOW),
        "device-no-eku": issue_certificate(parse_dn("CN=dev-2"), device_key, device_profile(client_auth=False),
                                           root, now=NOW),
        "server": issue_certificate(parse_dn("CN=localhost"), generate_key(KeySpec.EC_P384).public_key(),
                                    server_profile(), root, now=NOW),
        "ed25519-device": issue_certificate(parse_dn("CN=dev-3"), generate_key(KeySpec.ED25519).public_key(),
                                            device_profile(), inter, now=NOW),
    }


def _openssl_text(cert: x509.Certificate, tmp_path: Path, *extra: str) -> str:
    path = tmp_path / "cert.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    run = subprocess.run(["openssl", "x509", "-noout", "-in", str(path), *extra], capture_output=True, text=True,
                         timeout=30, check=True)
    return run.stdout


def _extensions(dump: str) -> dict[str, list[str]]:
    """Extension header ('X509v3 Key Usage' or '...: critical') → value lines, from an openssl-style dump."""
    lines = dump.splitlines()
    start = lines.index("        X509v3 extensions:") + 1
    result: dict[str, list[str]] = {}
    current = ""
    for line in lines[start:]:
        if not line.startswith("            "):
            break
        if line.startswith("                "):
            result[current].append(line.strip())
        else:
            current = line.strip().removesuffix(":")
            result[current] = []
    return result


def _ext_map(cert: x509.Certificate, tmp_path: Path) -> dict[str, list[str]]:
    return _extensions(_openssl_text(cert, tmp_path, "-text"))


def test_ca_certificates_show_exactly_v3_ca(certs: dict[str, x509.Certificate], tmp_path: Path) -> None:
    for name, pathlen in (("root", "CA:TRUE, pathlen:1"), ("intermediate", "CA:TRUE, pathlen:0"),
                          ("root-no-pathlen", "CA:TRUE")):
        exts = _ext_map(certs[name], tmp_path)
        assert list(exts) == V3_CA, name
        assert exts["X509v3 Basic Constraints: critical"] == [pathlen]
        assert exts["X509v3 Key Usage"] == [V3_CA_USAGE]
        ski = summarize(certs[name]).extension("subjectKeyIdentifier")
        assert ski is not None and exts["X509v3 Subject Key Identifier"] == list(ski.lines)
    root_ski = _ext_map(certs["root"], tmp_path)["X509v3 Subject Key Identifier"]
    assert _ext_map(certs["intermediate"], tmp_path)["X509v3 Authority Key Identifier"] == root_ski  # keyid


def test_device_certificates_show_v3_signed_plus_client_auth(certs: dict[str, x509.Certificate],
                                                             tmp_path: Path) -> None:
    exts = _ext_map(certs["device"], tmp_path)
    assert list(exts) == [*V3_SIGNED, "X509v3 Extended Key Usage"]
    assert exts["X509v3 Basic Constraints: critical"] == ["CA:FALSE"]
    assert exts["X509v3 Key Usage"] == [V3_SIGNED_USAGE]
    assert exts["X509v3 Extended Key Usage"] == ["TLS Web Client Authentication"]
    plain = _ext_map(certs["device-no-eku"], tmp_path)
    assert list(plain) == V3_SIGNED  # exactly the guide's v3_signed when clientAuth is turned off


def test_server_certificate_extensions(certs: dict[str, x509.Certificate], tmp_path: Path) -> None:
    exts = _ext_map(certs["server"], tmp_path)
    assert exts["X509v3 Extended Key Usage"] == ["TLS Web Server Authentication"]
    assert exts["X509v3 Subject Alternative Name"] == ["DNS:localhost, IP Address:127.0.0.1"]


@pytest.mark.parametrize("name", ["root", "root-no-pathlen", "intermediate", "device", "device-no-eku", "server",
                                  "ed25519-device"])
def test_our_dump_matches_openssl(certs: dict[str, x509.Certificate], tmp_path: Path, name: str) -> None:
    theirs = _openssl_text(certs[name], tmp_path, "-text")
    ours = text_dump(certs[name])
    assert _extensions(ours) == _extensions(theirs)
    if _openssl_version().startswith("OpenSSL 3."):
        assert ours == theirs  # same layout as the openssl 3 on these machines, line for line


def test_fingerprints_and_serial_match_openssl(certs: dict[str, x509.Certificate], tmp_path: Path) -> None:
    cert = certs["device"]
    summary = summarize(cert)
    sha1 = _openssl_text(cert, tmp_path, "-fingerprint", "-sha1").strip()
    sha256 = _openssl_text(cert, tmp_path, "-fingerprint", "-sha256").strip()
    assert fingerprint_lines(summary)[:2] == [sha1, sha256]
    assert _openssl_text(cert, tmp_path, "-serial").strip() == "serial=1000"


def test_unique_ids_match_openssl(tmp_path: Path) -> None:
    cert = with_unique_ids(make_cert("U", ec_key(0)), b"\x01\x02\x03", b"\xaa\xbb")
    theirs = _openssl_text(cert, tmp_path, "-text")
    summary = summarize(cert)
    # openssl prints the id on the header line (a layout quirk); the bytes are what must agree.
    assert f"Issuer Unique ID:             {summary.issuer_unique_id}" in theirs
    assert f"Subject Unique ID:             {summary.subject_unique_id}" in theirs


def _openssl_version() -> str:
    return subprocess.run(["openssl", "version"], capture_output=True, text=True, timeout=30, check=True).stdout
