"""JKS (read and write) and JCEKS (read only) through pyjks, with keytool's rules for aliases and key passwords.

A JKS key entry may have its own key password (keytool -keypass). pyjks tries the store password first; for
other entries we ask the injected ``key_passwords`` callable and keep the entry sealed (listable, not usable)
when it has no answer. Aliases are stored in lower case, as Java does.
"""

from __future__ import annotations

import datetime
import struct
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyasn1.error import PyAsn1Error

from workbench.errors import KeystoreError, KeystoreOpenError, KeystorePasswordError, PasswordError

from .model import Entry, Keystore, PrivateKeyEntry, StoreKind, TrustedCertEntry

if TYPE_CHECKING:
    import jks

KeyPasswords = Mapping[str, bytes] | Callable[[str], bytes | None] | bytes | None


def _pyjks() -> ModuleType:
    """pyjks, imported when a JKS store is first read or written: it pulls in pycryptodome (and cffi's C parser),
    a fifth of the GUI's cold start when imported with this module (bench/cold_start.py)."""
    import jks

    module: ModuleType = jks  # pyjks has no type information
    return module


def _read_errors() -> tuple[type[BaseException], ...]:
    """What pyjks raises for a damaged file or a wrong password (besides its own exceptions)."""
    return (_pyjks().util.KeystoreException, ValueError, struct.error, IndexError, EOFError, PyAsn1Error,
            UnicodeError, TypeError, AttributeError)


def key_password_for(key_passwords: KeyPasswords, alias: str) -> bytes | None:
    """One key password from whatever the caller gave: a fixed value, a per-alias map, or a prompt callable."""
    if key_passwords is None or isinstance(key_passwords, bytes):
        return key_passwords
    if callable(key_passwords):
        return key_passwords(alias)
    return key_passwords.get(alias) or key_passwords.get(alias.lower())


def _text(password: bytes) -> str:
    return password.decode("utf-8")


def _created(timestamp: int | None) -> datetime.datetime | None:
    if not timestamp:
        return None
    return datetime.datetime.fromtimestamp(timestamp / 1000, tz=datetime.UTC)


def _millis(created: datetime.datetime | None) -> int:
    moment = created or datetime.datetime.now(tz=datetime.UTC)
    return int(moment.timestamp()) * 1000


def _certs(chain: list[tuple[str, bytes]], alias: str) -> tuple[x509.Certificate, ...]:
    try:
        return tuple(x509.load_der_x509_certificate(der) for _type, der in chain)
    except ValueError as exc:
        raise KeystoreOpenError(f"The certificate chain of '{alias}' is damaged",
                                ("The file may be truncated or edited.",)) from exc


def load_jks_store(data: bytes, password: bytes | None, key_passwords: KeyPasswords = None) -> Keystore:
    """Read a JKS or JCEKS store; keys with their own password are opened with ``key_passwords`` or left sealed.

    Raises:
        KeystorePasswordError: the store password does not match the file's integrity hash.
        KeystoreOpenError: the file is damaged or truncated.
        PasswordError: a key password was given for an entry and is wrong.
    """
    jks = _pyjks()
    kind_name = "JCEKS" if data[:4] == jks.MAGIC_NUMBER_JCEKS else "JKS"
    try:
        raw = jks.KeyStore.loads(data, _text(password) if password is not None else None)
    except jks.util.KeystoreSignatureException as exc:
        raise KeystorePasswordError(
            f"Could not open the {kind_name} keystore: the password does not match",
            ("The store password is wrong.", "The file was altered or damaged after it was written."),
        ) from exc
    except _read_errors() as exc:
        raise KeystoreOpenError(
            f"Could not read the {kind_name} keystore",
            ("The file is damaged or truncated.", "The store password may be wrong.", f"Details: {exc}"),
        ) from exc
    kind = StoreKind.JCEKS if raw.store_type == "jceks" else StoreKind.JKS
    entries: list[Entry] = []
    notes: list[str] = []
    for alias, item in raw.entries.items():
        if isinstance(item, jks.TrustedCertEntry):
            entries.append(TrustedCertEntry(alias, _certs([("X.509", item.cert)], alias)[0], _created(item.timestamp)))
        elif isinstance(item, jks.PrivateKeyEntry):
            entries.append(_key_entry(alias, item, key_passwords))
        else:
            notes.append(f"The secret-key entry '{alias}' was skipped: only key pairs and certificates are supported.")
    return Keystore(kind, tuple(entries), tuple(notes))


def _key_entry(alias: str, item: jks.PrivateKeyEntry, key_passwords: KeyPasswords) -> PrivateKeyEntry:
    own_password: bytes | None = None
    if not item.is_decrypted():
        own_password = key_password_for(key_passwords, alias)
        if own_password is None:
            return PrivateKeyEntry(alias, None, _certs(item.cert_chain, alias), _created(item.timestamp),
                                   sealed=item._encrypted)
        try:
            item.decrypt(_text(own_password))
        except _read_errors() as exc:
            raise PasswordError(f"The key password for '{alias}' is wrong",
                                ("Give the password set with keytool -keypass for this entry.",)) from exc
    try:
        key = serialization.load_der_private_key(item.pkey_pkcs8, password=None)
    except ValueError as exc:
        raise KeystoreOpenError(f"The private key of '{alias}' is damaged or of an unsupported type",
                                (str(exc),)) from exc
    return PrivateKeyEntry(alias, key, _certs(item.cert_chain, alias), _created(item.timestamp),
                           key_password=own_password)


def dump_jks_store(store: Keystore, password: bytes) -> bytes:
    """Write a JKS file keytool and Java read; keys keep their own key password when they have one.

    Raises:
        PasswordError: no store password.
        KeystoreError: two aliases differ only in case (JKS lower-cases them), or pyjks refused an entry.
    """
    if not password:
        raise PasswordError("A JKS store needs a password", ("keytool asks for at least 6 characters.",))
    items = []
    seen: dict[str, str] = {}
    for entry in store.entries:
        alias = entry.alias.lower()
        if alias in seen:
            raise KeystoreError(
                f"The aliases '{seen[alias]}' and '{entry.alias}' become the same in JKS, which stores aliases "
                "in lower case",
                ("The alias is the unique identifier for every keystore or truststore entry.",
                 "Rename one of them first, or keep the store as PKCS#12."))
        seen[alias] = entry.alias
        items.append(_jks_item(alias, entry, password))
    try:
        saved: bytes = _pyjks().KeyStore.new("jks", items).saves(_text(password))
        return saved
    except _read_errors() as exc:
        raise KeystoreError("Could not write the JKS keystore", (str(exc),)) from exc


def _jks_item(alias: str, entry: Entry, password: bytes) -> jks.AbstractKeystoreEntry:
    jks = _pyjks()
    stamp = _millis(entry.created)
    if isinstance(entry, TrustedCertEntry):
        item = jks.TrustedCertEntry.new(alias, entry.cert.public_bytes(serialization.Encoding.DER))
        item.timestamp = stamp
        return item
    chain = [c.public_bytes(serialization.Encoding.DER) for c in entry.chain]
    if entry.key is None:
        return jks.PrivateKeyEntry(alias=alias, timestamp=stamp, cert_chain=[("X.509", d) for d in chain],
                                   encrypted=entry.sealed)
    pkcs8 = entry.key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    item = jks.PrivateKeyEntry.new(alias, chain, pkcs8, key_format="pkcs8")
    item.timestamp = stamp
    item.encrypt(_text(entry.key_password or password))
    return item
