import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from workbench.core.pki.csr import build_csr, requested_ca, sign_csr
from workbench.core.pki.issuance import Issuer, create_root_ca, issue_certificate
from workbench.core.pki.keys import KeySpec, generate_key
from workbench.core.pki.names import parse_dn
from workbench.core.pki.profiles import (
    device_profile,
    intermediate_ca_profile,
    root_ca_profile,
    server_profile,
)
from workbench.errors import InvalidInputError, PolicyError


@pytest.fixture(scope="module")
def root() -> Issuer:
    key = generate_key(KeySpec.EC_P256)
    return Issuer(create_root_ca(parse_dn("CN=Root CA,O=ACME"), key, root_ca_profile(path_length=1)), key)


def _ext(cert: x509.Certificate, cls: type) -> x509.Extension:
    return cert.extensions.get_extension_for_class(cls)


def test_root_ca_has_the_guides_v3_ca_extensions(root: Issuer) -> None:
    cert = root.certificate
    assert cert.version is x509.Version.v3
    bc = _ext(cert, x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 1
    ku = _ext(cert, x509.KeyUsage).value
    assert (ku.digital_signature, ku.key_cert_sign, ku.crl_sign, ku.key_encipherment) == (True, True, True, False)
    ski = _ext(cert, x509.SubjectKeyIdentifier).value
    assert _ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier == ski.digest
    assert cert.signature_hash_algorithm.name == "sha256"
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 7300


def test_device_certificate_has_v3_signed_plus_client_auth(root: Issuer) -> None:
    key = generate_key(KeySpec.EC_P256)
    cert = issue_certificate(parse_dn("CN=dev-1"), key.public_key(), device_profile(), root, serial=0x1000)
    assert cert.serial_number == 0x1000
    bc = _ext(cert, x509.BasicConstraints)
    assert bc.critical and not bc.value.ca
    ku = _ext(cert, x509.KeyUsage).value
    assert (ku.digital_signature, ku.content_commitment, ku.key_encipherment, ku.key_cert_sign) == (
        True, True, True, False)
    assert list(_ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    aki = _ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier
    assert aki == _ext(root.certificate, x509.SubjectKeyIdentifier).value.digest
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 365
    plain = issue_certificate(parse_dn("CN=dev-2"), key.public_key(), device_profile(client_auth=False), root)
    with pytest.raises(x509.ExtensionNotFound):
        _ext(plain, x509.ExtendedKeyUsage)


def test_server_certificate_has_server_auth_and_sans(root: Issuer) -> None:
    key = generate_key(KeySpec.EC_P256)
    cert = issue_certificate(parse_dn("CN=localhost"), key.public_key(), server_profile(), root)
    san = _ext(cert, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert list(_ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_pathlen_zero_intermediate_cannot_sign_another_ca(root: Issuer) -> None:
    key = generate_key(KeySpec.EC_P256)
    inter = Issuer(issue_certificate(parse_dn("CN=Sub CA"), key.public_key(), intermediate_ca_profile(0), root), key)
    with pytest.raises(PolicyError, match="intermediate 'Sub CA' has pathlen 0 but would sign another CA"):
        issue_certificate(parse_dn("CN=Sub Sub"), key.public_key(), intermediate_ca_profile(0), inter)
    with pytest.raises(PolicyError, match="must be below 1"):
        issue_certificate(parse_dn("CN=Wide"), key.public_key(), intermediate_ca_profile(5), root)


def test_device_certificate_cannot_sign(root: Issuer) -> None:
    key = generate_key(KeySpec.EC_P256)
    device = Issuer(issue_certificate(parse_dn("CN=dev-1"), key.public_key(), device_profile(), root), key)
    with pytest.raises(PolicyError, match="not a CA certificate"):
        issue_certificate(parse_dn("CN=dev-2"), key.public_key(), device_profile(), device)


def test_device_cn_with_colon_is_refused(root: Issuer) -> None:
    key = generate_key(KeySpec.EC_P256)
    with pytest.raises(PolicyError, match="contains ':'"):
        issue_certificate(parse_dn("CN=d:1"), key.public_key(), device_profile(), root)


def test_wrong_ca_key_is_refused(root: Issuer) -> None:
    other = generate_key(KeySpec.EC_P256)
    with pytest.raises(PolicyError, match="does not belong"):
        issue_certificate(parse_dn("CN=d"), other.public_key(), device_profile(), Issuer(root.certificate, other))


def test_profile_values_are_validated() -> None:
    with pytest.raises(InvalidInputError, match="pathlen only applies"):
        device_profile().__class__(kind=device_profile().kind, path_length=1)
    with pytest.raises(InvalidInputError, match="not an IP address"):
        server_profile(ip_addresses=("localhost",))


def test_csr_signed_with_the_requests_subject_order_and_profile_extensions(root: Issuer) -> None:
    """The subject stays the request's, in its order and with every field, as `openssl x509 -req` keeps it."""
    key = generate_key(KeySpec.EC_P256)
    csr = build_csr(parse_dn("/CN=dev-9/L=Nowhere/O=ACME"), key)
    cert = sign_csr(csr, root, device_profile(), serial=0x1001)
    assert cert.subject.public_bytes() == csr.subject.public_bytes()
    assert [a.oid for a in cert.subject] == [NameOID.COMMON_NAME, NameOID.LOCALITY_NAME, NameOID.ORGANIZATION_NAME]
    assert not _ext(cert, x509.BasicConstraints).value.ca


def test_csr_asking_for_ca_is_refused_under_the_device_profile(root: Issuer) -> None:
    key = generate_key(KeySpec.EC_P256)
    csr = (x509.CertificateSigningRequestBuilder().subject_name(parse_dn("CN=sneaky"))
           .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
           .sign(key, hashes.SHA256()))
    assert requested_ca(csr)
    with pytest.raises(PolicyError, match="asks for CA:true"):
        sign_csr(csr, root, device_profile())


def test_validity_starts_now_with_an_injected_clock(root: Issuer) -> None:
    moment = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    key = generate_key(KeySpec.EC_P256)
    cert = issue_certificate(parse_dn("CN=d"), key.public_key(), device_profile(validity_days=10), root, now=moment)
    assert cert.not_valid_before_utc == moment
    assert cert.not_valid_after_utc == moment + datetime.timedelta(days=10)
