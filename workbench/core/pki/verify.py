"""Chain verification with `openssl verify -CAfile [-untrusted] [-partial_chain]` semantics, every failure in words.

openssl stops at the first error; we run every check and report each problem, each tagged with the openssl
error number it corresponds to, so a user can match our words to what openssl prints.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from .chain import cert_label, find_issuer, is_self_issued, name_label, same_name_hint, signature_verifies

# openssl 3.0 X509_V_ERR_* numbers, as printed by `openssl verify` ("error 20 at 0 depth lookup: ...").
OPENSSL_ERRORS = {
    "issuer-not-found": 20,  # unable to get local issuer certificate
    "anchor-not-root": 2,  # unable to get issuer certificate
    "bad-signature": 7,  # certificate signature failure
    "not-yet-valid": 9,  # certificate is not yet valid
    "expired": 10,  # certificate has expired
    "self-signed-leaf": 18,  # self-signed certificate
    "untrusted-root": 19,  # self-signed certificate in certificate chain
    "pathlen-exceeded": 25,  # path length constraint exceeded
    "no-keycertsign": 32,  # key usage does not include certificate signing
    "critical-extension": 34,  # unhandled critical extension
    "not-a-ca": 79,  # invalid CA certificate
}

# Extensions openssl understands when critical (X509_supported_extension in openssl 3.0).
_SUPPORTED_CRITICAL = {
    ExtensionOID.KEY_USAGE, ExtensionOID.SUBJECT_ALTERNATIVE_NAME, ExtensionOID.BASIC_CONSTRAINTS,
    ExtensionOID.CERTIFICATE_POLICIES, ExtensionOID.CRL_DISTRIBUTION_POINTS, ExtensionOID.EXTENDED_KEY_USAGE,
    ExtensionOID.OCSP_NO_CHECK, ExtensionOID.POLICY_CONSTRAINTS, ExtensionOID.NAME_CONSTRAINTS,
    ExtensionOID.POLICY_MAPPINGS, ExtensionOID.INHIBIT_ANY_POLICY,
    x509.ObjectIdentifier("2.16.840.1.113730.1.1"),  # Netscape cert type
    x509.ObjectIdentifier("1.3.6.1.5.5.7.1.7"),  # RFC 3779 IP address blocks
    x509.ObjectIdentifier("1.3.6.1.5.5.7.1.8"),  # RFC 3779 AS identifiers
    x509.ObjectIdentifier("1.3.6.1.5.5.7.1.14"),  # proxyCertInfo
}


@dataclass(frozen=True)
class Finding:
    """One failed check: a stable code, the sentence to show, and where in the chain it happened."""

    code: str
    message: str
    depth: int | None = None
    certificate: str | None = None

    @property
    def openssl_error(self) -> int | None:
        """The matching `openssl verify` error number, to compare with openssl's output."""
        return OPENSSL_ERRORS.get(self.code)

    def to_dict(self) -> dict[str, object]:
        """JSON form for `--json`."""
        return {"code": self.code, "message": self.message, "depth": self.depth, "certificate": self.certificate,
                "openssl_error": self.openssl_error}


@dataclass(frozen=True)
class VerificationResult:
    """The outcome: ``ok``, the chain as built (leaf first), the trust anchor reached, and every finding."""

    ok: bool
    chain: tuple[x509.Certificate, ...]
    anchor: x509.Certificate | None
    findings: tuple[Finding, ...]
    checked_at: datetime.datetime
    partial_chain: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def summary(self) -> str:
        """One line for people: what was verified and whether it passed."""
        path = " → ".join(f"'{cert_label(c)}'" for c in self.chain)
        if self.ok:
            return f"OK: {path} (trusted via '{cert_label(self.anchor)}')" if self.anchor else f"OK: {path}"
        return f"verification failed for {path}: {len(self.findings)} problem(s)"

    def to_dict(self) -> dict[str, object]:
        """JSON form for `--json`."""
        return {
            "ok": self.ok,
            "chain": [cert_label(c) for c in self.chain],
            "anchor": cert_label(self.anchor) if self.anchor is not None else None,
            "checked_at": self.checked_at.isoformat(),
            "partial_chain": self.partial_chain,
            "findings": [f.to_dict() for f in self.findings],
            "notes": list(self.notes),
        }


