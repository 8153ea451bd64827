"""Trusted certificates of a tenant (§1): upload checks, the cloud's JSON shape, updates, and proof of possession.

§ and A numbers are sections and decisions of the platform reference, docs/platform-reference.md.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import hashlib
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa

from embedded_broker.platform.errors import PlatformError, invalid
from embedded_broker.platform.formats import iso_ms, java_algorithm, java_dn
from embedded_broker.store import Store

POP_VALIDITY = 24 * 3600.0
_ARMOUR = re.compile(r"-----(BEGIN|END) [A-Z0-9 ]+-----")
_STATUSES = ("ENABLED", "DISABLED")


def fingerprint(der: bytes) -> str:
    """Lower-case SHA-1 hex of the DER certificate: the platform's id of a trusted certificate."""
    return hashlib.sha1(der).hexdigest()


def parse_certificate(text: str) -> tuple[x509.Certificate, bytes]:
    """A certificate from PEM (with or without armour) or bare base64 DER, as the cloud accepts it.

    Raises:
        PlatformError: 422 "Invalid certificate data" with what was wrong.
    """
    body = _ARMOUR.sub("", text or "")
    try:
        der = base64.b64decode("".join(body.split()), validate=True)
        return x509.load_der_x509_certificate(der), der
    except (binascii.Error, ValueError) as exc:
        raise invalid("tenants", f"Invalid certificate data: certInPemFormat is not an X.509 certificate ({exc}).") \
            from None


def check_anchor(cert: x509.Certificate, now: float) -> None:
    """The upload rules: X.509 v3, CA:TRUE, and not expired (a start date ahead of our clock is no reason).

    Raises:
        PlatformError: 422 naming the rule.
    """
    if cert.version != x509.Version.v3:
        raise invalid("tenants", f"Invalid certificate data: the certificate is X.509 {cert.version.name}, "
                                 "the platform needs v3 (with a basicConstraints extension).")
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise invalid("tenants", "Invalid certificate data: the certificate is not a CA (basicConstraints CA:TRUE "
                                 "is missing); upload the CA that signed your devices, not a device certificate.")
    if cert.not_valid_after_utc.timestamp() < now:
        raise invalid("tenants", f"Invalid certificate data: the certificate expired on "
                                 f"{iso_ms(cert.not_valid_after_utc)}.")


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid("tenants", f"{name} must be true or false, got {value!r}.")


def _strings(body: dict[str, Any], *names: str) -> None:
    """Refuse a field that is present but not a JSON string (a number is no PEM text and no name)."""
    for name in names:
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            kind = "an array" if isinstance(value, list) else "an object" if isinstance(value, dict) else \
                "a boolean" if isinstance(value, bool) else "a number"
            raise invalid("tenants", f"{name} must be a string, got {kind}.")


def _status(value: Any) -> str:
    if not isinstance(value, str) or value.upper() not in _STATUSES:
        raise invalid("tenants", f"status must be ENABLED or DISABLED, got {value!r}.")
    return value.upper()


def verify_pop_signature(cert: x509.Certificate, code: str, signature_b64: str) -> bool:
    """True when the signature is over `code`, `code\\n` or `code\\r\\n` by the certificate's key
    (platform reference A9)."""
    try:
        signature = base64.b64decode("".join(signature_b64.split()), validate=True)
    except (binascii.Error, ValueError, AttributeError):
        return False
    key = cert.public_key()
    for message in (code, code + "\n", code + "\r\n"):
        data = message.encode()
        try:
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            elif isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
            elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
                key.verify(signature, data)
            else:
                return False
            return True
        except (InvalidSignature, ValueError):
            continue
    return False


