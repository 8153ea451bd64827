"""One fleet device, start to finish: key, certificate, the guide's files (and keystores), written privately.

Everything here is pure per-device work, so a process pool (``workbench.services.fleet``) can run it on every core.
A ``FleetTemplate`` is the small, picklable description a worker receives once; ``DeviceMaker`` is what the worker
builds from it (CA key loaded once) and calls per device.
"""

from __future__ import annotations

import datetime
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from workbench.errors import InvalidInputError, KeystoreError, WorkbenchError

from .fleet_ids import DeviceEntry
from .issuance import Issuer, issue_certificate
from .keys import KeySpec, PrivateKey, dump_private_key_pem
from .names import parse_dn
from .profiles import CertificateProfile, device_profile

KEY_FILE = "deviceKey.pem"
CERT_FILE = "deviceCert.pem"
CHAIN_FILE = "deviceCertChain.pem"
KEYSTORE_FILES = {"pkcs12": "deviceKeystore.pkcs12", "jks": "deviceKeystore.jks"}
TRUSTSTORE_FILES = {"pkcs12": "deviceTruststore.pkcs12", "jks": "deviceTruststore.jks"}
PRIVATE = 0o600
PUBLIC = 0o644
# `openssl pkcs12 -export` (3.0) defaults: PBES2 AES-256-CBC, PBKDF2 2048 iterations, SHA-256 MAC. cryptography's
# BestAvailableEncryption for PKCS#12 costs ~5x more per store, which matters for thousands of devices.
PKCS12_KDF_ROUNDS = 2048

# (key, chain leaf-first, password, kind, alias) -> keystore bytes; the keystore core's signature.
KeystoreBuilder = Callable[..., bytes]
KEYSTORE_PASSWORD_FILE = "keystorePassword.txt"


@dataclass(frozen=True)
class KeystoreOptions:
    """A per-device keystore: PKCS#12 or JKS, with the guide's alias; the password defaults to the key's."""

    kind: str = "pkcs12"
    password: bytes | None = None
    alias: str = "devicekeyentry"
    per_device_password: bool = False  # a random password per device, written beside it in keystorePassword.txt

    def __post_init__(self) -> None:
        if self.kind not in KEYSTORE_FILES:
            raise InvalidInputError(f"Unknown keystore type '{self.kind}'", ("Choose pkcs12 or jks.",))


@dataclass(frozen=True)
class FleetTemplate:
    """What every device shares, in a form that crosses process boundaries (bytes, not key objects).

    The CA key travels as unencrypted DER in memory only (pipe to a worker), never through a file.
    """

    issuer_cert_der: bytes
    issuer_key_der: bytes
    chain_der: tuple[bytes, ...] = ()  # certificates above the issuer, up to the root
    key_spec: KeySpec = KeySpec.EC_P256
    profile: CertificateProfile = field(default_factory=device_profile)
    subject_extra: str = ""  # RFC 4514 attributes added beside the CN, e.g. 'O=ACME,C=PL'
    key_password: bytes | None = None
    keystore: KeystoreOptions | None = None
    truststore: bytes = b""  # ready-made truststore written unchanged into every device folder
    truststore_kind: str = "pkcs12"
    now: datetime.datetime | None = None

    @classmethod
    def for_issuer(cls, issuer: Issuer, chain: Sequence[x509.Certificate] = (), **options: object) -> FleetTemplate:
        """Pack an issuer (and the certificates above it) for the workers."""
        key_der = issuer.key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())
        return cls(issuer.certificate.public_bytes(serialization.Encoding.DER), key_der,
                   tuple(c.public_bytes(serialization.Encoding.DER) for c in chain), **options)  # type: ignore[arg-type]


@dataclass(frozen=True)
class DeviceRecord:
    """What the manifest and the CA store need to know about one issued device."""

    device_id: str
    serial: int
    sha1: str
    not_after: str
    files: tuple[str, ...]
    certificate_der: bytes

    def to_manifest(self) -> dict[str, object]:
        """The device's manifest entry; the certificate itself is in the folder, not repeated here."""
        return {"id": self.device_id, "serial": format(self.serial, "X"), "sha1": self.sha1,
                "not_after": self.not_after, "files": [f"{self.device_id}/{name}" for name in self.files]}


