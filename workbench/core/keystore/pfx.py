"""The PKCS#12 outer layer (RFC 7292) that cryptography does not expose: MAC check, splitting and merging.

cryptography writes one key per file and reads only the first key. Java stores may hold several keys next to
trusted certificates. Here we take PFX files apart at the ContentInfo level (their contents stay encrypted), put
them back together and compute the MAC ourselves, so cryptography can do all the actual decryption.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

_DATA_OID = bytes.fromhex("06092a864886f70d010701")  # 1.2.840.113549.1.7.1 pkcs7-data
_SHROUDED_KEY_BAG = bytes.fromhex("060b2a864886f70d010c0a0102")  # pkcs8ShroudedKeyBag
_KEY_BAG = bytes.fromhex("060b2a864886f70d010c0a0101")  # keyBag
_FRIENDLY_NAME = bytes.fromhex("06092a864886f70d010914")  # 1.2.840.113549.1.9.20
_LOCAL_KEY_ID = bytes.fromhex("06092a864886f70d010915")  # 1.2.840.113549.1.9.21
_HASHES = {  # AlgorithmIdentifier OID DER → (hashlib name, PKCS#12 KDF block size v)
    bytes.fromhex("06052b0e03021a"): ("sha1", 64),
    bytes.fromhex("0609608648016503040201"): ("sha256", 64),
    bytes.fromhex("0609608648016503040202"): ("sha384", 128),
    bytes.fromhex("0609608648016503040203"): ("sha512", 128),
}
_OID_FOR = {name: oid for oid, (name, _v) in _HASHES.items()}


class PfxFormatError(ValueError):
    """The bytes are not DER PKCS#12 as this reader expects (BER from Windows lands here too)."""


@dataclass(frozen=True)
class Element:
    """One DER element: tag, header start, content start, end."""

    tag: int
    head: int
    start: int
    end: int


def read(data: bytes, offset: int) -> Element:
    """Read one definite-length DER element at ``offset``."""
    if offset + 2 > len(data):
        raise PfxFormatError("truncated")
    tag, first, pos = data[offset], data[offset + 1], offset + 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise PfxFormatError("indefinite or bad length")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    else:
        length = first
    if pos + length > len(data):
        raise PfxFormatError("element runs past the end")
    return Element(tag, offset, pos, pos + length)


def items(data: bytes, parent: Element) -> list[Element]:
    """The elements inside a constructed element."""
    out, offset = [], parent.start
    while offset < parent.end:
        element = read(data, offset)
        out.append(element)
        offset = element.end
    return out


def encode(tag: int, content: bytes) -> bytes:
    """DER tag-length-value."""
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def _raw(data: bytes, e: Element) -> bytes:
    return data[e.head:e.end]


def _content(data: bytes, e: Element) -> bytes:
    return data[e.start:e.end]


@dataclass(frozen=True)
class Pfx:
    """A parsed PFX: its ContentInfos (raw DER, still encrypted) and its MAC, if any."""

    content_infos: tuple[bytes, ...]
    auth_safe: bytes  # the octets the MAC covers
    mac_hash: str | None = None
    mac_block: int = 64
    mac_digest: bytes = b""
    mac_salt: bytes = b""
    mac_iterations: int = 1


def parse(data: bytes) -> Pfx:
    """Split a DER PFX into ContentInfos and MAC data.

    Raises:
        PfxFormatError: not DER PKCS#12 (or BER, which we leave to cryptography).
    """
    top = read(data, 0)
    parts = items(data, top)
    if top.tag != 0x30 or len(parts) < 2 or _raw(data, parts[0]) != b"\x02\x01\x03":
        raise PfxFormatError("not a PFX v3")
    ci = items(data, parts[1])
    if len(ci) != 2 or _raw(data, ci[0]) != _DATA_OID or ci[1].tag != 0xA0:
        raise PfxFormatError("only password-integrity (pkcs7-data) PFX files are supported")
    octets = read(data, ci[1].start)
    if octets.tag != 0x04:
        raise PfxFormatError("constructed OCTET STRING")
    auth_safe = _content(data, octets)
    seq = read(auth_safe, 0)
    infos = tuple(_raw(auth_safe, e) for e in items(auth_safe, seq))
    if len(parts) < 3:
        return Pfx(infos, auth_safe)
    mac = items(data, parts[2])
    digest_info = items(data, mac[0])
    algorithm = items(data, digest_info[0])
    hash_info = _HASHES.get(_raw(data, algorithm[0]))
    if hash_info is None:
        raise PfxFormatError("unknown MAC hash")
    iterations = int.from_bytes(_content(data, mac[2]), "big") if len(mac) > 2 else 1
    return Pfx(infos, auth_safe, hash_info[0], hash_info[1], _content(data, digest_info[1]),
               _content(data, mac[1]), iterations)


def _bmp_password(password: bytes) -> bytes:
    """PKCS#12 passwords are BMPStrings with a two-byte terminator."""
    return password.decode("utf-8").encode("utf-16-be") + b"\x00\x00"


