"""PEM bundles as stores: a key with its chain (the guide's deviceKey.pem + deviceCertChain.pem), or a list of
trusted certificates; and PEM export of single entries."""

from __future__ import annotations

import re

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from workbench.core.pki.certio import load_certificates
from workbench.core.pki.keys import dump_private_key_pem, load_private_key
from workbench.errors import InvalidInputError, UnsupportedFormatError

from .chains import key_chain
from .model import (
    DEVICE_ALIAS,
    TRUST_ALIAS,
    Entry,
    Keystore,
    PrivateKeyEntry,
    StoreKind,
    TrustedCertEntry,
    bundle_aliases,
)

_KEY_BLOCK = re.compile(rb"-----BEGIN ((?:ENCRYPTED |RSA |EC )?PRIVATE KEY)-----.*?-----END \1-----\r?\n?", re.S)


def split_pem(data: bytes) -> tuple[list[bytes], list[x509.Certificate]]:
    """The private-key blocks and the certificates of a PEM file."""
    keys = [m.group(0) for m in _KEY_BLOCK.finditer(data)]
    rest = _KEY_BLOCK.sub(b"", data)
    certs = load_certificates(rest, "PEM bundle") if b"BEGIN CERTIFICATE" in rest else []
    return keys, certs


def load_pem_store(data: bytes, password: bytes | None = None, *, key_alias: str = DEVICE_ALIAS,
                   trust_alias: str = TRUST_ALIAS) -> Keystore:
    """Read a PEM bundle: a key plus its chain becomes one key entry; certificates alone become trusted entries.

    Raises:
        PasswordError / KeyMaterialError: the key is encrypted and the password is missing or wrong.
        UnsupportedFormatError: no certificate in the file, or more than one key.
    """
    keys, certs = split_pem(data)
    if len(keys) > 1:
        raise UnsupportedFormatError(f"The PEM bundle holds {len(keys)} private keys",
                                     ("Give one key with its chain per file.",))
    if not certs:
        raise UnsupportedFormatError("The PEM bundle has no certificate",
                                     ("A keystore entry needs the certificate: add the chain PEM.",))
    entries: list[Entry] = []
    if keys:
        key = load_private_key(keys[0], password)
        chain = key_chain(key, certs)
        entries.append(PrivateKeyEntry(key_alias, key, tuple(chain)))
        others = [c for c in certs if c not in chain]
    else:
        others = certs
    names = bundle_aliases(trust_alias, len(others))
    entries.extend(TrustedCertEntry(alias, cert) for alias, cert in zip(names, others, strict=True))
    return Keystore(StoreKind.PEM, tuple(entries))


def certificate_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def export_entry_pem(entry: Entry, part: str, key_password: bytes | None = None) -> bytes:
    """One entry as PEM: 'cert' (the certificate), 'chain' (leaf first) or 'key' (encrypted unless no password).

    Raises:
        InvalidInputError: an unknown part, or a key asked of a trusted-certificate entry.
        PasswordError: the key is still sealed by its own JKS key password.
    """
    if part == "cert":
        return certificate_pem(entry.cert if isinstance(entry, TrustedCertEntry) else entry.certificate)
    if part == "chain":
        certs = (entry.cert,) if isinstance(entry, TrustedCertEntry) else entry.chain
        return b"".join(certificate_pem(c) for c in certs)
    if part == "key":
        if not isinstance(entry, PrivateKeyEntry):
            raise InvalidInputError(f"'{entry.alias}' is a trusted certificate and has no private key",
                                    ("Export 'cert' instead, or pick a PrivateKeyEntry.",))
        key = entry.require_key()
        return dump_private_key_pem(key, key_password)  # type: ignore[arg-type]
    raise InvalidInputError(f"Unknown part '{part}'", ("Choose cert, chain or key.",))
