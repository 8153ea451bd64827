"""Reading and writing certificates and CSRs in PEM or DER, with errors that say what the file really is."""

from __future__ import annotations

import re

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from workbench.errors import CertificateError, UnsupportedFormatError

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\s.*?-----END \1-----", re.S)


def pem_labels(data: bytes) -> list[str]:
    """The PEM block labels in a file, in order (e.g. ['CERTIFICATE', 'ENCRYPTED PRIVATE KEY'])."""
    return [m.group(1).decode() for m in _PEM_BLOCK.finditer(data)]


def load_certificates(data: bytes, what: str = "certificate file") -> list[x509.Certificate]:
    """Read every certificate in a PEM bundle, or one DER certificate.

    Raises:
        UnsupportedFormatError: no certificate in the bytes; the message names what was found instead.
    """
    if b"-----BEGIN" in data:
        try:
            certs = x509.load_pem_x509_certificates(data) if b"BEGIN CERTIFICATE" in data else []
        except ValueError as exc:
            raise UnsupportedFormatError(f"The {what} has a damaged certificate block",
                                         ("Copy the PEM again, including the BEGIN/END lines.",)) from exc
        if certs:
            return certs
        found = ", ".join(pem_labels(data)) or "no complete PEM block"
        raise UnsupportedFormatError(f"The {what} contains no certificate (found: {found})",
                                     ("Pick the file with '-----BEGIN CERTIFICATE-----'.",))
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise UnsupportedFormatError(
            f"The {what} is not a PEM or DER certificate",
            ("It may be a keystore (PKCS#12/JKS): open it in the keystore editor.", "The file may be damaged."),
        ) from exc


def load_certificate(data: bytes, what: str = "certificate file") -> x509.Certificate:
    """Read exactly one certificate (the first of a bundle is taken only if it is the only one).

    Raises:
        UnsupportedFormatError: no certificate found.
        CertificateError: several certificates where one was expected.
    """
    certs = load_certificates(data, what)
    if len(certs) > 1:
        raise CertificateError(f"The {what} holds {len(certs)} certificates where one was expected",
                               ("Give a file with only that certificate, or use the chain tools.",))
    return certs[0]


def dump_certificates_pem(certs: list[x509.Certificate] | tuple[x509.Certificate, ...]) -> bytes:
    """Concatenate PEM blocks, as `cat a.pem b.pem > chain.pem` does in the guide."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def load_csr(data: bytes) -> x509.CertificateSigningRequest:
    """Read a PKCS#10 request in PEM or DER.

    Raises:
        UnsupportedFormatError: the bytes are not a CSR.
    """
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_csr(data)
        return x509.load_der_x509_csr(data)
    except ValueError as exc:
        found = ", ".join(pem_labels(data)) if b"-----BEGIN" in data else "binary data"
        raise UnsupportedFormatError(f"The file is not a certificate signing request (found: {found})",
                                     ("Expected '-----BEGIN CERTIFICATE REQUEST-----' or DER PKCS#10.",)) from exc
