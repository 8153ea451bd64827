"""The keystore verbs the CLI and the editor offer, each returning the new store plus what the user should know,
and the file side: open with clear errors, save atomically keeping one `.bak`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from workbench.core.files import write_atomic
from workbench.errors import InvalidInputError, KeystoreError, WorkbenchError

from .chains import key_chain
from .codec import dump_keystore, load_keystore, reopen_check
from .jks import KeyPasswords
from .model import Entry, Keystore, PrivateKeyEntry, StoreKind, TrustedCertEntry, bundle_aliases
from .pem import export_entry_pem
from .pkcs12 import Pkcs12Options

STORE_FILE_MODE = 0o600


@dataclass(frozen=True)
class Change:
    """A new store and the sentences to show about it (lower-cased aliases, dropped key passwords...)."""

    store: Keystore
    messages: tuple[str, ...] = ()


def _alias_message(store: Keystore, asked: str) -> tuple[str, ...]:
    stored = store.stored_alias(asked)
    if stored != asked.strip():
        return (f"{store.kind.label} keeps aliases in lower case: '{asked}' is stored as '{stored}'.",)
    return ()


def read_store_bytes(path: Path) -> bytes:
    """The bytes of a keystore file.

    Raises:
        InvalidInputError: the file is missing or unreadable.
    """
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise InvalidInputError(f"The keystore '{path}' does not exist", ("Check the path.",)) from exc
    except OSError as exc:
        raise InvalidInputError(f"Cannot read the keystore '{path}'", (exc.strerror or str(exc),)) from exc


def read_store(path: str | Path, password: bytes | None, *, key_passwords: KeyPasswords = None,
               expected: StoreKind | None = None) -> Keystore:
    """Open a keystore file of any format (detected from its bytes).

    Raises:
        InvalidInputError: the file is missing or unreadable.
        KeystoreOpenError / KeystorePasswordError / UnsupportedFormatError: see load_keystore.
    """
    p = Path(path)
    data = read_store_bytes(p)
    try:
        return load_keystore(data, password, key_passwords=key_passwords, expected=expected, what=f"'{p.name}'")
    except WorkbenchError as exc:
        if p.name in exc.summary:
            raise
        raise type(exc)(f"{exc.summary} ('{p}')", exc.causes) from exc


def save_store(path: str | Path, store: Keystore, password: bytes, *, kind: StoreKind | None = None,
               options: Pkcs12Options | None = None, keep_backup: bool = True) -> Path:
    """Write a store atomically (temp file, fsync, rename), keeping the previous file as `.bak` once.

    The bytes are read back before the rename, so a failure never replaces a good file.

    Raises:
        KeystoreError / PasswordError: the store cannot be written in that format.
        WorkbenchError: the folder is not writable or the disk is full (the old file is untouched).
    """
    data = dump_keystore(store, password, kind, options)
    reopen_check(data, password)
    return write_atomic(path, data, mode=STORE_FILE_MODE, keep_backup=keep_backup)


def add_key_pair(store: Keystore, alias: str, key: PrivateKeyTypes, certs: Sequence[x509.Certificate]) -> Change:
    """Add a key with its chain; the certificates may come in any order, the key's own one is found.

    Raises:
        KeystoreError: the alias is taken, or no certificate belongs to the key.
    """
    chain = key_chain(key, certs)
    messages = list(_alias_message(store, alias))
    left_out = [c for c in certs if c not in chain]
    if left_out:
        messages.append(f"{len(left_out)} certificate(s) are not in the key's chain and were not added to it.")
    if len(chain) == 1 and chain[0].issuer != chain[0].subject:
        messages.append("The chain holds only the device certificate: add the CA (and intermediate) certificates "
                        "so the server can build the path, as the guide's deviceCertChain.pem does.")
    new = store.with_entry(PrivateKeyEntry(alias, key, tuple(chain)))
    return Change(new, tuple(messages))


def add_trusted(store: Keystore, certs: Sequence[x509.Certificate], alias: str) -> Change:
    """Import one trusted certificate, or a whole PEM bundle as alias, alias-2, ...

    Raises:
        KeystoreError: an alias is taken (nothing is added then).
    """
    if not certs:
        raise InvalidInputError("There is no certificate to import", ("Give a PEM or DER certificate file.",))
    new = store
    for name, cert in zip(bundle_aliases(alias, len(certs)), certs, strict=True):
        new = new.with_entry(TrustedCertEntry(name, cert))
    added = new.aliases[len(store.aliases):]
    return Change(new, (*_alias_message(store, alias), f"Added trusted certificate(s): {', '.join(added)}."))


def rename_entry(store: Keystore, old: str, new_alias: str) -> Change:
    """keytool -changealias."""
    return Change(store.renamed(old, new_alias), _alias_message(store, new_alias))


def delete_entry(store: Keystore, alias: str) -> Change:
    """keytool -delete."""
    return Change(store.without(alias))


def set_key_password(store: Keystore, alias: str, new_password: bytes | None) -> Change:
    """Give a JKS key its own password (keytool -keypasswd); None makes it share the store password again.

    Raises:
        KeystoreError: the store is not JKS (PKCS#12 has one password; keytool ignores -keypass there).
        PasswordError: the key is still sealed by its old password.
    """
    if store.kind is not StoreKind.JKS:
        raise KeystoreError(f"A {store.kind.label} store has a single password for the store and its keys",
                            ("Only JKS keeps a separate key password; keytool ignores -keypass for PKCS#12.",
                             "Change the store password instead."))
    entry = store.get(alias)
    if not isinstance(entry, PrivateKeyEntry):
        raise KeystoreError(f"'{entry.alias}' is a trusted certificate and has no key password", ())
    entry.require_key()
    return Change(store.replaced(entry, replace(entry, key_password=new_password)))


def convert_store(store: Keystore, kind: StoreKind) -> Change:
    """JKS ⇄ PKCS#12 (JCEKS and PEM bundles too as sources), keeping every entry and saying what changes.

    Raises:
        KeystoreError: two aliases collide once lower-cased for JKS; the target is not writable.
        PasswordError: a JKS key with its own password was not unlocked.
    """
    if kind not in (StoreKind.PKCS12, StoreKind.JKS):
        raise KeystoreError(f"Converting to {kind.label} is not supported", ("Choose pkcs12 or jks.",))
    messages: list[str] = []
    entries: list[Entry] = []
    for entry in store.entries:
        if isinstance(entry, PrivateKeyEntry):
            entry.require_key()
            if kind is StoreKind.PKCS12 and entry.key_password is not None:
                messages.append(f"PKCS#12 has one password: the key '{entry.alias}' is now protected by the "
                                "store password instead of its own key password.")
                entry = replace(entry, key_password=None)
        entries.append(entry)
    target = Keystore(kind, (), store.notes)
    for entry in entries:
        messages.extend(_alias_message(target, entry.alias))
        target = target.with_entry(entry)
    return Change(target, tuple(messages))


def export_entry(store: Keystore, alias: str, part: str, key_password: bytes | None = None) -> bytes:
    """An entry's certificate, chain, or key (encrypted with ``key_password`` unless it is None) as PEM."""
    return export_entry_pem(store.get(alias), part, key_password)
