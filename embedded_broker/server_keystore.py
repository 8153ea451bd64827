"""The server key store of SNI virtual hosts (Hono-style): one key entry per virtual host in one JKS or PKCS#12 file.

The broker never imports the workbench, so this reads the two formats itself: JKS through pyjks, PKCS#12 through
cryptography. cryptography's `load_pkcs12` returns only the first key of a file (OpenSSL's PKCS12_parse), so the
certificates come from it (every certificate bag, with its friendlyName) and each key is decrypted from its own
shrouded key bag (`load_der_private_key` takes the EncryptedPrivateKeyInfo as is); a key's certificate is the one
with its public key. Each entry's names are its certificate's SAN DNS names (wildcards included).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12

from embedded_broker.errors import ConfigError

_PEM = serialization.Encoding.PEM
_JKS_MAGIC = b"\xfe\xed\xfe\xed"
_JCEKS_MAGIC = b"\xce\xce\xce\xce"
_DATA_OID = bytes.fromhex("06092a864886f70d010701")  # pkcs7-data
_SHROUDED_KEY_BAG = bytes.fromhex("060b2a864886f70d010c0a0102")
_KEY_BAG = bytes.fromhex("060b2a864886f70d010c0a0101")
_FRIENDLY_NAME = bytes.fromhex("06092a864886f70d010914")
_CHECK = ("Check the key store password (--server-keystore-password-env or --server-keystore-password-file).",
          "Check that the file is a JKS or PKCS#12 key store with one key entry per virtual host.")


@dataclass(frozen=True)
class VirtualHost:
    """One key entry: its alias, the DNS names it serves (from its SAN), its chain (leaf first) and key as PEM."""

    alias: str
    names: tuple[str, ...]
    chain_pem: bytes
    key_pem: bytes
    subject: str = ""

    @property
    def certificate(self) -> x509.Certificate:
        """The entry's own certificate."""
        return x509.load_pem_x509_certificates(self.chain_pem)[0]


def san_dns_names(cert: x509.Certificate) -> tuple[str, ...]:
    """The certificate's SAN DNS names in lower case (what SNI is matched against); none without a SAN."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(dict.fromkeys(n.lower().rstrip(".") for n in san.get_values_for_type(x509.DNSName)))


def virtual_host(alias: str, chain: Sequence[x509.Certificate], key: PrivateKeyTypes) -> VirtualHost:
    """A virtual host from a key and its chain (leaf first)."""
    key_pem = key.private_bytes(_PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return VirtualHost(alias, san_dns_names(chain[0]), b"".join(c.public_bytes(_PEM) for c in chain), key_pem,
                       chain[0].subject.rfc4514_string())


def read_server_keystore(path: str | Path, password: bytes) -> list[VirtualHost]:
    """Read a key store file; see `load_server_keystore`.

    Raises:
        ConfigError: the file cannot be read, or see `load_server_keystore`.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the server key store {path}: {exc.strerror or exc}") from exc
    return load_server_keystore(data, password, str(path))


def load_server_keystore(data: bytes, password: bytes, what: str = "the server key store") -> list[VirtualHost]:
    """Every key entry of a JKS or PKCS#12 key store, in the file's order (trusted certificates are ignored).

    Raises:
        ConfigError: wrong password, not a key store, or no key entry in it (the message says what to check).
    """
    if data[:4] in (_JKS_MAGIC, _JCEKS_MAGIC):
        hosts = _load_jks(data, password, what)
    else:
        hosts = _load_pkcs12(data, password, what)
    if not hosts:
        raise ConfigError(f"{what} holds no key entry: add one key and certificate per virtual host")
    return hosts


def _problem(what: str, detail: str) -> ConfigError:
    return ConfigError(f"cannot open {what}: {detail}. " + " ".join(_CHECK))


def _load_jks(data: bytes, password: bytes, what: str) -> list[VirtualHost]:
    import jks  # pyjks, a runtime dependency

    try:
        store = jks.KeyStore.loads(data, password.decode("utf-8"))
    except (jks.util.KeystoreSignatureException, jks.util.BadKeystoreFormatException, UnicodeDecodeError,
            ValueError) as exc:
        raise _problem(what, "the password is wrong or the file is damaged") from exc
    except jks.util.DecryptionFailureException as exc:
        raise _problem(what, "a key entry has its own key password; give every entry the store password") from exc
    hosts = []
    for alias, entry in store.private_keys.items():
        if not entry.is_decrypted():
            raise _problem(what, f"the key of entry {alias!r} has its own key password; give it the store password")
        try:
            key = serialization.load_der_private_key(entry.pkey_pkcs8, None)
            chain = [x509.load_der_x509_certificate(der) for _kind, der in entry.cert_chain]
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise _problem(what, f"entry {alias!r} is not a key with an X.509 certificate chain") from exc
        if chain:
            hosts.append(virtual_host(alias, chain, key))
    return hosts


