import dataclasses
import datetime
import hashlib
import ipaddress
import json
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID
from hypothesis import given
from hypothesis import strategies as st

from tests.core.pki.test_chain_factory import T0, Node, device, ec_key, make_cert
from workbench.core.pki.derwalk import DerError, children, read_tlv, unique_ids
from workbench.core.pki.summary import summarize
from workbench.core.pki.textdump import fingerprint_lines, text_dump


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(content)) + content


def _resign(node: Node, edit: Callable[[int, bytes], list[bytes]]) -> x509.Certificate:
    """Rebuild ``node``'s TBSCertificate element by element through ``edit`` and sign it again with its own key."""
    tbs = node.cert.tbs_certificate_bytes
    outer = read_tlv(tbs, 0)
    parts, offset = [], outer.start
    for item in children(tbs, outer):
        parts += edit(item.tag, tbs[offset:item.end])
        offset = item.end
    new_tbs = _tlv(0x30, b"".join(parts))
    assert isinstance(node.key, ec.EllipticCurvePrivateKey)
    signature = node.key.sign(new_tbs, ec.ECDSA(hashes.SHA256()))
    der = node.cert.public_bytes(serialization.Encoding.DER)
    cert_items = children(der, read_tlv(der, 0))
    algorithm = der[cert_items[0].end:cert_items[1].end]
    return x509.load_der_x509_certificate(_tlv(0x30, new_tbs + algorithm + _tlv(0x03, b"\x00" + signature)))


def with_unique_ids(node: Node, issuer_uid: bytes, subject_uid: bytes) -> x509.Certificate:
    """Insert issuerUniqueID [1] and subjectUniqueID [2] (cryptography cannot write them) and re-sign."""
    def edit(tag: int, element: bytes) -> list[bytes]:
        if tag == 0xA3:  # the unique ids come just before the extensions
            return [_tlv(0x81, b"\x00" + issuer_uid), _tlv(0x82, b"\x00" + subject_uid), element]
        return [element]
    return _resign(node, edit)


def as_version1(node: Node) -> x509.Certificate:
    """The same certificate as X.509 v1: no version field, no extensions (cryptography writes only v3)."""
    return _resign(node, lambda tag, element: [] if tag in (0xA0, 0xA3) else [element])


@pytest.fixture(scope="module")
def root() -> Node:
    return make_cert("Root", ec_key(0), pathlen=3)


def test_every_field_of_the_guides_list(root: Node) -> None:
    leaf = device("dev-1", root, serial=0x1000)
    s = summarize(leaf.cert)
    assert s.version == 3
    assert (s.serial_number, s.serial_hex, s.serial_decimal) == (4096, "10:00", "4096")
    assert (s.issuer, s.subject, s.common_name) == ("CN=Root", "CN=dev-1", "dev-1")
    assert (s.issuer_oneline, s.subject_oneline) == ("CN = Root", "CN = dev-1")
    assert s.not_before == T0 - datetime.timedelta(days=1) and s.not_after == T0 + datetime.timedelta(days=365)
    assert (s.public_key.algorithm, s.public_key.description, s.public_key.bits) == ("id-ecPublicKey", "EC P-256", 256)
    assert (s.public_key.curve, s.public_key.nist_curve) == ("prime256v1", "P-256")
    assert s.public_key.value_hex.startswith("04:") and len(s.public_key.value_hex.split(":")) == 65
    assert s.signature_algorithm == "ecdsa-with-SHA256"
    assert bytes.fromhex(s.signature_hex.replace(":", "")) == leaf.cert.signature
    assert [e.short_name for e in s.extensions] == [
        "subjectKeyIdentifier", "authorityKeyIdentifier", "basicConstraints", "keyUsage", "extendedKeyUsage"]
    assert s.issuer_unique_id is None and s.subject_unique_id is None
    assert not s.is_ca and not s.self_signed


def test_fingerprints_and_the_platform_certificate_id(root: Node) -> None:
    der = root.cert.public_bytes(serialization.Encoding.DER)
    s = summarize(root.cert)
    assert s.certificate_id == hashlib.sha1(der).hexdigest()  # the platform's id: lower-case, no colons
    assert s.sha1_fingerprint == ":".join(f"{b:02X}" for b in hashlib.sha1(der).digest())
    assert s.sha256_fingerprint.replace(":", "").lower() == hashlib.sha256(der).hexdigest()
    assert fingerprint_lines(s)[2].endswith(s.certificate_id)
    assert s.is_ca and s.path_length == 3 and s.self_signed


def test_rsa_key_modulus_and_exponent() -> None:
    key = rsa.generate_private_key(65537, 2048)
    node = make_cert("RSA", key)  # type: ignore[arg-type]
    s = summarize(node.cert)
    assert (s.public_key.algorithm, s.public_key.bits, s.public_key.exponent) == ("rsaEncryption", 2048, 65537)
    modulus = bytes.fromhex(s.public_key.value_hex.replace(":", ""))
    assert int.from_bytes(modulus, "big") == key.public_key().public_numbers().n
    assert modulus[0] == 0  # openssl shows a leading 00 when the top bit is set, and RSA moduli have it set


