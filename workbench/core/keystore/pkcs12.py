"""PKCS#12 keystores and Java truststores, readable by keytool, Java, openssl and Windows.

Writing: each key entry is cryptography's `serialize_key_and_certificates`, trusted certificates go through
`serialize_java_truststore` (which adds Oracle's trust attribute; without it keytool lists 0 entries), and
several parts are merged into one file (see pfx.py). Reading: cryptography decrypts; aliases come from the
friendlyName attributes; chain certificates (no name, or named by their DN as keytool does) are told apart from
trusted entries (named by an alias).
"""

from __future__ import annotations

import datetime
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from workbench.errors import KeystoreError, KeystoreOpenError, KeystorePasswordError, PasswordError

from . import pfx
from .chains import chain_from
from .model import Entry, Keystore, PrivateKeyEntry, StoreKind, TrustedCertEntry

# `openssl pkcs12 -export` (the guide's recipe) uses 2048 PBKDF2 rounds; Java 17's keytool uses 10000.
DEFAULT_KDF_ROUNDS = 2048
_OPEN_CAUSES = (
    "The store password is wrong.",
    "The file is not a PKCS#12 keystore, or it is damaged or truncated.",
)


@dataclass(frozen=True)
class Pkcs12Options:
    """PKCS#12 protection: AES-256 + SHA-256 by default, or the legacy 3DES + SHA-1 for old Java/Windows."""

    legacy: bool = False
    kdf_rounds: int = DEFAULT_KDF_ROUNDS

    @property
    def mac_hash(self) -> str:
        return "sha1" if self.legacy else "sha256"

    def encryption(self, password: bytes) -> serialization.KeySerializationEncryption:
        """cryptography's encryption settings for these options."""
        builder = serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(self.kdf_rounds)
        if self.legacy:
            builder = builder.key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC).hmac_hash(hashes.SHA1())
        else:
            builder = builder.key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC).hmac_hash(hashes.SHA256())
        return builder.build(password)


