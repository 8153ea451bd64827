"""Hand-made certificates for chain tests, including the bad ones our issuer refuses to make.

Other test modules import `make_cert` and `Node` from here; the tests at the bottom check the factory itself.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from workbench.core.pki.keys import PrivateKey

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
"""A fixed 'now' for tests: certificates made by the factory are valid from T0 - 1 day to T0 + 365 days."""

_EC_KEYS: list[ec.EllipticCurvePrivateKey] = []


def ec_key(index: int) -> ec.EllipticCurvePrivateKey:
    """A cached P-256 key per index, so a test suite makes only a handful of keys."""
    while len(_EC_KEYS) <= index:
        _EC_KEYS.append(ec.generate_private_key(ec.SECP256R1()))
    return _EC_KEYS[index]


@dataclass(frozen=True)
class Node:
    """A certificate and its key, as a signer for the next one."""

    cert: x509.Certificate
    key: PrivateKey

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def make_cert(
    cn: str,
    key: PrivateKey,
    issuer: Node | None = None,
    *,
    ca: bool | None = True,
    pathlen: int | None = None,
    key_cert_sign: bool | None = True,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    serial: int = 0x1000,
    client_auth: bool = False,
    server_auth: bool = False,
    key_ids: bool = True,
    issuer_name: x509.Name | None = None,
    extra: tuple[tuple[x509.ExtensionType, bool], ...] = (),
    wrong_signing_key: PrivateKey | None = None,
) -> Node:
    """Build any certificate: ``ca=None`` omits basicConstraints, ``key_cert_sign=None`` omits keyUsage.

    Self-signed when ``issuer`` is None. ``wrong_signing_key`` signs with a key other than the issuer's.
    """
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    if issuer is None:
        name, signer, signer_public = subject, key, key.public_key()
    else:
        name, signer, signer_public = issuer.cert.subject, issuer.key, issuer.cert.public_key()
    if issuer_name is not None:
        name = issuer_name
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before or T0 - datetime.timedelta(days=1))
        .not_valid_after(not_after or T0 + datetime.timedelta(days=365))
    )
    if key_ids:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_public), False)  # type: ignore[arg-type]
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=pathlen if ca else None), True)
    if key_cert_sign is not None:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=not ca, key_encipherment=not ca, data_encipherment=False,
            key_agreement=False, key_cert_sign=bool(key_cert_sign), crl_sign=bool(ca), encipher_only=False,
            decipher_only=False), False)
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH] * client_auth + [ExtendedKeyUsageOID.SERVER_AUTH] * server_auth
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), False)
    for extension, critical in extra:
        builder = builder.add_extension(extension, critical)
    signing_key = wrong_signing_key or signer
    algorithm = None if isinstance(signing_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return Node(builder.sign(signing_key, algorithm), key)


def device(cn: str, issuer: Node, index: int = 9, **kwargs: object) -> Node:
    """A device certificate (CA:false, clientAuth) signed by ``issuer``."""
    kwargs.setdefault("client_auth", True)
    return make_cert(cn, ec_key(index), issuer, ca=False, key_cert_sign=False, **kwargs)  # type: ignore[arg-type]


def test_factory_makes_a_self_signed_ca() -> None:
    root = make_cert("Root", ec_key(0), pathlen=1)
    assert root.cert.issuer == root.cert.subject
    bc = root.cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 1
    root.cert.verify_directly_issued_by(root.cert)


def test_factory_can_make_a_non_ca_signer_and_a_device() -> None:
    root = make_cert("Root", ec_key(0))
    signer = make_cert("Not a CA", ec_key(1), root, ca=False, key_cert_sign=None)
    leaf = device("dev-1", signer)
    leaf.cert.verify_directly_issued_by(signer.cert)
    assert not signer.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    with_no_ku = [e.oid for e in signer.cert.extensions]
    assert x509.oid.ExtensionOID.KEY_USAGE not in with_no_ku