def _subject_extra(text: str) -> list[x509.NameAttribute]:
    if not text.strip():
        return []
    attributes = [a for a in parse_dn(text) if a.oid != NameOID.COMMON_NAME]
    return attributes


def check_subject_extra(text: str) -> None:
    """Validate extra subject attributes before any work starts (the CN always comes from the device id).

    Raises:
        InvalidInputError: the text is not a distinguished name.
    """
    _subject_extra(text)


def resolve_keystore_builder() -> KeystoreBuilder | None:
    """The keystore core's writer when it is installed; None means only the built-in PKCS#12 fallback exists."""
    try:
        from workbench.core import keystore
    except ImportError:  # pragma: no cover - the package always exists; its contents arrive separately
        return None
    return getattr(keystore, "build_device_keystore", None)


def resolve_truststore_builder() -> KeystoreBuilder | None:
    """The keystore core's truststore writer when it is installed."""
    try:
        from workbench.core import keystore
    except ImportError:  # pragma: no cover
        return None
    return getattr(keystore, "build_truststore", None)


def _pkcs12_encryption(password: bytes) -> serialization.KeySerializationEncryption:
    return (serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(PKCS12_KDF_ROUNDS)
            .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC).hmac_hash(hashes.SHA256()).build(password))


def _fallback_keystore(key: PrivateKey, chain: Sequence[x509.Certificate], password: bytes, kind: str,
                       alias: str) -> bytes:
    if kind != "pkcs12":
        raise KeystoreError("JKS keystores need the keystore module, which is not installed in this build",
                            ("Choose --keystore pkcs12.",))
    return pkcs12.serialize_key_and_certificates(alias.encode(), key, chain[0], list(chain[1:]) or None,
                                                 _pkcs12_encryption(password))


def build_truststore(certificates: Sequence[x509.Certificate], password: bytes, kind: str = "pkcs12",
                     alias: str = "servercertificate") -> bytes:
    """A truststore Java and keytool list as trusted entries (platform-notes: serialize_java_truststore).

    Raises:
        KeystoreError: JKS was asked for but the keystore module is missing.
    """
    builder = resolve_truststore_builder()
    if builder is not None:
        return builder(list(certificates), password, kind, alias=alias)
    if kind != "pkcs12":
        raise KeystoreError("JKS truststores need the keystore module, which is not installed in this build",
                            ("Choose --keystore pkcs12.",))
    entries = [pkcs12.PKCS12Certificate(cert, (alias if i == 0 else f"{alias}-{i + 1}").encode())
               for i, cert in enumerate(certificates)]
    return pkcs12.serialize_java_truststore(entries, _pkcs12_encryption(password))


@dataclass(frozen=True)
class IssuedDevice:
    """A fresh device: its entry, key and certificate, before anything is written."""

    entry: DeviceEntry
    key: PrivateKey
    certificate: x509.Certificate