class TrustedCertificates:
    """CRUD and PoP over the `trusted_certs` table; `on_change(tenant, fingerprint, what)` reaches the broker."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time, base_url: str = "",
                 on_change: Callable[[str, str, str], None] | None = None) -> None:
        self.store = store
        self._clock = clock
        self.base_url = base_url
        self._on_change = on_change

    # --- representation ------------------------------------------------------------------------------------
    def representation(self, row: Any) -> dict[str, Any]:
        """The `TrustedCertificate` JSON of platform reference §1.2, field for field."""
        cert = x509.load_der_x509_certificate(row["der"])
        return {
            "self": f"{self.base_url}/tenant/tenants/{row['tenant']}/trusted-certificates/{row['fingerprint']}",
            "fingerprint": row["fingerprint"],
            "name": row["name"],
            "status": row["status"],
            "autoRegistrationEnabled": bool(row["auto_registration"]),
            "certInPemFormat": base64.b64encode(row["der"]).decode(),
            "serialNumber": str(cert.serial_number),
            "algorithmName": java_algorithm(cert),
            "version": 3 if cert.version == x509.Version.v3 else 1,
            "issuer": java_dn(cert.issuer),
            "subject": java_dn(cert.subject),
            "notBefore": iso_ms(cert.not_valid_before_utc),
            "notAfter": iso_ms(cert.not_valid_after_utc),
            "proofOfPossessionValid": bool(row["pop_valid"]),
            "proofOfPossessionUnsignedVerificationCode": row["pop_code"],
            "proofOfPossessionVerificationCodeUsableUntil": iso_ms(row["pop_until"]),
            "tenantCertificateAuthority": self.is_tenant_ca(row["tenant"], row["fingerprint"]),
        }

    def is_tenant_ca(self, tenant: str, fp: str) -> bool:
        """Whether a stored certificate is the tenant's own CA (`POST /certificate-authority`, §8)."""
        return self.store.one("SELECT 1 FROM tenant_ca WHERE tenant = ? AND fingerprint = ?", (tenant, fp)) \
            is not None

    # --- queries -------------------------------------------------------------------------------------------
    def row(self, tenant: str, fp: str) -> Any:
        """One stored certificate row.

        Raises:
            PlatformError: 404 in the cloud's words.
        """
        found = self.store.one("SELECT * FROM trusted_certs WHERE tenant = ? AND fingerprint = ?", (tenant, fp.lower()))
        if found is None:
            raise PlatformError(404, "certificate/Not Found", f"Cannot find certificate with fingerprint {fp}.")
        return found

    def list(self, tenant: str) -> list[Any]:
        """Every certificate of a tenant, oldest upload first."""
        return self.store.all("SELECT * FROM trusted_certs WHERE tenant = ? ORDER BY created, fingerprint", (tenant,))

    def by_fingerprint(self, fp: str) -> builtins.list[Any]:  # `list` here is the method above
        """Every tenant's upload of one certificate (several only in the PoP scenario, platform reference A9)."""
        return self.store.all("SELECT * FROM trusted_certs WHERE fingerprint = ? ORDER BY created", (fp,))

    def all_anchors(self) -> builtins.list[bytes]:
        """The DER of every uploaded certificate of every tenant, enabled or not: the TLS trust list."""
        return [r["der"] for r in self.store.all("SELECT DISTINCT der FROM trusted_certs")]

    # --- changes -------------------------------------------------------------------------------------------
    def upload(self, tenant: str, body: dict[str, Any]) -> Any:
        """Add one certificate for a tenant (platform reference A9: another tenant may upload the same one).

        Raises:
            PlatformError: 422 for invalid data, 409 for a duplicate in this tenant.
        """
        if not isinstance(body, dict):
            raise invalid("tenants", "The body must be a JSON object with status and certInPemFormat.")
        missing = [f for f in ("status", "certInPemFormat") if body.get(f) is None or body.get(f) == ""]
        if missing:
            raise invalid("tenants", f"Missing required field(s): {', '.join(missing)}.")
        _strings(body, "certInPemFormat", "name")
        status = _status(body["status"])
        auto = _flag(body.get("autoRegistrationEnabled", False), "autoRegistrationEnabled")
        cert, der = parse_certificate(body["certInPemFormat"])
        now = self._clock()
        check_anchor(cert, now)
        fp = fingerprint(der)
        name = body.get("name") or java_dn(cert.subject)
        with self.store.transaction():
            if self.store.one("SELECT 1 FROM trusted_certs WHERE tenant = ? AND fingerprint = ?", (tenant, fp)):
                raise PlatformError(409, "tenants/Duplicate",
                                    "Duplicate - A certificate with the same fingerprint already exists.")
            self.store.execute(
                "INSERT INTO trusted_certs (tenant, fingerprint, name, status, auto_registration, der, pop_valid, "
                "pop_code, pop_until, created) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
                (tenant, fp, name, status, int(auto), der, new_code(), now + POP_VALIDITY, now))
        self._changed(tenant, fp, "uploaded")
        return self.row(tenant, fp)

    def update(self, tenant: str, fp: str, body: dict[str, Any]) -> Any:
        """Change name, status or autoRegistrationEnabled; other fields are read-only and ignored, as in JV2."""
        row = self.row(tenant, fp)
        if not isinstance(body, dict):
            raise invalid("tenants", "The body must be a JSON object.")
        _strings(body, "name")
        name = body["name"] if "name" in body and body["name"] is not None else row["name"]
        status = _status(body["status"]) if "status" in body else row["status"]
        auto = _flag(body["autoRegistrationEnabled"], "autoRegistrationEnabled") \
            if "autoRegistrationEnabled" in body else bool(row["auto_registration"])
        with self.store.transaction():
            self.store.execute("UPDATE trusted_certs SET name = ?, status = ?, auto_registration = ? "
                               "WHERE tenant = ? AND fingerprint = ?",
                               (name, status, int(auto), tenant, row["fingerprint"]))
        self._changed(tenant, row["fingerprint"], "disabled" if status == "DISABLED" != row["status"] else "updated")
        return self.row(tenant, fp)

    def delete(self, tenant: str, fp: str) -> None:
        """Remove a certificate; the broker closes sessions that chain to it (platform reference A11)."""
        row = self.row(tenant, fp)
        with self.store.transaction():
            self.store.execute("DELETE FROM trusted_certs WHERE tenant = ? AND fingerprint = ?",
                               (tenant, row["fingerprint"]))
        self._changed(tenant, row["fingerprint"], "deleted")

    def renew_code(self, tenant: str, fp: str) -> Any:
        """A fresh verification code usable for 24 hours (a completed proof stays valid)."""
        row = self.row(tenant, fp)
        with self.store.transaction():
            self.store.execute("UPDATE trusted_certs SET pop_code = ?, pop_until = ? "
                               "WHERE tenant = ? AND fingerprint = ?",
                               (new_code(), self._clock() + POP_VALIDITY, tenant, row["fingerprint"]))
        return self.row(tenant, fp)

    def prove(self, tenant: str, fp: str, body: dict[str, Any]) -> Any:
        """Check a signed verification code; success flips `proofOfPossessionValid`.

        Raises:
            PlatformError: 422 for a missing field or an expired code, 400 for a wrong signature (cloud wording).
        """
        row = self.row(tenant, fp)
        signature = body.get("proofOfPossessionSignedVerificationCode") if isinstance(body, dict) else None
        if not isinstance(signature, str) or not signature.strip():
            raise PlatformError(422, "tenants/Unprocessable Entity",
                                f"Cannot process certificate data <'{row['fingerprint']}'> for tenant <'{tenant}'>: "
                                "proofOfPossessionSignedVerificationCode is required.")
        if self._clock() > row["pop_until"]:
            raise PlatformError(422, "tenants/Unprocessable Entity",
                                f"Cannot process certificate data <'{row['fingerprint']}'> for tenant <'{tenant}'>: "
                                "the verification code has expired; request a new one.")
        cert = x509.load_der_x509_certificate(row["der"])
        if not verify_pop_signature(cert, row["pop_code"], signature):
            raise PlatformError(400, "tenants/Bad Request",
                                f"Wrong Proof Of Possession plaintext used for tenant <'{tenant}'>. "
                                f"Certificate <'{row['fingerprint']}'>, usage not granted.")
        with self.store.transaction():
            self.store.execute("UPDATE trusted_certs SET pop_valid = 1 WHERE tenant = ? AND fingerprint = ?",
                               (tenant, row["fingerprint"]))
        self._changed(tenant, row["fingerprint"], "pop")
        return self.row(tenant, fp)

    def _changed(self, tenant: str, fp: str, what: str) -> None:
        if self._on_change is not None:
            self._on_change(tenant, fp, what)


def new_code() -> str:
    """A random verification code of 136 base64 characters, like the cloud's."""
    return base64.b64encode(secrets.token_bytes(102)).decode()
