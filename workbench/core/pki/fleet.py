"""One fleet device's key and certificate: pure per-device work a process pool can run on every core.

A ``FleetTemplate`` is the small, picklable description a worker receives once; ``DeviceMaker`` is what the worker
builds from it (CA key loaded once) and calls per device. The device's files are composed and written by the one
device-bundle writer, ``workbench.services.device_bundle``.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from workbench.errors import InvalidInputError

from .fleet_ids import DeviceEntry
from .issuance import Issuer, issue_certificate
from .keys import KeySpec, PrivateKey
from .names import parse_dn
from .profiles import CertificateProfile, device_profile

KEYSTORE_KINDS = ("pkcs12", "jks")


@dataclass(frozen=True)
class KeystoreOptions:
    """A per-device keystore: PKCS#12 or JKS, with the guide's alias; the password defaults to the key's."""

    kind: str = "pkcs12"
    password: bytes | None = None
    alias: str = "devicekeyentry"
    per_device_password: bool = False  # a random password per device, written beside it in keystorePassword.txt

    def __post_init__(self) -> None:
        if self.kind not in KEYSTORE_KINDS:
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


def _subject_extra(text: str) -> list[x509.NameAttribute[str | bytes]]:
    if not text.strip():
        return []
    attributes = [a for a in parse_dn(text) if a.oid != NameOID.COMMON_NAME]
    return attributes


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
        self._extra = _subject_extra(template.subject_extra)
        self._preflight()

    def _preflight(self) -> None:
        """Fail before any device is made: a CA that may not sign (the bundle checks its own keystore options)."""
        probe = x509.Name([*self._extra, x509.NameAttribute(NameOID.COMMON_NAME, "fleet-preflight")])
        issue_certificate(probe, self.issuer.key.public_key(), self.template.profile, self.issuer, serial=1)

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
