"""The certificate inspector's model: every field of the guide's X.509 v3 list, display-ready and frozen."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from .chain import is_self_issued, signature_verifies
from .derwalk import DerError, unique_ids
from .extdecode import ExtensionSummary, colon_hex, summarize_extensions
from .keys import describe_key
from .names import DnStyle, common_name, format_dn

_SIGNATURE_NAMES = {
    "1.2.840.113549.1.1.5": "sha1WithRSAEncryption", "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption", "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.13": "sha512WithRSAEncryption", "1.2.840.113549.1.1.14": "sha224WithRSAEncryption",
    "1.2.840.113549.1.1.10": "rsassaPss", "1.2.840.10045.4.1": "ecdsa-with-SHA1",
    "1.2.840.10045.4.3.1": "ecdsa-with-SHA224", "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384", "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
    "1.3.101.112": "ED25519", "1.3.101.113": "ED448",
}
_NIST = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521", "secp224r1": "P-224"}
_ASN1_CURVE = {"secp256r1": "prime256v1"}


@dataclass(frozen=True)
class PublicKeySummary:
    """The subject public key: openssl's algorithm name, size, and the key value (modulus or point)."""

    algorithm: str
    description: str
    bits: int
    value_label: str
    value_hex: str
    exponent: int | None = None
    curve: str | None = None
    nist_curve: str | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON form for `--json`."""
        return {"algorithm": self.algorithm, "description": self.description, "bits": self.bits,
                "value_label": self.value_label, "value": self.value_hex, "exponent": self.exponent,
                "curve": self.curve, "nist_curve": self.nist_curve}


@dataclass(frozen=True)
class CertificateSummary:
    """What the inspector shows, field by field in the guide's order, with the platform's certificate id."""

    version: int
    serial_number: int
    serial_hex: str
    issuer: str
    issuer_oneline: str
    not_before: datetime.datetime
    not_after: datetime.datetime
    subject: str
    subject_oneline: str
    common_name: str | None
    public_key: PublicKeySummary
    signature_algorithm: str
    signature_hex: str
    extensions: tuple[ExtensionSummary, ...]
    issuer_unique_id: str | None
    subject_unique_id: str | None
    sha1_fingerprint: str
    sha256_fingerprint: str
    certificate_id: str
    is_ca: bool
    path_length: int | None
    self_signed: bool

    @property
    def serial_decimal(self) -> str:
        """The serial in decimal, as some tools and the platform's UI show it."""
        return str(self.serial_number)

    def validity_status(self, now: datetime.datetime | None = None) -> str:
        """'valid', 'expired' or 'not yet valid' at ``now`` (the clock is injectable)."""
        moment = now or datetime.datetime.now(datetime.UTC)
        if moment < self.not_before:
            return "not yet valid"
        return "expired" if moment > self.not_after else "valid"

    def extension(self, short_name: str) -> ExtensionSummary | None:
        """Look an extension up by its config name, e.g. 'basicConstraints'."""
        return next((e for e in self.extensions if e.short_name == short_name), None)

    def to_dict(self) -> dict[str, object]:
        """JSON form for `--json`; big numbers are strings so no JSON reader loses digits."""
        return {
            "version": self.version, "serial_hex": self.serial_hex, "serial_decimal": self.serial_decimal,
            "issuer": self.issuer, "subject": self.subject, "common_name": self.common_name,
            "not_before": self.not_before.isoformat(), "not_after": self.not_after.isoformat(),
            "public_key": self.public_key.to_dict(), "signature_algorithm": self.signature_algorithm,
            "signature": self.signature_hex, "extensions": [e.to_dict() for e in self.extensions],
            "issuer_unique_id": self.issuer_unique_id, "subject_unique_id": self.subject_unique_id,
            "sha1_fingerprint": self.sha1_fingerprint, "sha256_fingerprint": self.sha256_fingerprint,
            "certificate_id": self.certificate_id, "is_ca": self.is_ca, "path_length": self.path_length,
            "self_signed": self.self_signed,
        }


def signature_algorithm_name(cert: x509.Certificate) -> str:
    """openssl's name for the signature algorithm ('sha256WithRSAEncryption', 'ecdsa-with-SHA256')."""
    oid = cert.signature_algorithm_oid
    return _SIGNATURE_NAMES.get(oid.dotted_string, getattr(oid, "_name", oid.dotted_string))


def _public_key(cert: x509.Certificate) -> PublicKeySummary:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        modulus = numbers.n.to_bytes(key.key_size // 8 + 1, "big")  # a leading 00 when the top bit is set
        if modulus[1] < 0x80:
            modulus = modulus[1:]
        return PublicKeySummary("rsaEncryption", describe_key(key), key.key_size, "Modulus", colon_hex(modulus),
                                exponent=numbers.e)
    if isinstance(key, ec.EllipticCurvePublicKey):
        point = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        name = key.curve.name
        return PublicKeySummary("id-ecPublicKey", describe_key(key), key.key_size, "pub", colon_hex(point),
                                curve=_ASN1_CURVE.get(name, name), nist_curve=_NIST.get(name))
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        algorithm = "ED25519" if isinstance(key, ed25519.Ed25519PublicKey) else "ED448"
        return PublicKeySummary(algorithm, "Ed" + algorithm[2:], len(raw) * 8, "pub", colon_hex(raw))
    bits = key.key_size if isinstance(key, dsa.DSAPublicKey) else 0
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return PublicKeySummary(type(key).__name__, describe_key(key), bits, "SubjectPublicKeyInfo", colon_hex(der))


def _basic_constraints(cert: x509.Certificate) -> tuple[bool, int | None]:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except (x509.ExtensionNotFound, ValueError):
        return False, None
    return bc.ca, bc.path_length


def _uid(data: bytes | None) -> str | None:
    return None if data is None else colon_hex(data)


def summarize(cert: x509.Certificate) -> CertificateSummary:
    """Decode a certificate into the inspector's model; never fails on a certificate cryptography could load."""
    serial = cert.serial_number
    magnitude = abs(serial).to_bytes(max(1, (abs(serial).bit_length() + 7) // 8), "big")
    try:
        issuer_uid, subject_uid = unique_ids(cert.tbs_certificate_bytes)
    except DerError:
        issuer_uid = subject_uid = None
    sha1 = cert.fingerprint(hashes.SHA1())
    is_ca, path_length = _basic_constraints(cert)
    return CertificateSummary(
        version=cert.version.value + 1,
        serial_number=serial,
        serial_hex=("-" if serial < 0 else "") + colon_hex(magnitude),
        issuer=format_dn(cert.issuer),
        issuer_oneline=format_dn(cert.issuer, DnStyle.ONELINE),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        subject=format_dn(cert.subject),
        subject_oneline=format_dn(cert.subject, DnStyle.ONELINE),
        common_name=common_name(cert.subject),
        public_key=_public_key(cert),
        signature_algorithm=signature_algorithm_name(cert),
        signature_hex=colon_hex(cert.signature),
        extensions=summarize_extensions(cert),
        issuer_unique_id=_uid(issuer_uid),
        subject_unique_id=_uid(subject_uid),
        sha1_fingerprint=colon_hex(sha1, upper=True),
        sha256_fingerprint=colon_hex(cert.fingerprint(hashes.SHA256()), upper=True),
        certificate_id=sha1.hex(),
        is_ca=is_ca,
        path_length=path_length,
        self_signed=is_self_issued(cert) and signature_verifies(cert, cert),
    )
