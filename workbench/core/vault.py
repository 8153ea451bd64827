"""An encrypted file of secrets for machines without an OS keyring: one passphrase unlocks it once per session.

Format (JSON, version 1): the KDF and its parameters (scrypt, a random 16-byte salt), a 12-byte nonce and the
AES-256-GCM ciphertext of the JSON map ``{key: secret}``; the header is authenticated data, so a changed KDF
parameter fails like a wrong passphrase. The file is written atomically, mode 0600, with a fresh nonce each time.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from workbench.core.files import write_atomic
from workbench.errors import InvalidInputError, PasswordError

VAULT_FORMAT = "workbench-secret-vault"
VAULT_VERSION = 1
VAULT_FILE_NAME = "secrets.vault"
# scrypt with N=2^15, r=8, p=1: ~32 MiB and roughly 0.1 s per unlock; OWASP's minimum for scrypt is N=2^17 at
# r=8/p=1 for *stored password hashes*, but a vault is unlocked interactively once per session, so N=2^15 keeps the
# start snappy on slow laptops while a guess still costs 32 MiB of memory.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_PASSPHRASE = 8


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    return base64.b64decode(text, validate=True)


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())


def _header_aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


@dataclass
class Vault:
    """An unlocked vault: its entries in memory and the key that re-encrypts them on every change."""

    path: Path
    _key: bytes = field(repr=False)
    _header: dict[str, Any] = field(repr=False)
    _entries: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def create(cls, path: Path, passphrase: str) -> Vault:
        """A new, empty vault file.

        Raises:
            InvalidInputError: the passphrase is too short, or a vault already exists there.
            WorkbenchError: the file cannot be written.
        """
        if len(passphrase) < MIN_PASSPHRASE:
            raise InvalidInputError(f"The vault passphrase needs at least {MIN_PASSPHRASE} characters",
                                    ("Choose a longer passphrase; it protects every password in the vault.",))
        if path.exists():
            raise InvalidInputError(f"A secret vault already exists at {path}", ("Unlock it instead.",))
        salt = os.urandom(16)
        header = {"format": VAULT_FORMAT, "version": VAULT_VERSION,
                  "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)}}
        vault = cls(path, _derive(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P), header)
        vault._write()
        return vault

    @classmethod
    def unlock(cls, path: Path, passphrase: str) -> Vault:
        """Open an existing vault.

        Raises:
            PasswordError: the passphrase is wrong (or the file was altered).
            InvalidInputError: the file is not a vault this version reads.
        """
        try:
            document = json.loads(path.read_bytes())
            header = {k: document[k] for k in ("format", "version", "kdf")}
            kdf = header["kdf"]
            if header["format"] != VAULT_FORMAT or header["version"] != VAULT_VERSION or kdf.get("name") != "scrypt":
                raise ValueError("unknown format or version")
            n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
            if not (2 <= n <= 2**20 and 1 <= r <= 32 and 1 <= p <= 16):
                raise ValueError("KDF parameters out of range")
            salt, nonce, ciphertext = _unb64(kdf["salt"]), _unb64(document["nonce"]), _unb64(document["ciphertext"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidInputError(f"{path} is not a readable secret vault",
                                    (str(exc) or type(exc).__name__,
                                     "Move it away to start a new vault (its passwords are then lost).")) from exc
        key = _derive(passphrase, salt, n, r, p)
        try:
            plain = AESGCM(key).decrypt(nonce, ciphertext, _header_aad(header))
        except InvalidTag as exc:
            raise PasswordError("The vault passphrase is wrong",
                                ("Type the passphrase chosen when the vault was created.",)) from exc
        entries = json.loads(plain)
        return cls(path, key, header, {str(k): str(v) for k, v in entries.items()})

    def _write(self) -> None:
        nonce = os.urandom(12)
        plain = json.dumps(self._entries, sort_keys=True).encode()
        ciphertext = AESGCM(self._key).encrypt(nonce, plain, _header_aad(self._header))
        document = self._header | {"nonce": _b64(nonce), "ciphertext": _b64(ciphertext)}
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(self.path, json.dumps(document, indent=2).encode(), mode=0o600)

    def get(self, key: str) -> str | None:
        """One secret, or None."""
        return self._entries.get(key)

    def set(self, key: str, value: str) -> None:
        """Keep a secret (the file is rewritten before this returns)."""
        if self._entries.get(key) == value:
            return
        self._entries[key] = value
        self._write()

    def delete(self, key: str) -> None:
        """Forget a secret; a missing one is not an error."""
        if self._entries.pop(key, None) is not None:
            self._write()

    def keys(self) -> list[str]:
        """The keys held (for tests and diagnostics; never the values)."""
        return sorted(self._entries)