def test_extensions_are_decoded(root: Node) -> None:
    odd = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x04\x03abc")
    extra = (
        (x509.SubjectAlternativeName([x509.DNSName("a.example"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                      x509.IPAddress(ipaddress.ip_address("::1"))]), False),
        (x509.CRLDistributionPoints([x509.DistributionPoint(
            [x509.UniformResourceIdentifier("http://crl.example/ca.crl")], None, None, None)]), False),
        (x509.AuthorityInformationAccess([x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier("http://ocsp.example"))]), False),
        (odd, False),
    )
    s = summarize(make_cert("Sub", ec_key(1), root, pathlen=0, server_auth=True, extra=extra).cert)
    lines = {e.short_name: e.lines for e in s.extensions}
    assert lines["basicConstraints"] == ("CA:TRUE, pathlen:0",)
    assert lines["keyUsage"] == ("Digital Signature, Certificate Sign, CRL Sign",)
    assert lines["extendedKeyUsage"] == ("TLS Web Server Authentication",)
    assert lines["subjectAltName"] == ("DNS:a.example, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",)
    assert lines["crlDistributionPoints"] == ("Full Name:", "  URI:http://crl.example/ca.crl")
    assert lines["authorityInfoAccess"] == ("OCSP - URI:http://ocsp.example",)
    ski = s.extension("subjectKeyIdentifier")
    aki = s.extension("authorityKeyIdentifier")
    assert ski is not None and aki is not None and ski.lines != aki.lines
    root_ski = summarize(root.cert).extension("subjectKeyIdentifier")
    assert root_ski is not None and aki.lines == root_ski.lines
    unknown = [e for e in s.extensions if not e.known]
    assert [(e.name, e.lines) for e in unknown] == [("1.3.6.1.4.1.99999.1", ("04:03:61:62:63",))]
    assert s.extension("basicConstraints").critical  # type: ignore[union-attr]


def test_unique_ids_are_read_from_the_der(root: Node) -> None:
    cert = with_unique_ids(root, bytes(range(1, 21)), b"\xaa\xbb")
    s = summarize(cert)
    assert s.issuer_unique_id == ":".join(f"{b:02x}" for b in range(1, 21))
    assert s.subject_unique_id == "aa:bb"
    dump = text_dump(cert)
    assert "        Issuer Unique ID: \n            01:02:03" in dump
    assert "        Subject Unique ID: \n            aa:bb\n" in dump


def test_der_walker_rejects_garbage() -> None:
    for garbage in (b"", b"\x30", b"\x04\x00", b"\x30\x85\x00\x00\x00\x00\x00", b"\x30\x05\x02\x01"):
        with pytest.raises(DerError):
            unique_ids(garbage)
    assert unique_ids(b"\x30\x03\x02\x01\x05") == (None, None)


def test_validity_status_uses_the_given_clock(root: Node) -> None:
    s = summarize(root.cert)
    assert s.validity_status(T0) == "valid"
    assert s.validity_status(T0 - datetime.timedelta(days=2)) == "not yet valid"
    assert s.validity_status(T0 + datetime.timedelta(days=366)) == "expired"


def test_summary_is_frozen_and_json_ready(root: Node) -> None:
    s = summarize(root.cert)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.subject = "CN=x"  # type: ignore[misc]
    data = json.loads(json.dumps(s.to_dict()))
    assert data["serial_decimal"] == "4096" and data["certificate_id"] == s.certificate_id
    assert data["extensions"][2]["value"] == ["CA:TRUE, pathlen:3"]


def test_text_dump_layout(root: Node) -> None:
    dump = text_dump(device("dev-1", root, serial=(1 << 100) + 5).cert)
    lines = dump.splitlines()
    assert lines[:4] == ["Certificate:", "    Data:", "        Version: 3 (0x2)", "        Serial Number:"]
    assert lines[4] == "            10:" + "00:" * 11 + "05"  # 2**100 + 5 is 13 bytes
    assert "            Not Before: Dec 31 00:00:00 2025 GMT" in lines
    assert "            Not After : Jan  1 00:00:00 2027 GMT" in lines
    assert "            X509v3 Basic Constraints: critical" in lines
    assert lines[-1].startswith("        ") and "    Signature Value:" in lines
    small = text_dump(device("dev-2", root, serial=4096).cert)
    assert "        Serial Number: 4096 (0x1000)\n" in small


@given(st.binary(max_size=200))
def test_der_walker_fails_only_with_its_own_error(data: bytes) -> None:
    try:
        unique_ids(data)
    except DerError:
        pass


def test_version_1_certificates_are_summarized(root: Node) -> None:
    v1 = as_version1(root)
    s = summarize(v1)
    assert s.version == 1 and s.extensions == () and not s.is_ca
    assert text_dump(v1).splitlines()[2] == "        Version: 1 (0x0)"