def _load_pkcs12(data: bytes, password: bytes, what: str) -> list[VirtualHost]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cryptography warns about BER files (Windows); they still load
            bundle = pkcs12.load_pkcs12(data, password)
    except (ValueError, UnsupportedAlgorithm, TypeError) as exc:
        raise _problem(what, "the password is wrong, or the file is not JKS or PKCS#12, or it is damaged") from exc
    certs = [c for c in ([bundle.cert] if bundle.cert else []) + list(bundle.additional_certs)]
    keys: list[tuple[str | None, PrivateKeyTypes]] = []
    try:
        for name, der, shrouded in _key_bags(data):
            keys.append((name, serialization.load_der_private_key(der, password if shrouded else None)))
    except (ValueError, IndexError, UnsupportedAlgorithm, TypeError):
        keys = []
    if not keys and bundle.key is not None:  # a layout the bag walker does not know: the first key at least
        keys = [(bundle.cert.friendly_name.decode() if bundle.cert and bundle.cert.friendly_name else None,
                 bundle.key)]
    hosts = []
    for index, (name, key) in enumerate(keys):
        public = key.public_key().public_bytes(_PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        leaf = next((c for c in certs if c.certificate.public_key().public_bytes(
            _PEM, serialization.PublicFormat.SubjectPublicKeyInfo) == public), None)
        if leaf is None:
            continue
        alias = name or (leaf.friendly_name.decode("utf-8", "replace") if leaf.friendly_name else f"entry{index + 1}")
        hosts.append(virtual_host(alias, _chain(leaf.certificate, [c.certificate for c in certs]), key))
    return hosts


def _chain(leaf: x509.Certificate, pool: list[x509.Certificate]) -> list[x509.Certificate]:
    """The leaf and the CAs above it that the file holds, by issuer name (stops at a self-signed one or a loop)."""
    chain = [leaf]
    while chain[-1].issuer != chain[-1].subject and len(chain) < 10:
        parent = next((c for c in pool if c.subject == chain[-1].issuer and c not in chain), None)
        if parent is None:
            break
        chain.append(parent)
    return chain


# --- a minimal DER walk over the PFX, to reach each key bag (RFC 7292) --------------------------------------------
def _element(data: bytes, offset: int) -> tuple[int, int, int, int]:
    """(tag, header start, content start, end) of the DER element at `offset`."""
    tag, first, pos = data[offset], data[offset + 1], offset + 2
    if first & 0x80:
        count = first & 0x7F
        if not 0 < count <= 4:
            raise ValueError("indefinite or overlong length")
        length, pos = int.from_bytes(data[pos:pos + count], "big"), pos + count
    else:
        length = first
    if pos + length > len(data):
        raise ValueError("element runs past the end")
    return tag, offset, pos, pos + length


def _children(data: bytes, parent: tuple[int, int, int, int]) -> list[tuple[int, int, int, int]]:
    out, offset = [], parent[2]
    while offset < parent[3]:
        child = _element(data, offset)
        out.append(child)
        offset = child[3]
    return out


def _key_bags(data: bytes) -> Iterator[tuple[str | None, bytes, bool]]:
    """(friendlyName, EncryptedPrivateKeyInfo or PrivateKeyInfo DER, encrypted) of each key bag in the data parts."""
    top = _children(data, _element(data, 0))
    auth = _children(data, top[1])
    octets = _element(data, auth[1][2])
    safe = data[octets[2]:octets[3]]
    for info in _children(safe, _element(safe, 0)):
        parts = _children(safe, info)
        if safe[parts[0][1]:parts[0][3]] != _DATA_OID:
            continue  # encrypted data: certificates (cryptography has them)
        inner = _element(safe, parts[1][2])
        bags = safe[inner[2]:inner[3]]
        for bag in _children(bags, _element(bags, 0)):
            fields = _children(bags, bag)
            oid = bags[fields[0][1]:fields[0][3]]
            if oid not in (_SHROUDED_KEY_BAG, _KEY_BAG):
                continue
            value = _element(bags, fields[1][2])
            yield (_friendly_name(bags, fields[2] if len(fields) > 2 else None), bags[value[1]:value[3]],
                   oid == _SHROUDED_KEY_BAG)


def _friendly_name(data: bytes, attributes: tuple[int, int, int, int] | None) -> str | None:
    if attributes is None:
        return None
    for attribute in _children(data, attributes):
        oid, values = _children(data, attribute)
        if data[oid[1]:oid[3]] == _FRIENDLY_NAME:
            bmp = _children(data, values)[0]
            return data[bmp[2]:bmp[3]].decode("utf-16-be", "replace")
    return None
