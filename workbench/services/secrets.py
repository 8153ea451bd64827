"""The secret store as the pages and the CLI speak of it: where a secret went (in words that are true for this
session's store), and a CA's generated password shown or reset, so no CA is ever left with a password nobody has."""

from __future__ import annotations

import secrets as random_secrets
from dataclasses import dataclass, field
from pathlib import Path

from workbench.core.pki.store import CAStore
from workbench.core.profiles.secrets import KEPT_PHRASE, SecretStore, StoreKind
from workbench.errors import PasswordError
from workbench.services.ca_passwords import CAPasswords, remember_ca_password, stored_ca_password

__all__ = ["KEPT_PHRASE", "StoreKind"]


def generate_password() -> str:
    """A fresh password for a key nobody typed one for (128 bits, URL-safe text)."""
    return random_secrets.token_urlsafe(16)


def kept_phrase(store: SecretStore | None = None) -> str:
    """"kept in the system keyring", "kept in the encrypted vault" or "kept for this session only"."""
    return (store or SecretStore()).kept


def where_it_went(password: str, store: SecretStore | None = None) -> str:
    """What to print after keeping a generated password: the store, or the password itself when only this session
    keeps it (so it is shown once and can be written down)."""
    store = store or SecretStore()
    if store.kind is StoreKind.KEYRING:
        return "kept in the system keyring"
    if store.kind is StoreKind.VAULT:
        return f"kept in the encrypted vault {store.session.vault_file}"
    return f"shown once: {password} (kept for this session only; no keyring and no vault)"


def show_ca_password(name: str, store: SecretStore | None = None) -> str:
    """The stored password of a CA's key (the caller has asked the user to confirm).

    Raises:
        PasswordError: nothing is stored for that CA.
    """
    stored = stored_ca_password(name, store)
    if not stored:
        raise PasswordError(f"No password is stored for the CA '{name}'",
                            (f"This session's store: {kept_phrase(store)}.",
                             "If you know the password, use it once (it is then remembered); if nobody does, the "
                             "CA key cannot be opened and the CA must be replaced."))
    return stored


@dataclass(frozen=True)
class PasswordReset:
    """A CA key re-encrypted: the new password and where it is kept."""

    name: str
    password: str = field(repr=False)
    kept: StoreKind


def reset_ca_password(workspace: Path, name: str, passwords: CAPasswords, store: SecretStore | None = None,
                      new_password: str | None = None) -> PasswordReset:
    """Re-encrypt a CA's key in the CA store with a new (by default generated) password and keep that one.

    The current password comes from ``passwords`` (the store first, then asked, as for any CA verb).

    Raises:
        PasswordError: the current password does not open the key; CAStoreError: no such CA.
    """
    store = store or SecretStore()
    new = new_password or generate_password()
    current = passwords(name)
    with CAStore(workspace) as ca_store:
        ca_store.change_key_password(name, current, new.encode())
    remember_ca_password(name, new.encode(), store)
    return PasswordReset(name, new, store.kind)