@contextmanager
def _collect_warnings(notes: list[str]) -> Iterator[None]:
    """cryptography warns (instead of failing) on BER files from Windows; tell the user in a note, not a warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    notes.extend(f"Note from the PKCS#12 reader: {w.message}" for w in caught)


def _load(data: bytes, password: bytes | None, notes: list[str]) -> pkcs12.PKCS12KeyAndCertificates:
    try:
        with _collect_warnings(notes):
            return pkcs12.load_pkcs12(data, password)
    except (ValueError, UnsupportedAlgorithm, TypeError) as exc:
        raise KeystoreOpenError("Could not open the PKCS#12 keystore", (*_OPEN_CAUSES, f"Details: {exc}")) from exc


def _check_password(parsed: pfx.Pfx, password: bytes | None) -> bytes | None:
    """Use the MAC to tell 'wrong password' from 'damaged file' before any decryption."""
    if parsed.mac_hash is None:
        return password
    if password is None:
        if pfx.mac_matches(parsed, b""):
            return b""
        raise KeystorePasswordError("The PKCS#12 keystore is password-protected and no password was given",
                                    ("Give the store password (keytool's -storepass).",))
    if not pfx.mac_matches(parsed, password):
        raise KeystorePasswordError(
            "Could not open the PKCS#12 keystore: the password does not match",
            ("The store password is wrong.",
             "The file was altered or damaged after it was written (its integrity check fails)."))
    return password


def load_pkcs12_store(data: bytes, password: bytes | None) -> Keystore:
    """Read every entry of a PKCS#12 file, several keys included.

    Raises:
        KeystorePasswordError: the password does not open the file's integrity check.
        KeystoreOpenError: the bytes are not a readable PKCS#12 keystore (the message names both possibilities).
    """
    notes: list[str] = []
    try:
        parsed: pfx.Pfx | None = pfx.parse(data)
    except (pfx.PfxFormatError, IndexError):
        parsed = None  # BER (Windows) or damaged: cryptography decides
    bundles: list[tuple[pkcs12.PKCS12KeyAndCertificates, str | None]]
    if parsed is not None:
        password = _check_password(parsed, password)
        try:
            splits = pfx.split_per_key(parsed)
        except (pfx.PfxFormatError, IndexError):
            splits = []
        pw = password or b""
        bundles = [(_load(pfx.assemble(infos, pw, iterations=1), pw, notes), name) for infos, name in splits]
    if parsed is None or not bundles:
        bundles = [(_load(data, password, notes), None)]
    store = _to_store(bundles, notes)
    stamps = _stamps(parsed)
    if not stamps:
        return store
    dated = tuple(replace(e, created=_when(stamps[e.alias])) if e.alias in stamps else e for e in store.entries)
    return replace(store, entries=dated)


def _stamps(parsed: pfx.Pfx | None) -> dict[str, int]:
    if parsed is None:
        return {}
    try:
        return pfx.key_bag_stamps(parsed)
    except (pfx.PfxFormatError, IndexError):
        return {}


def _when(millis: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(millis / 1000, tz=datetime.UTC)


def _dn_like(name: str, cert: x509.Certificate) -> bool:
    """keytool names chain certificates by their DN; such names are not aliases of trusted entries."""
    def norm(text: str) -> str:
        return ",".join(part.strip().lower() for part in text.split(","))
    subject = cert.subject.rfc4514_string()
    reverse = ",".join(reversed(subject.split(",")))
    return norm(name) in (norm(subject), norm(reverse))


def _to_store(bundles: list[tuple[pkcs12.PKCS12KeyAndCertificates, str | None]], notes: list[str]) -> Keystore:
    keys: list[tuple[str, object, x509.Certificate]] = []
    pool: dict[tuple[bytes, str | None], x509.Certificate] = {}
    for index, (bundle, bag_name) in enumerate(bundles, start=1):
        for extra in bundle.additional_certs:
            name = extra.friendly_name.decode("utf-8", "replace") if extra.friendly_name else None
            pool.setdefault((extra.certificate.public_bytes(serialization.Encoding.DER), name), extra.certificate)
        if bundle.key is None:
            if bundle.cert is not None:  # a certificate-only file written with a single 'cert'
                name = bundle.cert.friendly_name.decode("utf-8", "replace") if bundle.cert.friendly_name else None
                pool.setdefault((bundle.cert.certificate.public_bytes(serialization.Encoding.DER), name),
                                bundle.cert.certificate)
            continue
        if bundle.cert is None:
            notes.append(f"A private key without its certificate was skipped (entry {index}); keytool skips it too.")
            continue
        fname = bundle.cert.friendly_name
        alias = fname.decode("utf-8", "replace") if fname else (bag_name or str(index))
        keys.append((alias, bundle.key, bundle.cert.certificate))
    leaves = {cert.public_bytes(serialization.Encoding.DER) for _a, _k, cert in keys}
    all_certs = list(pool.values())
    entries: list[Entry] = []
    used: set[bytes] = set()
    for alias, key, leaf in keys:
        chain = chain_from(leaf, all_certs)
        used.update(c.public_bytes(serialization.Encoding.DER) for c in chain)
        entries.append(PrivateKeyEntry(alias, key, tuple(chain)))  # type: ignore[arg-type]
    seen_aliases = {e.alias.lower() for e in entries}
    for (der, name), cert in pool.items():
        if der in leaves or name is None or _dn_like(name, cert):
            if der not in used and der not in leaves:
                notes.append(f"The certificate '{cert.subject.rfc4514_string()}' is in no chain and is not marked "
                             "trusted; it was ignored, as keytool does.")
            continue
        if name.lower() in seen_aliases:
            notes.append(f"A second certificate named '{name}' was ignored (aliases must be unique).")
            continue
        seen_aliases.add(name.lower())
        entries.append(TrustedCertEntry(name, cert))
    return Keystore(StoreKind.PKCS12, tuple(entries), tuple(dict.fromkeys(notes)))


def dump_pkcs12_store(store: Keystore, password: bytes, options: Pkcs12Options | None = None) -> bytes:
    """Write every entry as one PKCS#12 file that keytool lists and Java loads.

    Raises:
        PasswordError: no password (an unprotected PKCS#12 fails keytool's integrity check).
        PasswordError: a JKS key whose own password is unknown cannot be re-encrypted.
    """
    if not password:
        raise PasswordError("A PKCS#12 store needs a password",
                            ("keytool reports 'Integrity check failed' for a PKCS#12 written without one.",))
    options = options or Pkcs12Options()
    encryption = options.encryption(password)
    parts: list[bytes] = []
    try:
        for entry in store.key_entries():
            key = entry.require_key()
            parts.append(pkcs12.serialize_key_and_certificates(
                entry.alias.encode("utf-8"), key, entry.chain[0], list(entry.chain[1:]) or None,  # type: ignore[arg-type]
                encryption))
            encryption = options.encryption(password)  # a builder's result is single-use in some versions
        trusted = [pkcs12.PKCS12Certificate(e.cert, e.alias.encode("utf-8")) for e in store.trusted_entries()]
        if trusted:
            parts.append(pkcs12.serialize_java_truststore(trusted, options.encryption(password)))
    except (TypeError, ValueError) as exc:
        raise KeystoreError("Could not write the PKCS#12 keystore", (str(exc),)) from exc
    if not parts:
        return pfx.assemble([], password, hash_name=options.mac_hash, iterations=options.kdf_rounds)
    return pfx.merge(parts, password, hash_name=options.mac_hash, iterations=options.kdf_rounds)
