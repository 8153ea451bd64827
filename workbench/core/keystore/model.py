"""One Keystore model for every format, so editing, listing and conversion never care how the bytes looked.

A store is an immutable value; every verb returns a new store. Aliases are unique without regard to case, as in
Java's keystores ("alias is the unique identifier for every keystore or truststore entry", the guide says).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from enum import Enum

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from workbench.errors import InvalidInputError, KeystoreError, PasswordError

DEVICE_ALIAS = "devicekeyentry"
TRUST_ALIAS = "servercertificate"


class StoreKind(Enum):
    """The container formats we understand; JCEKS is read-only (pyjks cannot write it)."""

    PKCS12 = "pkcs12"
    JKS = "jks"
    JCEKS = "jceks"
    PEM = "pem"

    @property
    def label(self) -> str:
        """The name keytool prints as 'Keystore type'."""
        return self.value.upper()

    @property
    def lowercases_aliases(self) -> bool:
        """JKS and JCEKS keep aliases in lower case (Java does it, and pyjks' PrivateKeyEntry.new too)."""
        return self in (StoreKind.JKS, StoreKind.JCEKS)

    @classmethod
    def parse(cls, text: str) -> StoreKind:
        """Accept what people type: 'pkcs12', 'p12', 'pfx', 'jks', 'pem'.

        Raises:
            InvalidInputError: not a store type.
        """
        norm = text.strip().lower().replace("#", "").replace("-", "")
        norm = {"p12": "pkcs12", "pfx": "pkcs12"}.get(norm, norm)
        for kind in cls:
            if kind.value == norm:
                return kind
        raise InvalidInputError(f"Unknown store type '{text}'", ("Choose pkcs12 or jks.",))


@dataclass(frozen=True)
class PrivateKeyEntry:
    """A key with its certificate chain (leaf first). ``key`` is None while a JKS key password is still unknown."""

    alias: str
    key: PrivateKeyTypes | None = field(repr=False)
    chain: tuple[x509.Certificate, ...]
    created: datetime.datetime | None = None
    key_password: bytes | None = field(default=None, repr=False)  # JKS only; None means the store password
    sealed: bytes | None = field(default=None, repr=False)  # a JKS key blob we could not open (kept as is)

    @property
    def certificate(self) -> x509.Certificate:
        """The key's own certificate."""
        return self.chain[0]

    @property
    def locked(self) -> bool:
        """True when the key could not be decrypted (its JKS key password differs and was not given)."""
        return self.key is None

    def require_key(self) -> PrivateKeyTypes:
        """The key, or a clear error naming the missing key password.

        Raises:
            PasswordError: the entry is still encrypted with its own key password.
        """
        if self.key is None:
            raise PasswordError(
                f"The key '{self.alias}' has its own key password, different from the store password",
                ("Give the key password (keytool's -keypass) for this entry.",),
            )
        return self.key


@dataclass(frozen=True)
class TrustedCertEntry:
    """A certificate trusted on its own (keytool's trustedCertEntry)."""

    alias: str
    cert: x509.Certificate
    created: datetime.datetime | None = None


Entry = PrivateKeyEntry | TrustedCertEntry


def entry_type(entry: Entry) -> str:
    """keytool's name for the entry type."""
    return "PrivateKeyEntry" if isinstance(entry, PrivateKeyEntry) else "trustedCertEntry"


def _check_alias(alias: str) -> str:
    alias = alias.strip()
    if not alias:
        raise InvalidInputError("An alias cannot be empty", ("Choose a name such as 'devicekeyentry'.",))
    if any(ch in alias for ch in "\r\n\t"):
        raise InvalidInputError(f"The alias {alias!r} contains a line break or tab", ("Use a single-line name.",))
    return alias


def _collision(alias: str, existing: str) -> KeystoreError:
    same = "" if alias == existing else f" (aliases ignore case: it clashes with '{existing}')"
    return KeystoreError(
        f"The alias '{alias}' is already used in this store{same}",
        ("The alias is the unique identifier for every keystore or truststore entry.",
         "Choose another alias, or delete or rename the existing entry first."),
    )


@dataclass(frozen=True)
class Keystore:
    """An ordered set of entries in one container format; verbs return a new store and never mutate."""

    kind: StoreKind
    entries: tuple[Entry, ...] = ()
    notes: tuple[str, ...] = ()  # what reading noticed: ignored certificates, skipped secret keys

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def aliases(self) -> tuple[str, ...]:
        return tuple(e.alias for e in self.entries)

    def find(self, alias: str) -> Entry | None:
        """The entry with this alias (case-insensitive), or None."""
        wanted = alias.strip().lower()
        return next((e for e in self.entries if e.alias.lower() == wanted), None)

    def get(self, alias: str) -> Entry:
        """The entry with this alias.

        Raises:
            KeystoreError: no such alias; the message lists the aliases that exist.
        """
        entry = self.find(alias)
        if entry is None:
            present = ", ".join(self.aliases) or "none: the store is empty"
            raise KeystoreError(f"There is no entry '{alias}' in this store", (f"Aliases present: {present}.",))
        return entry

    def stored_alias(self, alias: str) -> str:
        """The alias as this format will store it (lower case for JKS)."""
        alias = _check_alias(alias)
        return alias.lower() if self.kind.lowercases_aliases else alias

    def with_entry(self, entry: Entry) -> Keystore:
        """Add an entry, refusing an alias already in use.

        Raises:
            KeystoreError: the alias exists (the guide: the alias is the unique identifier for every entry).
            InvalidInputError: the alias is empty or has line breaks.
        """
        alias = self.stored_alias(entry.alias)
        clash = self.find(alias)
        if clash is not None:
            raise _collision(entry.alias, clash.alias)
        return replace(self, entries=(*self.entries, replace(entry, alias=alias)))

    def without(self, alias: str) -> Keystore:
        """Delete one entry.

        Raises:
            KeystoreError: no such alias.
        """
        target = self.get(alias)
        return replace(self, entries=tuple(e for e in self.entries if e is not target))

    def renamed(self, old: str, new: str) -> Keystore:
        """Rename an entry in place (its position is kept).

        Raises:
            KeystoreError: ``old`` is missing or ``new`` is taken.
        """
        target = self.get(old)
        new_alias = self.stored_alias(new)
        clash = self.find(new_alias)
        if clash is not None and clash is not target:
            raise _collision(new, clash.alias)
        return self.replaced(target, replace(target, alias=new_alias))

    def replaced(self, old: Entry, new: Entry) -> Keystore:
        """Swap one entry object for another at the same position."""
        return replace(self, entries=tuple(new if e is old else e for e in self.entries))

    def key_entries(self) -> tuple[PrivateKeyEntry, ...]:
        return tuple(e for e in self.entries if isinstance(e, PrivateKeyEntry))

    def trusted_entries(self) -> tuple[TrustedCertEntry, ...]:
        return tuple(e for e in self.entries if isinstance(e, TrustedCertEntry))


def bundle_aliases(base: str, count: int) -> list[str]:
    """Aliases for several certificates imported under one name: base, base-2, base-3, ..."""
    return [base if i == 0 else f"{base}-{i + 1}" for i in range(count)]
