"""Issuing certificates: self-signed CAs, intermediates, devices and servers, with the CA checks openssl skips."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519

from workbench.errors import PolicyError

from .keys import PrivateKey, PublicKey, check_key_strength, public_key_matches
from .names import check_device_common_name, common_name, format_dn
from .profiles import CertificateProfile, ProfileKind


@dataclass(frozen=True)
class Issuer:
    """A CA that can sign: its certificate and the matching private key."""

    certificate: x509.Certificate
    key: PrivateKey

    @property
    def name(self) -> str:
        """The CA's subject for messages."""
        return format_dn(self.certificate.subject)


def signature_hash(key: PrivateKey) -> hashes.SHA256 | None:
    """SHA-256 as in the guide (`-md sha256`); Ed25519 signs without a separate hash."""
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _check_issuer_may_sign(issuer: Issuer, profile: CertificateProfile) -> None:
    """Refuse what `openssl ca` would happily sign but no verifier accepts."""
    cert = issuer.certificate
    label = common_name(cert.subject) or format_dn(cert.subject)
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        bc = None
    if bc is None or not bc.ca:
        raise PolicyError(f"'{label}' is not a CA certificate and cannot sign others",
                          ("Every certificate used to sign another must contain CA:TRUE (the guide).",))
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not ku.key_cert_sign:
            raise PolicyError(f"'{label}' lacks the keyCertSign key usage", ("Issue the CA with the v3_ca profile.",))
    except x509.ExtensionNotFound:
        pass
    if profile.is_ca and bc.path_length is not None:
        if bc.path_length == 0:
            raise PolicyError(f"intermediate '{label}' has pathlen 0 but would sign another CA",
                              ("A CA with pathlen 0 may only sign device or server certificates.",
                               "Sign the new intermediate with a CA higher up the chain."))
        if profile.path_length is None or profile.path_length >= bc.path_length:
            raise PolicyError(
                f"the new CA's pathlen must be below {bc.path_length}, the pathlen of '{label}'",
                (f"Set pathlen to {bc.path_length - 1} or less.",))
    if not public_key_matches(issuer.key, cert.public_key()):
        raise PolicyError(f"The private key does not belong to the CA certificate '{label}'",
                          ("Pick the key file created together with this CA.",))


def check_issuance(subject: x509.Name, subject_key: PublicKey, profile: CertificateProfile,
                   issuer: Issuer | None = None, *, signing_key: PrivateKey | None = None) -> None:
    """Every refusal of ``issue_certificate``, without signing: the CA store runs it before it takes a serial, so a
    refused request uses up no serial number.

    Raises:
        PolicyError: the issuer may not sign this, a device CN is invalid, or a self-signed non-root is asked for.
        KeyMaterialError: the subject key is too weak (RSA below 2048 bits).
    """
    check_key_strength(subject_key)
    if profile.kind is ProfileKind.DEVICE:
        check_device_common_name(common_name(subject))
    if issuer is None:
        if profile.kind is not ProfileKind.ROOT_CA or signing_key is None:
            raise PolicyError("Only a root CA is self-signed", ("Choose the CA that signs this certificate.",))
        if not public_key_matches(signing_key, subject_key):
            raise PolicyError("A self-signed CA must be signed with its own key", ())
    else:
        if profile.kind is ProfileKind.ROOT_CA:
            raise PolicyError("A root CA is self-signed", ("Issue an intermediate CA to sign with another CA.",))
        _check_issuer_may_sign(issuer, profile)


def issue_certificate(
    subject: x509.Name,
    subject_key: PublicKey,
    profile: CertificateProfile,
    issuer: Issuer | None = None,
    *,
    signing_key: PrivateKey | None = None,
    serial: int | None = None,
    now: datetime.datetime | None = None,
) -> x509.Certificate:
    """Sign a certificate with the profile's extension set: by ``issuer``, or self-signed with ``signing_key``.

    Raises:
        PolicyError: the issuer may not sign this, a device CN is invalid, or a self-signed non-root is asked for.
        KeyMaterialError: the subject key is too weak (RSA below 2048 bits).
    """
    check_issuance(subject, subject_key, profile, issuer, signing_key=signing_key)
    if issuer is None:
        assert signing_key is not None  # check_issuance refuses a self-signed certificate without its key
        key, issuer_name, issuer_public = signing_key, subject, subject_key
    else:
        key, issuer_name = issuer.key, issuer.certificate.subject
        issuer_public = issuer.certificate.public_key()  # type: ignore[assignment]  # a CA we sign with has our key types
    moment = now or datetime.datetime.now(datetime.UTC)
    not_before = moment - profile.backdate
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(subject_key)
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + datetime.timedelta(days=profile.validity_days))
    )
    for extension, critical in profile.extensions(subject_key, issuer_public):
        builder = builder.add_extension(extension, critical)
    return builder.sign(key, signature_hash(key))


def create_root_ca(subject: x509.Name, key: PrivateKey, profile: CertificateProfile, *,
                   serial: int | None = None, now: datetime.datetime | None = None) -> x509.Certificate:
    """The guide's `openssl req -x509 -extensions v3_ca`: a self-signed CA certificate."""
    return issue_certificate(subject, key.public_key(), profile, signing_key=key, serial=serial, now=now)
