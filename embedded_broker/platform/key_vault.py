"""The platform's private keys sealed at rest: AES-256-GCM under a data key kept in `secret.key`, not in the DB.

The server CA key, the server key and the token-signing key live in the `meta` table of platform.db. Sealed, a
copied database, WAL or backup (or `strings` on them) shows no key; forging admin tokens would need `secret.key`
as well. Ephemeral (in-memory) platforms seal with a random key that never leaves memory. Keys written in clear by
older versions are sealed on the first start, and the clear copies are scrubbed from the database files.
"""

from __future__ import annotations

import base64
import os
import threading
import weakref
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from embedded_broker.errors import BrokerError
from embedded_broker.private_files import create_exclusive, restrict
from embedded_broker.store import Store

SECRET_FILE = "secret.key"
_PREFIX = "sealed:v1:"
_KEY_BYTES = 32
_NONCE_BYTES = 12
_CLEAR_KEY = "-----BEGIN %PRIVATE KEY-----%"  # LIKE pattern of a PEM private key stored in clear by older versions
_vaults: weakref.WeakKeyDictionary[Store, KeyVault] = weakref.WeakKeyDictionary()
_vaults_lock = threading.Lock()


def is_sealed(value: str) -> bool:
    """Whether a stored value is sealed by this module (anything else was stored in clear)."""
    return value.startswith(_PREFIX)


class KeyVault:
    """Seals and unseals values with the data key of one data folder (or of one in-memory platform)."""

    def __init__(self, key_file: Path | None) -> None:
        self.key_file = key_file
        self._key: bytes | None = None if key_file is not None else AESGCM.generate_key(bit_length=256)
        self._lock = threading.Lock()

    def _data_key(self, create: bool) -> bytes:
        with self._lock:
            if self._key is not None:
                return self._key
            assert self.key_file is not None
            if create and not self.key_file.exists():
                create_exclusive(self.key_file, AESGCM.generate_key(bit_length=256))
            try:
                restrict(self.key_file)
                key = self.key_file.read_bytes()
            except FileNotFoundError:
                raise BrokerError(f"the local platform's data key {self.key_file} is missing, so the keys in "
                                  "platform.db cannot be read; put the secret.key that belongs to this folder back, "
                                  "or start afresh with --reset") from None
            except OSError as exc:
                raise BrokerError(f"cannot read the local platform's data key {self.key_file}: {exc.strerror}") \
                    from None
            if len(key) != _KEY_BYTES:
                raise BrokerError(f"the local platform's data key {self.key_file} is damaged ({len(key)} bytes, "
                                  f"not {_KEY_BYTES}); put the right one back, or start afresh with --reset")
            self._key = key
            return key

    def seal(self, name: str, plain: str) -> str:
        """`plain` encrypted and authenticated, bound to its slot `name` (a sealed value cannot be moved)."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self._data_key(create=True)).encrypt(nonce, plain.encode(), name.encode())
        return _PREFIX + base64.b64encode(nonce + sealed).decode()

    def unseal(self, name: str, stored: str) -> str:
        """The clear text of a sealed value (a value stored in clear is returned as is).

        Raises:
            BrokerError: the data key is missing, damaged or belongs to another folder.
        """
        if not is_sealed(stored):
            return stored
        raw = base64.b64decode(stored.removeprefix(_PREFIX))
        try:
            return AESGCM(self._data_key(create=False)).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:],
                                                                name.encode()).decode()
        except (InvalidTag, ValueError):
            raise BrokerError(f"the local platform's data key {self.key_file} does not open the keys in "
                              "platform.db (another folder's secret.key?); put the right one back, or start "
                              "afresh with --reset") from None


def vault_for(store: Store) -> KeyVault:
    """The vault of a store: `secret.key` next to its database file, or a random key for an in-memory store."""
    with _vaults_lock:
        vault = _vaults.get(store)
        if vault is None:
            vault = KeyVault(None if store.path is None else store.path.parent / SECRET_FILE)
            _vaults[store] = vault
        return vault


def get_secret(store: Store, name: str) -> str | None:
    """The clear text of the secret `name` in the store's meta table; None when there is none yet.

    A value written in clear by an older version seals every clear key first (once, on the first start).
    """
    stored = store.get_meta(name)
    if stored is None:
        return None
    if not is_sealed(stored):
        seal_clear_keys(store)
        return stored
    return vault_for(store).unseal(name, stored)


def set_secret(store: Store, name: str, value: str) -> None:
    """Store the secret `name` sealed (call inside a transaction when it goes with other writes)."""
    store.set_meta(name, vault_for(store).seal(name, value))


def seal_clear_keys(store: Store) -> int:
    """Seal every PEM private key stored in clear, then scrub the clear copies from the files; how many were sealed."""
    vault = vault_for(store)
    with store.transaction():
        rows = store.all("SELECT key, value FROM meta WHERE value LIKE ?", (_CLEAR_KEY,))
        for row in rows:
            store.set_meta(row["key"], vault.seal(row["key"], row["value"]))
    if rows:
        store.scrub()
    return len(rows)
