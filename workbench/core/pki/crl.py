"""Certificate revocation lists with the guide's `crl_ext` (AKI keyid) and a CRL number, valid 30 days by default."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509

from .issuance import Issuer, signature_hash

DEFAULT_CRL_DAYS = 30  # the guide's default_crl_days

REASONS: dict[str, x509.ReasonFlags] = {
    "unspecified": x509.ReasonFlags.unspecified,
    "keyCompromise": x509.ReasonFlags.key_compromise,
    "CACompromise": x509.ReasonFlags.ca_compromise,
    "affiliationChanged": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessationOfOperation": x509.ReasonFlags.cessation_of_operation,
    "certificateHold": x509.ReasonFlags.certificate_hold,
}


@dataclass(frozen=True)
class Revocation:
    """One revoked serial, as the CA store and openssl's index record it."""

    serial: int
    revoked_at: datetime.datetime
    reason: str = "unspecified"


def build_crl(issuer: Issuer, revocations: Iterable[Revocation], crl_number: int, *,
              now: datetime.datetime | None = None, days: int = DEFAULT_CRL_DAYS) -> x509.CertificateRevocationList:
    """`openssl ca -gencrl`: sign the list of revoked serials with the CA's key."""
    moment = now or datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.certificate.subject)
        .last_update(moment)
        .next_update(moment + datetime.timedelta(days=days))
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer.certificate.public_key()), critical=False)  # type: ignore[arg-type]
        .add_extension(x509.CRLNumber(crl_number), critical=False)
    )
    for r in revocations:
        entry = x509.RevokedCertificateBuilder().serial_number(r.serial).revocation_date(r.revoked_at)
        if r.reason != "unspecified":
            entry = entry.add_extension(x509.CRLReason(REASONS[r.reason]), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(issuer.key, signature_hash(issuer.key))