class DeviceMaker:
    """Issues devices under one CA; built once per worker so the CA key is parsed once, not per device."""

    def __init__(self, template: FleetTemplate) -> None:
        self.template = template
        certificate = x509.load_der_x509_certificate(template.issuer_cert_der)
        # The key was validated when it was first loaded (FleetTemplate.for_issuer takes a key object); repeating
        # OpenSSL's RSA consistency check costs ~0.25 s per worker for a 4096-bit CA, so it is skipped here.
        key = serialization.load_der_private_key(template.issuer_key_der, None, unsafe_skip_rsa_key_validation=True)
        self.issuer = Issuer(certificate, key)  # type: ignore[arg-type]
        self.chain = [certificate, *(x509.load_der_x509_certificate(d) for d in template.chain_der)]
        self._chain_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain)
        self._extra = _subject_extra(template.subject_extra)
        self._keystore_builder = resolve_keystore_builder() if template.keystore else None
        self._preflight()

    def _preflight(self) -> None:
        """Fail before any device is made: a CA that may not sign, or a keystore that cannot be written."""
        probe = x509.Name([*self._extra, x509.NameAttribute(NameOID.COMMON_NAME, "fleet-preflight")])
        issue_certificate(probe, self.issuer.key.public_key(), self.template.profile, self.issuer, serial=1)
        options = self.template.keystore
        if options is None:
            return
        if not (options.password or self.template.key_password or options.per_device_password):
            raise KeystoreError("A keystore needs a password",
                                ("keytool reports an unprotected PKCS#12 as failing its integrity check.",
                                 "Give a keystore password, or a key password to reuse."))
        if options.kind != "pkcs12" and self._keystore_builder is None:
            raise KeystoreError("JKS keystores need the keystore module, which is not in this build yet",
                                ("Choose the pkcs12 keystore type.",))

    def issue(self, entry: DeviceEntry, serial: int) -> IssuedDevice:
        """Generate the device key and sign its certificate with the fleet's profile.

        Raises:
            PolicyError: the id breaks the device CN rules or the CA may not sign.
        """
        key = self.template.key_spec.generate()
        subject = x509.Name([*self._extra, x509.NameAttribute(NameOID.COMMON_NAME, entry.device_id)])
        cert = issue_certificate(subject, key.public_key(), self.template.profile, self.issuer, serial=serial,
                                 now=self.template.now)
        return IssuedDevice(entry, key, cert)

    def files(self, device: IssuedDevice) -> dict[str, tuple[bytes, int]]:
        """The device folder's files (name -> content, mode): key, certificate, chain, keystores if asked."""
        cert_pem = device.certificate.public_bytes(serialization.Encoding.PEM)
        password = self.template.key_password
        result = {
            KEY_FILE: (dump_private_key_pem(device.key, password), PRIVATE),
            CERT_FILE: (cert_pem, PUBLIC),
            CHAIN_FILE: (cert_pem + self._chain_pem, PUBLIC),  # leaf first, each followed by its signer
        }
        options = self.template.keystore
        if options is not None:
            store_password = options.password or password or b""
            if options.per_device_password:
                store_password = secrets.token_urlsafe(18).encode()
                result[KEYSTORE_PASSWORD_FILE] = (store_password + b"\n", PRIVATE)
            chain = [device.certificate, *self.chain]
            builder = self._keystore_builder or _fallback_keystore
            data = builder(device.key, chain, store_password, kind=options.kind, alias=options.alias)
            result[KEYSTORE_FILES[options.kind]] = (data, PRIVATE)
        if self.template.truststore:
            result[TRUSTSTORE_FILES[self.template.truststore_kind]] = (self.template.truststore, PUBLIC)
        return result

    def make(self, entry: DeviceEntry, serial: int, folder: Path, *, sync: bool = False) -> DeviceRecord:
        """Issue one device and write its folder; the unit of work a fleet worker repeats."""
        device = self.issue(entry, serial)
        files = self.files(device)
        write_device_folder(folder / entry.device_id, files, sync=sync)
        cert = device.certificate
        return DeviceRecord(entry.device_id, cert.serial_number, cert.fingerprint(hashes.SHA1()).hex().upper(),
                            cert.not_valid_after_utc.isoformat(), tuple(files),
                            cert.public_bytes(serialization.Encoding.DER))


def order_chain_above(issuer: x509.Certificate, candidates: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    """The certificates above ``issuer`` in signing order (each followed by its signer), up to a root if present.

    Certificates that are not on the issuer's path are ignored; the result stops where the next signer is missing.
    """
    chain: list[x509.Certificate] = []
    current = issuer
    pool = [c for c in candidates if c != issuer]
    while current.issuer != current.subject:
        parent = next((c for c in pool if c.subject == current.issuer and c not in chain), None)
        if parent is None:
            break
        chain.append(parent)
        current = parent
    return chain


def write_device_folder(folder: Path, files: Mapping[str, tuple[bytes, int]], *, sync: bool = False) -> None:
    """Create a new device folder and its files with their final modes from the start (keys never world-readable).

    The folder must not exist: fleets are written into a fresh staging folder that is synced and renamed as a
    whole once complete, so each file needs neither its own temp-and-rename nor (by default) its own fsync.

    Raises:
        WorkbenchError: the folder exists or cannot be written.
    """
    try:
        folder.mkdir()
        for name, (data, mode) in files.items():
            fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                if sync:
                    handle.flush()
                    os.fsync(handle.fileno())
    except OSError as exc:
        raise WorkbenchError(f"Cannot write the device folder '{folder}'",
                             (exc.strerror or str(exc), "Check free disk space and permissions.")) from exc
