"""Tell a keystore's format from its bytes: a file called .p12 may well be JKS, and the error must say so."""

from __future__ import annotations

import re

from workbench.errors import UnsupportedFormatError

from .model import StoreKind

JKS_MAGIC = b"\xfe\xed\xfe\xed"
JCEKS_MAGIC = b"\xce\xce\xce\xce"
_PFX_VERSION = b"\x02\x01\x03"  # PFX ::= SEQUENCE { version INTEGER {v3(3)}, ... }
# A sealed PEM key: PKCS#8 "BEGIN ENCRYPTED PRIVATE KEY", or a traditional key with "Proc-Type: 4,ENCRYPTED".
_SEALED_PEM_KEY = re.compile(rb"-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type:[ \t]*4,ENCRYPTED", re.M)


def _looks_like_pfx(data: bytes) -> bool:
    """A DER (or BER, as Windows writes) SEQUENCE whose first element is INTEGER 3."""
    if len(data) < 8 or data[0] != 0x30:
        return False
    first = data[1]
    offset = 2 if first <= 0x80 else 2 + (first & 0x7F)  # 0x80: BER indefinite length
    return data[offset:offset + 3] == _PFX_VERSION


def sniff_format(data: bytes) -> StoreKind | None:
    """The store format the bytes are in, or None when they are none of ours."""
    if data.startswith(JKS_MAGIC):
        return StoreKind.JKS
    if data.startswith(JCEKS_MAGIC):
        return StoreKind.JCEKS
    if _looks_like_pfx(data):
        return StoreKind.PKCS12
    if b"-----BEGIN " in data:
        return StoreKind.PEM
    return None


def detect_format(data: bytes, what: str = "The file") -> StoreKind:
    """The format of a keystore file, from its content.

    Raises:
        UnsupportedFormatError: empty or unrecognised bytes; the message says what was expected.
    """
    if not data:
        raise UnsupportedFormatError(f"{what} is empty", ("Check that the right file was chosen and fully copied.",))
    kind = sniff_format(data)
    if kind is None:
        if data[:1] == b"0":
            raise UnsupportedFormatError(
                f"{what} is DER data but not a PKCS#12 keystore",
                ("It may be a single DER certificate or key: convert it to PEM first.",
                 "It may be a damaged or truncated keystore."))
        raise UnsupportedFormatError(
            f"{what} is not a keystore we can read",
            ("Expected PKCS#12 (.p12/.pfx), JKS, JCEKS or a PEM bundle.",
             "BKS/UBER (Bouncy Castle) stores are not supported: convert them with keytool.",
             "The file may be damaged or truncated."))
    return kind


def needs_password(data: bytes, kind: StoreKind) -> bool:
    """Whether opening the store needs a password at all: PKCS#12 and JKS always ask (their integrity is sealed by
    it), a PEM bundle only when its private key is encrypted, so a plain key + chain opens without a prompt."""
    if kind is not StoreKind.PEM:
        return True
    return _SEALED_PEM_KEY.search(data) is not None
