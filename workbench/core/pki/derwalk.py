"""A tiny DER reader for the two TBSCertificate fields cryptography does not expose: the unique identifiers."""

from __future__ import annotations

from dataclasses import dataclass

_SEQUENCE = 0x30
_ISSUER_UID = 0x81  # [1] IMPLICIT BIT STRING
_SUBJECT_UID = 0x82  # [2] IMPLICIT BIT STRING
_ISSUER_UID_CONSTRUCTED = 0xA1
_SUBJECT_UID_CONSTRUCTED = 0xA2


class DerError(ValueError):
    """The bytes are not the DER this reader expects."""


@dataclass(frozen=True)
class Tlv:
    """One DER element: its tag byte and where its content sits in the buffer."""

    tag: int
    start: int
    end: int


def read_tlv(data: bytes, offset: int) -> Tlv:
    """Read the tag and length at ``offset`` (single-byte tags; definite lengths as DER requires).

    Raises:
        DerError: truncated or indefinite-length data.
    """
    if offset + 2 > len(data):
        raise DerError("truncated DER element")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-byte tags are not expected in a TBSCertificate")
    first = data[offset + 1]
    pos = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise DerError("bad DER length")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise DerError("DER element runs past the end")
    return Tlv(tag, pos, pos + length)


def children(data: bytes, parent: Tlv) -> list[Tlv]:
    """The elements inside a constructed element."""
    items = []
    offset = parent.start
    while offset < parent.end:
        item = read_tlv(data, offset)
        items.append(item)
        offset = item.end
    return items


def _bit_string_content(data: bytes, tlv: Tlv) -> bytes:
    """Content bytes of a BIT STRING, dropping the leading 'unused bits' count byte."""
    content = data[tlv.start:tlv.end]
    return content[1:] if content else b""


def unique_ids(tbs_der: bytes) -> tuple[bytes | None, bytes | None]:
    """The issuerUniqueID [1] and subjectUniqueID [2] of a TBSCertificate, as raw bytes, or None when absent.

    Raises:
        DerError: the bytes are not a DER SEQUENCE.
    """
    outer = read_tlv(tbs_der, 0)
    if outer.tag != _SEQUENCE:
        raise DerError("a TBSCertificate starts with a SEQUENCE")
    issuer_uid = subject_uid = None
    for item in children(tbs_der, outer):
        if item.tag == _ISSUER_UID:
            issuer_uid = _bit_string_content(tbs_der, item)
        elif item.tag == _SUBJECT_UID:
            subject_uid = _bit_string_content(tbs_der, item)
        elif item.tag in (_ISSUER_UID_CONSTRUCTED, _SUBJECT_UID_CONSTRUCTED):
            raise DerError("constructed unique identifiers are not DER")
    return issuer_uid, subject_uid