def _ext(cert: x509.Certificate, cls: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except (x509.ExtensionNotFound, ValueError):
        return None


def _build(leaf: x509.Certificate, anchors: list[x509.Certificate], untrusted: list[x509.Certificate],
           partial_chain: bool) -> tuple[list[x509.Certificate], int | None, str | None]:
    """openssl's build with trusted-first: returns the chain, the index of the anchor, and why it stopped.

    Once the chain reaches a trusted certificate, only the trust store is searched further (as openssl does).
    """
    chain = [leaf]
    trusted_at: int | None = None
    if leaf in anchors and (partial_chain or is_self_issued(leaf)):
        return chain, 0, None
    while True:
        current = chain[-1]
        if trusted_at is not None and (partial_chain or is_self_issued(current)):
            return chain, trusted_at, None
        if is_self_issued(current):
            return chain, trusted_at, "untrusted-root"
        others = [c for c in anchors if c != current]
        issuer = find_issuer(current, others)
        if issuer is not None and issuer not in chain:
            chain.append(issuer)
            trusted_at = len(chain) - 1  # the topmost certificate from the trust store is the anchor
            continue
        if trusted_at is None:
            issuer = find_issuer(current, [c for c in untrusted if c != current])
            if issuer is not None and issuer not in chain:
                chain.append(issuer)
                if partial_chain and issuer in anchors:
                    trusted_at = len(chain) - 1
                continue
        return chain, trusted_at, "anchor-not-root" if trusted_at is not None else "issuer-not-found"


def verify_chain(
    leaf: x509.Certificate,
    anchors: Sequence[x509.Certificate],
    untrusted: Sequence[x509.Certificate] = (),
    *,
    partial_chain: bool = False,
    at: datetime.datetime | None = None,
) -> VerificationResult:
    """Verify ``leaf`` as `openssl verify -CAfile anchors -untrusted untrusted [-partial_chain] leaf` would.

    Without ``partial_chain`` the chain must end in a self-signed root from ``anchors``; with it, any
    certificate in ``anchors`` is a trust anchor. ``at`` replaces the clock (openssl's `-attime`).
    """
    moment = at or datetime.datetime.now(datetime.UTC)
    chain, trusted_at, stop = _build(leaf, list(anchors), list(untrusted), partial_chain)
    findings: list[Finding] = []
    notes: list[str] = []
    if stop is not None:
        findings.append(_trust_finding(stop, chain, [*anchors, *untrusted]))
    elif trusted_at is not None and not is_self_issued(chain[trusted_at]):
        notes.append(f"trusted at '{cert_label(chain[trusted_at])}', which is in the CA file "
                     "(partial chain: it need not be a self-signed root)")
    checked = chain if trusted_at is None else chain[: trusted_at + 1]
    findings.extend(_time_findings(checked, moment))
    findings.extend(_signer_findings(checked))
    findings.extend(_pathlen_findings(checked))
    findings.extend(_signature_findings(checked))
    findings.extend(_critical_extension_findings(checked))
    anchor = chain[trusted_at] if trusted_at is not None else None
    return VerificationResult(not findings, tuple(chain), anchor, tuple(findings), moment, partial_chain,
                              tuple(notes))


def _trust_finding(stop: str, chain: list[x509.Certificate], pool: list[x509.Certificate]) -> Finding:
    top = chain[-1]
    hint = same_name_hint(top, pool)
    label = cert_label(top)
    depth = len(chain) - 1
    if stop == "untrusted-root":
        code = "self-signed-leaf" if depth == 0 else "untrusted-root"
        return Finding(code, f"the chain ends at the self-signed '{label}', which is not in the CA file, "
                             "so it is not trusted", depth, label)
    if stop == "anchor-not-root":
        return Finding(stop, f"'{label}' is in the CA file but is not a self-signed root, and its issuer "
                             f"'{name_label(top.issuer)}' is not in the CA file; add that root, or use "
                             f"partial chain verification to trust '{label}' itself",
                       depth, label)
    return Finding(stop, f"the chain stops at '{name_label(top.subject)}'; its issuer '{name_label(top.issuer)}' "
                         "is in neither the CA file nor the untrusted certificates" + hint, depth, label)


def _day(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _time_findings(chain: list[x509.Certificate], moment: datetime.datetime) -> list[Finding]:
    findings = []
    for depth, cert in enumerate(chain):
        label = cert_label(cert)
        if cert.not_valid_before_utc > moment:
            findings.append(Finding("not-yet-valid", f"'{label}' is not valid before "
                                    f"{_day(cert.not_valid_before_utc)}", depth, label))
        if cert.not_valid_after_utc < moment:
            findings.append(Finding("expired", f"'{label}' expired on {_day(cert.not_valid_after_utc)}",
                                    depth, label))
    return findings


def _signer_findings(chain: list[x509.Certificate]) -> list[Finding]:
    """Every certificate above the leaf signs one below, so it must be a CA allowed to sign certificates."""
    findings = []
    for depth in range(1, len(chain)):
        signer, signed = chain[depth], chain[depth - 1]
        label, signed_label = cert_label(signer), cert_label(signed)
        bc = _ext(signer, x509.BasicConstraints)
        if not isinstance(bc, x509.BasicConstraints):
            v1_root = signer.version is x509.Version.v1 and is_self_issued(signer)
            if not v1_root:
                findings.append(Finding("not-a-ca", f"'{label}' is not a CA (it has no basicConstraints) "
                                        f"but signed '{signed_label}'", depth, label))
        elif not bc.ca:
            findings.append(Finding("not-a-ca", f"'{label}' is not a CA (CA:FALSE) but signed '{signed_label}'",
                                    depth, label))
        ku = _ext(signer, x509.KeyUsage)
        if isinstance(ku, x509.KeyUsage) and not ku.key_cert_sign:
            findings.append(Finding("no-keycertsign", f"'{label}' signed '{signed_label}' but its keyUsage lacks "
                                    "keyCertSign (Certificate Sign)", depth, label))
    return findings


def _pathlen_findings(chain: list[x509.Certificate]) -> list[Finding]:
    """pathlen counts the intermediate CAs below a CA, the leaf excluded (self-issued ones do not count)."""
    findings = []
    below: list[x509.Certificate] = []
    for depth in range(1, len(chain)):
        cert = chain[depth]
        bc = _ext(cert, x509.BasicConstraints)
        limit = bc.path_length if isinstance(bc, x509.BasicConstraints) and bc.ca else None
        if depth > 1 and limit is not None and len(below) > limit:
            label = cert_label(cert)
            role = "root" if is_self_issued(cert) else "intermediate"
            names = ", ".join(f"'{cert_label(c)}'" for c in reversed(below))
            if limit == 0:
                message = f"{role} '{label}' has pathlen 0 but signs another CA ({names})"
            else:
                message = (f"{role} '{label}' has pathlen {limit} but {len(below)} intermediate CAs follow it "
                           f"in the chain ({names})")
            findings.append(Finding("pathlen-exceeded", message, depth, label))
        if not is_self_issued(cert):
            below.append(cert)
    return findings


def _signature_findings(chain: list[x509.Certificate]) -> list[Finding]:
    """Each certificate's signature must verify with the next one's key (the anchor's own is not checked)."""
    findings = []
    for depth in range(len(chain) - 1):
        cert, signer = chain[depth], chain[depth + 1]
        if not signature_verifies(cert, signer):
            label = cert_label(cert)
            findings.append(Finding("bad-signature", f"the signature of '{label}' does not verify with the key of "
                                    f"'{cert_label(signer)}'", depth, label))
    return findings


def _critical_extension_findings(chain: list[x509.Certificate]) -> list[Finding]:
    findings = []
    for depth, cert in enumerate(chain):
        for ext in cert.extensions:
            if ext.critical and ext.oid not in _SUPPORTED_CRITICAL:
                label = cert_label(cert)
                findings.append(Finding("critical-extension", f"'{label}' has a critical extension "
                                        f"{ext.oid.dotted_string} that verifiers do not understand", depth, label))
    return findings
