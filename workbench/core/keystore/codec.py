"""Bytes ⇄ Keystore for every format, chosen from the bytes; plus the fast one-call writers fleet issuance uses."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from workbench.errors import KeystoreError, KeystoreOpenError, UnsupportedFormatError

from .detect import detect_format
from .jks import KeyPasswords, dump_jks_store, load_jks_store
from .model import DEVICE_ALIAS, TRUST_ALIAS, Keystore, PrivateKeyEntry, StoreKind, TrustedCertEntry, bundle_aliases
from .pem import load_pem_store
from .pkcs12 import Pkcs12Options, dump_pkcs12_store, load_pkcs12_store


def load_keystore(data: bytes, password: bytes | None, *, key_passwords: KeyPasswords = None,
                  expected: StoreKind | None = None, what: str = "The file") -> Keystore:
    """Read a keystore of any supported format, detected from the content (never from the file name).

    ``expected`` adds a clear message when, say, a JKS file is given where PKCS#12 was asked for.

    Raises:
        UnsupportedFormatError: not a keystore we read, or not the expected kind.
        KeystorePasswordError / KeystoreOpenError: wrong password or damaged file (both are named).
        PasswordError: a JKS key password was given and is wrong; a PEM key needs a password.
    """
    kind = detect_format(data, what)
    if expected is not None and kind is not expected and not (
            expected is StoreKind.JKS and kind is StoreKind.JCEKS):
        raise UnsupportedFormatError(
            f"{what} is {kind.label}, not {expected.label}",
            (f"Open it as {kind.label}, or convert it first (workbench keystore convert).",))
    if kind is StoreKind.PKCS12:
        return load_pkcs12_store(data, password)
    if kind in (StoreKind.JKS, StoreKind.JCEKS):
        return load_jks_store(data, password, key_passwords)
    return load_pem_store(data, password)


def dump_keystore(store: Keystore, password: bytes, kind: StoreKind | None = None,
                  options: Pkcs12Options | None = None) -> bytes:
    """Serialise a store as PKCS#12 or JKS (``kind`` defaults to the store's own).

    Raises:
        KeystoreError: JCEKS or PEM asked for (read-only here), or an entry cannot be written.
        PasswordError: no password, or a sealed JKS key that must be re-encrypted.
    """
    kind = kind or store.kind
    if kind is StoreKind.PKCS12:
        return dump_pkcs12_store(store, password, options)
    if kind is StoreKind.JKS:
        return dump_jks_store(store, password)
    raise KeystoreError(f"Writing {kind.label} stores is not supported",
                        ("Save it as PKCS#12 (recommended by Java since version 9) or JKS.",))


def build_device_keystore(key: PrivateKeyTypes, chain: Sequence[x509.Certificate], password: bytes,
                          kind: str = "pkcs12", alias: str = DEVICE_ALIAS, *, legacy: bool = False) -> bytes:
    """The guide's device keystore in one call (`openssl pkcs12 -export -name devicekeyentry ...`): key + chain.

    Raises:
        KeystoreError: empty chain or an unknown kind; PasswordError: no password.
    """
    if not chain:
        raise KeystoreError("A device keystore needs the device certificate", ("Pass the chain, leaf first.",))
    store_kind = StoreKind.parse(kind)
    store = Keystore(store_kind).with_entry(PrivateKeyEntry(alias, key, tuple(chain)))
    return dump_keystore(store, password, store_kind, Pkcs12Options(legacy=legacy))


def build_truststore(certs: Sequence[x509.Certificate], password: bytes, kind: str = "pkcs12",
                     alias: str = TRUST_ALIAS, *, legacy: bool = False) -> bytes:
    """A truststore Java lists as trustedCertEntry: alias, alias-2, ... for several certificates.

    Raises:
        KeystoreError: no certificate or an unknown kind; PasswordError: no password.
    """
    if not certs:
        raise KeystoreError("A truststore needs at least one certificate", ("Give the server or CA certificate.",))
    store_kind = StoreKind.parse(kind)
    store = Keystore(store_kind)
    for name, cert in zip(bundle_aliases(alias, len(certs)), certs, strict=True):
        store = store.with_entry(TrustedCertEntry(name, cert))
    return dump_keystore(store, password, store_kind, Pkcs12Options(legacy=legacy))


def reopen_check(data: bytes, password: bytes) -> None:
    """Read back what we are about to write, so a bug never replaces a good file with a bad one.

    Raises:
        KeystoreError: the fresh bytes do not open.
    """
    try:
        load_keystore(data, password, key_passwords=lambda _alias: None)
    except KeystoreOpenError as exc:  # pragma: no cover - would be our bug
        raise KeystoreError("The new keystore did not read back; the old file was kept", exc.causes) from exc
