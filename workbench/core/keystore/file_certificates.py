"""Certificates from whatever file a user drops: a PEM or DER certificate, a chain, or a PKCS#12/JKS keystore."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from workbench.core.pki.certio import load_certificates
from workbench.errors import UnsupportedFormatError

from .codec import load_keystore
from .detect import sniff_format
from .model import PrivateKeyEntry, StoreKind


@dataclass(frozen=True)
class FileCertificates:
    """What a file holds: its certificates (key entries' chains first), its format, and the aliases."""

    certificates: tuple[x509.Certificate, ...]
    kind: str
    aliases: tuple[str, ...] = ()


def needs_password(data: bytes) -> bool:
    """A PKCS#12 or JKS keystore: opening it takes the store password."""
    return sniff_format(data) in (StoreKind.PKCS12, StoreKind.JKS, StoreKind.JCEKS)


def file_certificates(data: bytes, password: bytes | None = None, what: str = "The file") -> FileCertificates:
    """Read every certificate a file holds, so inspecting never depends on knowing the format first.

    Raises:
        UnsupportedFormatError: no certificate and no keystore in the bytes.
        KeystorePasswordError / KeystoreOpenError: a keystore with a wrong password, or damaged.
    """
    if not needs_password(data):
        try:
            return FileCertificates(tuple(load_certificates(data, what.removeprefix("The ").lower())),
                                    "PEM" if b"-----BEGIN" in data else "DER")
        except UnsupportedFormatError:
            if b"-----BEGIN" not in data:
                raise
    store = load_keystore(data, password, what=what)
    certs: list[x509.Certificate] = []
    for entry in store:
        chain = entry.chain if isinstance(entry, PrivateKeyEntry) else (entry.cert,)
        certs.extend(c for c in chain if c not in certs)
    if not certs:
        raise UnsupportedFormatError(f"{what} holds no certificate", ("Pick a file with a certificate or a chain.",))
    return FileCertificates(tuple(certs), store.kind.label, store.aliases)
