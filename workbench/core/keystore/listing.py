"""`keytool -list -v` in our words: what people compare against the guide's last step, plus a JSON form."""

from __future__ import annotations

import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from .model import Entry, Keystore, PrivateKeyEntry, TrustedCertEntry, entry_type

_RULE = "*" * 43


def fingerprint(cert: x509.Certificate, algorithm: hashes.HashAlgorithm) -> str:
    """Upper-case colon hex, as keytool prints fingerprints."""
    return ":".join(f"{b:02X}" for b in cert.fingerprint(algorithm))


def _java_date(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


def _key_description(cert: x509.Certificate) -> str:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"{key.key_size}-bit RSA key"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"{key.curve.key_size}-bit EC ({key.curve.name}) key"
    if isinstance(key, dsa.DSAPublicKey):
        return f"{key.key_size}-bit DSA key"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519 key"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448 key"
    return type(key).__name__


def _signature_name(cert: x509.Certificate) -> str:
    try:
        digest = cert.signature_hash_algorithm
    except Exception:
        digest = None
    oid_name = cert.signature_algorithm_oid._name
    if digest is None:
        return oid_name
    family = "RSA" if "RSA" in oid_name.upper() else "ECDSA" if "ecdsa" in oid_name.lower() else oid_name
    return f"{digest.name.upper().replace('-', '')}with{family}"


def describe_certificate(cert: x509.Certificate) -> dict[str, Any]:
    """One certificate's fields as keytool shows them."""
    return {
        "owner": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "x"),
        "valid_from": cert.not_valid_before_utc.isoformat(),
        "valid_until": cert.not_valid_after_utc.isoformat(),
        "sha1": fingerprint(cert, hashes.SHA1()),
        "sha256": fingerprint(cert, hashes.SHA256()),
        "signature_algorithm": _signature_name(cert),
        "public_key": _key_description(cert),
        "version": cert.version.value + 1,
    }


def describe_entry(entry: Entry) -> dict[str, Any]:
    """One entry for --json and for the GUI table."""
    certs = entry.chain if isinstance(entry, PrivateKeyEntry) else (entry.cert,)
    info: dict[str, Any] = {
        "alias": entry.alias,
        "type": entry_type(entry),
        "created": entry.created.isoformat() if entry.created else None,
        "chain_length": len(certs),
        "certificates": [describe_certificate(c) for c in certs],
    }
    if isinstance(entry, PrivateKeyEntry):
        info["key_locked"] = entry.locked
        info["own_key_password"] = entry.key_password is not None or entry.locked
    return info


def describe_store(store: Keystore) -> dict[str, Any]:
    """The whole store for --json."""
    return {"type": store.kind.label, "entries": [describe_entry(e) for e in store.entries],
            "notes": list(store.notes)}


def _certificate_lines(cert: x509.Certificate) -> list[str]:
    info = describe_certificate(cert)
    return [
        f"Owner: {info['owner']}",
        f"Issuer: {info['issuer']}",
        f"Serial number: {info['serial']}",
        f"Valid from: {_java_date(cert.not_valid_before_utc)} until: {_java_date(cert.not_valid_after_utc)}",
        "Certificate fingerprints:",
        f"\t SHA1: {info['sha1']}",
        f"\t SHA256: {info['sha256']}",
        f"Signature algorithm name: {info['signature_algorithm']}",
        f"Subject Public Key Algorithm: {info['public_key']}",
        f"Version: {info['version']}",
    ]


def format_listing(store: Keystore) -> str:
    """The text `keytool -list -v` would print for this store (type, aliases, dates, chains, fingerprints)."""
    count = len(store.entries)
    lines = [f"Keystore type: {store.kind.label}", "",
             f"Your keystore contains {count} entr{'y' if count == 1 else 'ies'}", ""]
    for entry in store.entries:
        lines.append(f"Alias name: {entry.alias}")
        created = entry.created.strftime("%b %d, %Y") if entry.created else "not recorded in this format"
        lines.append(f"Creation date: {created}")
        lines.append(f"Entry type: {entry_type(entry)}")
        if isinstance(entry, PrivateKeyEntry):
            if entry.locked:
                lines.append("Key: sealed by its own key password (not given)")
            lines.append(f"Certificate chain length: {len(entry.chain)}")
            for index, cert in enumerate(entry.chain, start=1):
                lines.append(f"Certificate[{index}]:")
                lines.extend(_certificate_lines(cert))
                lines.append("")
        elif isinstance(entry, TrustedCertEntry):
            lines.extend(_certificate_lines(entry.cert))
            lines.append("")
        lines += ["", _RULE, _RULE, "", ""]
    for note in store.notes:
        lines.append(f"Note: {note}")
    return "\n".join(lines).rstrip() + "\n"
