"""A text dump laid out like `openssl x509 -noout -text`, so people who know openssl's output feel at home."""

from __future__ import annotations

import datetime

from cryptography import x509

from .summary import CertificateSummary, summarize


def _openssl_time(moment: datetime.datetime) -> str:
    """'Jan  1 00:00:00 2026 GMT', openssl's ASN1_TIME_print form."""
    return f"{moment:%b} {moment.day:2d} {moment:%H:%M:%S} {moment.year} GMT"


def _wrap_hex(text: str, per_line: int, indent: int) -> list[str]:
    """openssl's hex blocks: N bytes per line, each line but the last ending with ':'."""
    octets = text.split(":") if text else []
    pad = " " * indent
    rows = [octets[i:i + per_line] for i in range(0, len(octets), per_line)]
    return [pad + ":".join(row) + (":" if i < len(rows) - 1 else "") for i, row in enumerate(rows)]


def _serial_lines(summary: CertificateSummary) -> list[str]:
    """Small serials on one line with hex in brackets, large ones as a colon hex block (as openssl does)."""
    serial = summary.serial_number
    if 0 <= serial < 2**63:
        return [f"        Serial Number: {serial} ({serial:#x})"]
    negative = " (Negative)" if serial < 0 else ""
    return [f"        Serial Number:{negative}", "            " + summary.serial_hex.lstrip("-")]


def _public_key_lines(summary: CertificateSummary) -> list[str]:
    key = summary.public_key
    lines = [f"            Public Key Algorithm: {key.algorithm}"]
    if key.algorithm in ("ED25519", "ED448"):
        lines.append(f"                {key.algorithm} Public-Key:")
    else:
        lines.append(f"                Public-Key: ({key.bits} bit)")
    lines.append(f"                {key.value_label}:")
    lines += _wrap_hex(key.value_hex, 15, 20)
    if key.exponent is not None:
        lines.append(f"                Exponent: {key.exponent} ({key.exponent:#x})")
    if key.curve is not None:
        lines.append(f"                ASN1 OID: {key.curve}")
    if key.nist_curve is not None:
        lines.append(f"                NIST CURVE: {key.nist_curve}")
    return lines


def _extension_lines(summary: CertificateSummary) -> list[str]:
    if not summary.extensions:
        return []
    lines = ["        X509v3 extensions:"]
    for ext in summary.extensions:
        lines.append(f"            {ext.name}: " + ("critical" if ext.critical else ""))
        for value in ext.lines:
            lines.append(f"                {value}")
    return lines


def _unique_id_lines(summary: CertificateSummary) -> list[str]:
    lines = []
    for label, value in (("Issuer", summary.issuer_unique_id), ("Subject", summary.subject_unique_id)):
        if value is not None:
            lines.append(f"        {label} Unique ID: ")
            lines += _wrap_hex(value, 18, 12)
    return lines


def text_dump(cert: x509.Certificate | CertificateSummary) -> str:
    """The whole certificate as text, section by section in openssl's order and indentation."""
    summary = cert if isinstance(cert, CertificateSummary) else summarize(cert)
    lines = [
        "Certificate:",
        "    Data:",
        f"        Version: {summary.version} ({summary.version - 1:#x})",
        *_serial_lines(summary),
        f"        Signature Algorithm: {summary.signature_algorithm}",
        f"        Issuer: {summary.issuer_oneline}",
        "        Validity",
        f"            Not Before: {_openssl_time(summary.not_before)}",
        f"            Not After : {_openssl_time(summary.not_after)}",
        f"        Subject: {summary.subject_oneline}",
        "        Subject Public Key Info:",
        *_public_key_lines(summary),
        *_unique_id_lines(summary),
        *_extension_lines(summary),
        f"    Signature Algorithm: {summary.signature_algorithm}",
        "    Signature Value:",
        *_wrap_hex(summary.signature_hex, 18, 8),
    ]
    return "\n".join(lines) + "\n"


def fingerprint_lines(summary: CertificateSummary) -> list[str]:
    """The fingerprints, and the SHA-1 form the platform uses as the certificate id."""
    return [
        f"sha1 Fingerprint={summary.sha1_fingerprint}",
        f"sha256 Fingerprint={summary.sha256_fingerprint}",
        f"Platform certificate id (SHA-1, lower-case hex): {summary.certificate_id}",
    ]
