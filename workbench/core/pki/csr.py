"""Certificate signing requests: create them for our keys, and sign external ones under a chosen profile."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Mapping

from cryptography import x509

from workbench.errors import PolicyError

from .issuance import Issuer, check_issuance, issue_certificate, signature_hash
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


_CA_ADVICE = ("The workbench signs requests as device or server certificates. An intermediate CA is made in the "
              "CA store with its own key: workbench ca intermediate --ca NAME (Certificates page: New ▸ Intermediate "
              "CA…).")


def check_csr(
    csr: x509.CertificateSigningRequest,
    issuer: Issuer,
    profile: CertificateProfile,
    *,
    policy: Mapping[x509.ObjectIdentifier, PolicyRule] | None = None,
) -> x509.Name:
    """Every refusal of ``sign_csr``, without signing; returns the certificate's subject. The CA store runs it before
    it takes a serial, so a refused request uses up no serial number.

    The subject is the request's, in its order, as `openssl x509 -req` (and `openssl ca -preserveDN`) keep it; the
    signing policy only checks it (a 'supplied' field present, a 'match' field equal to the CA's).

    Raises:
        PolicyError: the CSR signature is invalid, it asks for CA:true, the subject breaks the signing policy,
            a device CN is invalid, or the issuer may not sign it.
        KeyMaterialError: the request's key is too weak or of an unsupported type.
    """
    if not csr.is_signature_valid:
        raise PolicyError("The CSR's signature does not verify",
                          ("The request was altered after signing, or it is damaged.",))
    if requested_ca(csr) and not profile.is_ca:
        label = profile.kind.value.replace("-", " ")
        raise PolicyError(
            f"The CSR asks for CA:true, but it would be signed as a {label} certificate",
            (f"A {label} certificate must not be a CA: create the request without basicConstraints CA:true.",
             _CA_ADVICE),
        )
    public_key = csr.public_key()
    check_key_strength(public_key)
    apply_signing_policy(csr.subject, issuer.certificate.subject, policy or GUIDE_SIGNING_POLICY)
    check_issuance(csr.subject, public_key, profile, issuer)  # type: ignore[arg-type]  # check_key_strength passed
    return csr.subject


def sign_csr(
    csr: x509.CertificateSigningRequest,
    issuer: Issuer,
    profile: CertificateProfile,
    *,
    policy: Mapping[x509.ObjectIdentifier, PolicyRule] | None = None,
    serial: int | None = None,
    now: datetime.datetime | None = None,
) -> x509.Certificate:
    """The guide's CSR signing: check the request (``check_csr``) and sign its subject, in the request's order, and
    key under the profile's extensions.

    The profile decides the extensions; only the subject and public key are taken from the request, as
    `openssl ca` does without `copy_extensions`.

    Raises:
        PolicyError / KeyMaterialError: as ``check_csr``.
    """
    subject = check_csr(csr, issuer, profile, policy=policy)
    return issue_certificate(subject, csr.public_key(), profile, issuer, serial=serial,  # type: ignore[arg-type]
                             now=now)