def mac_key(hash_name: str, block: int, password: bytes, salt: bytes, iterations: int) -> bytes:
    """RFC 7292 appendix B key derivation (ID 3, MAC), for the hash's own output length."""
    def fill(value: bytes) -> bytes:
        if not value:
            return b""
        size = block * ((len(value) + block - 1) // block)
        return (value * (size // len(value) + 1))[:size]

    digest = b"\x03" * block + fill(salt) + fill(_bmp_password(password))
    for _ in range(iterations):
        digest = hashlib.new(hash_name, digest).digest()
    return digest


def mac_matches(pfx: Pfx, password: bytes) -> bool:
    """Whether the store password opens the file's integrity check (False also when the file was altered)."""
    if pfx.mac_hash is None:
        return True
    key = mac_key(pfx.mac_hash, pfx.mac_block, password, pfx.mac_salt, pfx.mac_iterations)
    return hmac.compare_digest(hmac.new(key, pfx.auth_safe, pfx.mac_hash).digest(), pfx.mac_digest)


def assemble(content_infos: list[bytes], password: bytes, *, hash_name: str = "sha256",
             iterations: int = 2048) -> bytes:
    """Build a PFX from ContentInfos taken from other PFX files encrypted with the same password."""
    auth_safe = encode(0x30, b"".join(content_infos))
    salt = os.urandom(16)
    block = 128 if hash_name in ("sha384", "sha512") else 64
    key = mac_key(hash_name, block, password, salt, iterations)
    digest = hmac.new(key, auth_safe, hash_name).digest()
    digest_info = encode(0x30, encode(0x30, _OID_FOR[hash_name] + b"\x05\x00") + encode(0x04, digest))
    count = encode(0x02, _int(iterations)) if iterations != 1 else b""  # DER omits the DEFAULT 1
    mac_data = encode(0x30, digest_info + encode(0x04, salt) + count)
    auth = encode(0x30, _DATA_OID + encode(0xA0, encode(0x04, auth_safe)))
    return encode(0x30, b"\x02\x01\x03" + auth + mac_data)


def _int(value: int) -> bytes:
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


def _data_bags(info: bytes) -> list[bytes] | None:
    """The SafeBags of a plain-data ContentInfo (keys live there, individually encrypted); None otherwise."""
    ci = items(info, read(info, 0))
    if _raw(info, ci[0]) != _DATA_OID:
        return None
    octets = read(info, ci[1].start)
    safe = _content(info, octets)
    return [_raw(safe, e) for e in items(safe, read(safe, 0))]


def _is_key_bag(bag: bytes) -> bool:
    oid = _raw(bag, items(bag, read(bag, 0))[0])
    return oid in (_SHROUDED_KEY_BAG, _KEY_BAG)


def _bag_attribute(bag: bytes, oid: bytes) -> bytes | None:
    parts = items(bag, read(bag, 0))
    if len(parts) < 3:
        return None
    for attribute in items(bag, parts[2]):
        fields = items(bag, attribute)
        if _raw(bag, fields[0]) == oid:
            values = items(bag, fields[1])
            return _content(bag, values[0]) if values else None
    return None


def bag_friendly_name(bag: bytes) -> str | None:
    """A SafeBag's friendlyName attribute (readable for key bags, which sit outside the encrypted part)."""
    value = _bag_attribute(bag, _FRIENDLY_NAME)
    return value.decode("utf-16-be", errors="replace") if value is not None else None


def key_bag_stamps(pfx: Pfx) -> dict[str, int]:
    """friendlyName → creation time in ms, from keytool's localKeyID 'Time <millis>' on key bags."""
    stamps: dict[str, int] = {}
    for info in pfx.content_infos:
        for bag in _data_bags(info) or ():
            if not _is_key_bag(bag):
                continue
            name, key_id = bag_friendly_name(bag), _bag_attribute(bag, _LOCAL_KEY_ID)
            if name and key_id and key_id.startswith(b"Time ") and key_id[5:].isdigit():
                stamps[name] = int(key_id[5:])
    return stamps


def _data_info(bags: list[bytes]) -> bytes:
    safe = encode(0x30, b"".join(bags))
    return encode(0x30, _DATA_OID + encode(0xA0, encode(0x04, safe)))


def split_per_key(pfx: Pfx) -> list[tuple[list[bytes], str | None]]:
    """One ContentInfo list per key bag (with every certificate), so cryptography can read each key in turn.

    Returns [] when the file has at most one key bag in plain-data ContentInfos (read it whole instead).
    """
    key_bags: list[bytes] = []
    others: list[bytes] = []  # non-key content, kept in every split
    for info in pfx.content_infos:
        bags = _data_bags(info)
        if bags is None:
            others.append(info)
            continue
        key_bags.extend(b for b in bags if _is_key_bag(b))
        rest = [b for b in bags if not _is_key_bag(b)]
        if rest:
            others.append(_data_info(rest))
    if len(key_bags) < 2:
        return []
    return [([_data_info([bag]), *others], bag_friendly_name(bag)) for bag in key_bags]


def merge(parts: list[bytes], password: bytes, *, hash_name: str, iterations: int) -> bytes:
    """Merge several PFX files (same password) into one: every ContentInfo kept, a fresh MAC over the result."""
    if len(parts) == 1:
        return parts[0]
    infos: list[bytes] = []
    for part in parts:
        infos.extend(parse(part).content_infos)
    return assemble(infos, password, hash_name=hash_name, iterations=iterations)
