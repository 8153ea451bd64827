"""Certificate signing requests: create them for our keys, and sign external ones under a chosen profile."""

from __future__ import annotations

import datetime
import ipaddress

from cryptography import x509

from workbench.errors import PolicyError

from .issuance import Issuer, issue_certificate, signature_hash
from .keys import PrivateKey, check_key_strength
from .names import GUIDE_SIGNING_POLICY, PolicyRule, apply_signing_policy
from .profiles import CertificateProfile


def build_csr(subject: x509.Name, key: PrivateKey, *, dns_names: tuple[str, ...] = (),
              ip_addresses: tuple[str, ...] = ()) -> x509.CertificateSigningRequest:
    """The guide's `openssl req -new -sha256 -key ...`: a PKCS#10 request for ``subject``."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(key, signature_hash(key))


def requested_ca(csr: x509.CertificateSigningRequest) -> bool:
    """Whether the request asks for CA:true in its extension request."""
    try:
        return bool(csr.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def sign_csr(
    csr: x509.CertificateSigningRequest,
    issuer: Issuer,
    profile: CertificateProfile,
    *,
    policy: dict[x509.ObjectIdentifier, PolicyRule] | None = None,
    serial: int | None = None,
    now: datetime.datetime | None = None,
) -> x509.Certificate:
    """The guide's `openssl ca -extensions <profile>`: check the request, apply the signing policy, and sign.

    The profile decides the extensions; only the subject and public key are taken from the request, as
    `openssl ca` does without `copy_extensions`.

    Raises:
        PolicyError: the CSR signature is invalid, it asks for CA:true under a non-CA profile, or the subject
            breaks the signing policy.
    """
    if not csr.is_signature_valid:
        raise PolicyError("The CSR's signature does not verify",
                          ("The request was altered after signing, or it is damaged.",))
    if requested_ca(csr) and not profile.is_ca:
        raise PolicyError(
            f"The CSR asks for CA:true but would be signed with the {profile.kind.value} profile",
            ("A device certificate must not be a CA: create the CSR without basicConstraints CA:true.",
             "To make a CA, sign it with the intermediate CA profile instead."),
        )
    public_key = csr.public_key()
    check_key_strength(public_key)
    subject = apply_signing_policy(csr.subject, issuer.certificate.subject, policy or GUIDE_SIGNING_POLICY)
    return issue_certificate(subject, public_key, profile, issuer, serial=serial, now=now)  # type: ignore[arg-type]
