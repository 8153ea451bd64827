"""Platform lint: will the platform accept this CA for upload, and this device chain for an mTLS connect?

The rules are the guide's "General requirements for connecting devices with certificates", plus what the
verifier checks (pathlen, CA flags, validity), each finding with a severity and a hint on how to fix it.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from .chain import ChainBuild, build_chain, cert_label, check_order, is_self_issued, name_label
from .keys import MIN_RSA_BITS
from .names import common_name
from .verify import verify_chain

DEFAULT_MAX_CHAIN = 10
CLOUD_MAX_CHAIN = 2
EXPIRY_WARNING_DAYS = 30
POP_ADVICE = (
    "Keep in mind that in the Cumulocity cloud the maximum length of the chain of certificates is currently "
    "restricted to 2 for security reasons, so you cannot use any intermediate certificate between your CA "
    "certificate and the device certificate there. ... If you change the maximum chain length for your dedicated "
    "installation, we strongly recommend you to use the proof of possession feature to protect your service "
    "from DOS attacks."
)
_WEAK_HASHES = {"md5", "sha1"}


class Severity(Enum):
    """How bad a finding is: errors stop the upload or connect, warnings may, info is for the record."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class LintFinding:
    """One observation: severity, a stable code, the message, and how to fix it."""

    severity: Severity
    code: str
    message: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        """JSON form for `--json`."""
        return {"severity": self.severity.value, "code": self.code, "message": self.message, "fix": self.fix}


@dataclass(frozen=True)
class LintReport:
    """All findings for one file; ``ok`` when there is no error (warnings and info do not fail)."""

    subject: str
    findings: tuple[LintFinding, ...]

    @property
    def ok(self) -> bool:
        """True when nothing would stop the platform from accepting it."""
        return not self.errors

    @property
    def errors(self) -> tuple[LintFinding, ...]:
        """Only the error findings."""
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    def to_dict(self) -> dict[str, object]:
        """JSON form for `--json`."""
        return {"subject": self.subject, "ok": self.ok, "findings": [f.to_dict() for f in self.findings]}


def _ext(cert: x509.Certificate, cls: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except (x509.ExtensionNotFound, ValueError):
        return None


def _validity(cert: x509.Certificate, now: datetime.datetime, what: str) -> list[LintFinding]:
    label = cert_label(cert)
    if cert.not_valid_after_utc < now:
        return [LintFinding(Severity.ERROR, "expired", f"{what} '{label}' expired on "
                            f"{cert.not_valid_after_utc:%Y-%m-%d}", "Issue a new certificate (renew it).")]
    if cert.not_valid_before_utc > now:
        return [LintFinding(Severity.ERROR, "not-yet-valid", f"{what} '{label}' is not valid before "
                            f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC",
                            "Check the clock of the machine that issued it, or wait until then.")]
    left = cert.not_valid_after_utc - now
    if left < datetime.timedelta(days=EXPIRY_WARNING_DAYS):
        return [LintFinding(Severity.WARNING, "expires-soon", f"{what} '{label}' expires in {left.days} day(s), "
                            f"on {cert.not_valid_after_utc:%Y-%m-%d}", "Plan its renewal now.")]
    return []


def _key(cert: x509.Certificate, what: str) -> list[LintFinding]:
    key = cert.public_key()
    label = cert_label(cert)
    findings = []
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        findings.append(LintFinding(
            Severity.ERROR, "weak-key", f"{what} '{label}' has an RSA {key.key_size} key",
            "The guide: 'RSA with at least 2048 bits'; 1024 or lower is no longer safe. Issue it with RSA 2048+."))
    hash_alg = cert.signature_hash_algorithm
    if hash_alg is not None and hash_alg.name in _WEAK_HASHES:
        findings.append(LintFinding(Severity.WARNING, "weak-signature-hash",
                                    f"{what} '{label}' is signed with {hash_alg.name.upper()}",
                                    "Re-issue it with SHA-256 (the guide's `-md sha256`)."))
    return findings


def lint_ca_for_upload(certs: Sequence[x509.Certificate], *, now: datetime.datetime | None = None) -> LintReport:
    """Check a CA (or intermediate) certificate against the platform's upload rules."""
    moment = now or datetime.datetime.now(datetime.UTC)
    if not certs:
        return LintReport("", (LintFinding(Severity.ERROR, "empty", "the file holds no certificate",
                                           "Pick the CA certificate file (caCert.pem)."),))
    cert = certs[0]
    label = cert_label(cert)
    findings: list[LintFinding] = []
    if len(certs) > 1:
        findings.append(LintFinding(Severity.WARNING, "several-certificates",
                                    f"the file holds {len(certs)} certificates; only the first, '{label}', was "
                                    "checked", "Upload one CA certificate at a time."))
    if cert.version is not x509.Version.v3:
        findings.append(LintFinding(Severity.ERROR, "not-v3", f"'{label}' is an X.509 version 1 certificate",
                                    "The platform takes only X.509 version 3: issue it with the v3_ca extensions."))
    bc = _ext(cert, x509.BasicConstraints)
    if not isinstance(bc, x509.BasicConstraints) or not bc.ca:
        state = "has no basicConstraints" if bc is None else "has CA:FALSE"
        findings.append(LintFinding(Severity.ERROR, "not-a-ca", f"'{label}' {state}; uploaded certificates must "
                                    "have BasicConstraints CA:true", "Upload the CA that signed your devices, "
                                    "not a device certificate; or re-issue it with the v3_ca profile."))
    else:
        pathlen = "unlimited" if bc.path_length is None else str(bc.path_length)
        findings.append(LintFinding(Severity.INFO, "pathlen", f"'{label}' is a CA with pathlen {pathlen}"))
    ku = _ext(cert, x509.KeyUsage)
    if isinstance(ku, x509.KeyUsage) and not ku.key_cert_sign:
        findings.append(LintFinding(Severity.ERROR, "no-keycertsign", f"'{label}' has a keyUsage without "
                                    "keyCertSign, so it may not sign device certificates",
                                    "Re-issue it with keyUsage digitalSignature, cRLSign, keyCertSign (v3_ca)."))
    if not common_name(cert.subject):
        findings.append(LintFinding(Severity.WARNING, "no-common-name", f"'{label}' has no common name (CN)",
                                    "The guide's signing policy supplies a CN for every certificate."))
    findings += _validity(cert, moment, "the CA")
    findings += _key(cert, "the CA")
    if not is_self_issued(cert):
        findings.append(LintFinding(Severity.INFO, "intermediate",
                                    f"'{label}' is an intermediate signed by '{name_label(cert.issuer)}'",
                                    "Devices must still send their whole chain, including this certificate."))
    return LintReport(label, tuple(findings))


def lint_device_chain(
    certs: Sequence[x509.Certificate],
    *,
    client_id: str | None = None,
    max_chain: int = DEFAULT_MAX_CHAIN,
    trusted: Sequence[x509.Certificate] = (),
    now: datetime.datetime | None = None,
) -> LintReport:
    """Check the chain a device sends on connect: its CN, order, completeness, length, keys and validity.

    ``trusted`` are the CA certificates uploaded to the platform, when known; the chain must reach one.
    """
    moment = now or datetime.datetime.now(datetime.UTC)
    if not certs:
        return LintReport("", (LintFinding(Severity.ERROR, "empty", "the file holds no certificate",
                                           "Pick the device chain (deviceCertChain.pem)."),))
    built = build_chain(certs)
    leaf = built.chain[0]
    label = cert_label(leaf)
    findings = _device_name(leaf, client_id)
    findings += _device_usage(leaf)
    findings += _structure(list(certs), built, max_chain, trusted)
    for cert in built.chain:
        what = "the device certificate" if cert is leaf else "the CA"
        findings += _validity(cert, moment, what)
        findings += _key(cert, what)
    result = verify_chain(leaf, [built.chain[-1], *trusted], built.chain, partial_chain=True, at=moment)
    for finding in result.findings:
        if finding.code in ("pathlen-exceeded", "not-a-ca", "no-keycertsign", "bad-signature",
                            "critical-extension"):
            findings.append(LintFinding(Severity.ERROR, finding.code, finding.message, _VERIFY_FIXES[finding.code]))
    return LintReport(label, tuple(findings))


_VERIFY_FIXES = {
    "pathlen-exceeded": "Sign the device from a CA whose pathlen allows the intermediates below it, or re-issue "
                        "the CA with a larger pathlen (A pathlen 2 → B pathlen 1 → C pathlen 0 → device).",
    "not-a-ca": "Every certificate used to sign another must contain CA:TRUE; re-issue it with the v3_ca profile.",
    "no-keycertsign": "Re-issue the CA with keyUsage digitalSignature, cRLSign, keyCertSign (v3_ca).",
    "bad-signature": "The chain mixes certificates from different CAs: rebuild it from the CA that issued it.",
    "critical-extension": "Re-issue the certificate without that critical extension.",
}


def _device_name(leaf: x509.Certificate, client_id: str | None) -> list[LintFinding]:
    cn = common_name(leaf.subject)
    if not cn:
        return [LintFinding(Severity.ERROR, "no-common-name", "the device certificate has no common name (CN)",
                            "The CN is the device id and must equal the MQTT client id; issue it with a CN.")]
    findings = []
    if ":" in cn:
        findings.append(LintFinding(Severity.ERROR, "colon-in-cn", f"the device CN '{cn}' contains ':'",
                                    "The CN must equal the MQTT client id, where ':' separates fields; "
                                    "choose an id without ':'."))
    if client_id is not None:
        wanted = client_id[2:] if client_id.startswith("d:") else client_id
        if wanted != cn:
            findings.append(LintFinding(Severity.ERROR, "client-id-mismatch", f"the device CN '{cn}' differs from "
                                        f"the client id '{wanted}'", f"Connect as 'd:{cn}', or issue a "
                                        f"certificate with CN '{wanted}'."))
        else:
            findings.append(LintFinding(Severity.INFO, "client-id", f"the device connects with MQTT client id "
                                        f"'d:{cn}'"))
    return findings


def _device_usage(leaf: x509.Certificate) -> list[LintFinding]:
    label = cert_label(leaf)
    findings = []
    bc = _ext(leaf, x509.BasicConstraints)
    if isinstance(bc, x509.BasicConstraints) and bc.ca:
        findings.append(LintFinding(Severity.WARNING, "device-is-ca", f"the device certificate '{label}' is a CA",
                                    "Issue device certificates with CA:false (the guide's v3_signed)."))
    eku = _ext(leaf, x509.ExtendedKeyUsage)
    if eku is None:
        findings.append(LintFinding(Severity.INFO, "no-eku", f"'{label}' has no extended key usage, as in the "
                                    "guide's v3_signed; TLS servers accept it for client authentication"))
    elif isinstance(eku, x509.ExtendedKeyUsage) and ExtendedKeyUsageOID.CLIENT_AUTH in eku:
        findings.append(LintFinding(Severity.INFO, "client-auth", f"'{label}' allows TLS client authentication"))
    else:
        findings.append(LintFinding(Severity.ERROR, "no-client-auth", f"'{label}' has an extended key usage "
                                    "without clientAuth, so TLS servers refuse it as a client certificate",
                                    "Re-issue it with EKU clientAuth, or without any EKU."))
    return findings


def _structure(certs: list[x509.Certificate], built: ChainBuild, max_chain: int,
               trusted: Sequence[x509.Certificate]) -> list[LintFinding]:
    """Order, completeness and length: 'every certificate followed by the one that signed it'."""
    findings = []
    right = " → ".join(f"'{label}'" for label in built.labels)
    order_problems = check_order(certs[:len(built.chain)])
    if certs[0] != built.chain[0]:
        findings.append(LintFinding(Severity.ERROR, "misordered", f"the file starts with '{cert_label(certs[0])}', "
                                    f"but the device certificate '{cert_label(built.chain[0])}' must come first",
                                    f"Reorder the file as {right}."))
    elif order_problems and list(certs[:len(built.chain)]) != list(built.chain):
        findings.append(LintFinding(Severity.ERROR, "misordered", "the chain is out of order: "
                                    + "; ".join(order_problems), f"Reorder the file as {right}."))
    findings += [LintFinding(Severity.WARNING, "unrelated", f"'{cert_label(c)}' is not part of the chain of "
                             f"'{cert_label(built.chain[0])}'", "Remove it from the file.") for c in built.unused]
    top = built.chain[-1]
    reaches_trusted = any(c in trusted for c in built.chain)
    if trusted and not reaches_trusted:
        findings.append(LintFinding(Severity.ERROR, "no-trusted-ca", "the chain contains none of the CA "
                                    "certificates uploaded to the platform",
                                    "Certificates used by devices must contain the full chain, including the "
                                    "uploaded CA certificate: append it."))
    elif built.cycle:
        findings.append(LintFinding(Severity.ERROR, "cycle", built.stop_reason or "", "Rebuild the chain from the "
                                    "CA that issued the device certificate."))
    elif built.missing_issuer is not None and not reaches_trusted:
        if _is_ca(top):
            findings.append(LintFinding(Severity.WARNING, "incomplete", f"{built.stop_reason}; that is fine only if "
                                        f"'{cert_label(top)}' itself is the CA uploaded to the platform",
                                        f"Otherwise append '{name_label(top.issuer)}' and any CA above it."))
        else:
            findings.append(LintFinding(Severity.ERROR, "incomplete", built.stop_reason or "",
                                        "Certificates used by devices must contain the full chain, including the "
                                        "uploaded CA certificate: append it (the guide's `cat deviceCert.pem "
                                        "caCert.pem > deviceCertChain.pem`)."))
    elif len(built.chain) == 1 and built.complete and not trusted:
        findings.append(LintFinding(Severity.ERROR, "self-signed-device", f"the device certificate "
                                    f"'{cert_label(top)}' is self-signed", "Uploaded certificates must be CAs "
                                    "(CA:true): issue the device certificate from your CA and send the chain."))
    elif built.complete and not trusted:
        findings.append(LintFinding(Severity.INFO, "ends-at-root", f"the chain ends at the self-signed "
                                    f"'{cert_label(top)}'; that must be the CA uploaded to the platform"))
    if len(set(certs)) != len(certs):
        findings.append(LintFinding(Severity.WARNING, "duplicate", "the chain holds the same certificate twice",
                                    "Remove the duplicate."))
    if len(certs) > max_chain:
        findings.append(LintFinding(Severity.ERROR, "too-long", f"the chain has {len(certs)} certificates; the "
                                    f"platform allows at most {max_chain}", "Use fewer intermediate CAs."))
    if len(built.chain) > CLOUD_MAX_CHAIN:
        findings.append(LintFinding(Severity.WARNING, "longer-than-cloud", f"the chain has {len(built.chain)} "
                                    f"certificates; the cloud allows {CLOUD_MAX_CHAIN}. {POP_ADVICE}",
                                    "In the cloud, sign devices directly with the uploaded CA; on a dedicated "
                                    "installation with a longer limit, use proof of possession."))
    return findings


def _is_ca(cert: x509.Certificate) -> bool:
    bc = _ext(cert, x509.BasicConstraints)
    return isinstance(bc, x509.BasicConstraints) and bc.ca


def format_report(report: LintReport) -> str:
    """Human output: one line per finding, the fix indented under it, and a verdict."""
    lines = [f"{f.severity.value.upper():7} {f.message}" + (f"\n        fix: {f.fix}" if f.fix else "")
             for f in report.findings]
    errors, warnings = len(report.errors), sum(f.severity is Severity.WARNING for f in report.findings)
    verdict = "PASS" if report.ok else "FAIL"
    lines.append(f"{verdict}: '{report.subject}': {errors} error(s), {warnings} warning(s)")
    return "\n".join(lines)
