"""The tenant certificate authority and EST enrolment (platform reference §8, §3.2, §3.4), one per platform.

Why: the platform's second onboarding path lets the tenant run its own CA; a device registered with a one-time
password (OTP) sends its CSR over EST (`/.well-known/est/simpleenroll`) and gets a certificate that chains to the
tenant CA, then renews it (`simplereenroll`) before it expires. This module holds the rules; `rest/routes_est.py`
is the HTTP side.

- Feature toggle `certificate-authority` per tenant (off by default), table `features`.
- The tenant CA is an ordinary row of `trusted_certs` (so TLS trust, chain checks and auto-registration treat it like
  an uploaded CA) marked in `tenant_ca`; its private key is sealed in `meta` (`key_vault`).
- Renewal keeps the key pair and the subject, so every device certificate issued before still chains to it.
- The OTP lives on the tenant's new device request (`device_requests.py`), as a SHA-256 digest; a successful
  enrolment consumes it.
- Every enrolment and renewal is an audit record (`audit_records`, `GET /audit/auditRecords`) and an event.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import secrets
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from embedded_broker.platform.core import device_user
from embedded_broker.platform.device_requests import otp_matches, requests_of
from embedded_broker.platform.errors import PlatformError, invalid
from embedded_broker.platform.formats import iso_ms, java_dn, serial_hex
from embedded_broker.platform.key_vault import get_secret, set_secret
from embedded_broker.platform.options import EST_CATEGORY, EST_VALIDITY_KEY
from embedded_broker.platform.trust import fingerprint, new_code
from embedded_broker.store import dumps

if TYPE_CHECKING:
    from embedded_broker.platform.core import Platform

FEATURE = "certificate-authority"
CA_VALIDITY = dt.timedelta(days=1095)
RENEW_WINDOW = dt.timedelta(days=548)  # 18 months: renewal is refused while more than this remains
DEVICE_VALIDITY_SECONDS = 365 * 24 * 3600
BACKDATE = dt.timedelta(seconds=60)  # a new certificate starts a minute ago: device clocks lag
AUDIT_TYPE = "TenantCertificateAuthority"
NO_REQUEST = ("No newDeviceRequest found for this ID. It may already be registered, check the audit logs for "
              "details.")
NO_CA = "Tenant CA certificate is either missing, expired, or has a validity of less than one year"
MAX_CSR_BYTES = 64 * 1024
_ARMOUR = re.compile(rb"-----(BEGIN|END) [A-Z0-9 ]+-----")
_TABLES = """
CREATE TABLE IF NOT EXISTS features (
    tenant TEXT NOT NULL, key TEXT NOT NULL, active INTEGER NOT NULL, PRIMARY KEY (tenant, key));
CREATE TABLE IF NOT EXISTS tenant_ca (tenant TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS audit_records (
    id INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, body TEXT NOT NULL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS audit_records_by_tenant ON audit_records (tenant, id);
"""


def _key_slot(tenant: str) -> str:
    return f"tenant_ca_key:{tenant}"


def _utc(moment: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(moment, dt.UTC)


def pkcs7_certs_only(certs: list[x509.Certificate]) -> bytes:
    """Base64 (76-character lines, RFC 2045) of a degenerate PKCS#7 SignedData holding `certs`: EST's answer."""
    der = pkcs7.serialize_certificates(certs, serialization.Encoding.DER)
    text = base64.b64encode(der).decode()
    return ("\n".join(text[i:i + 76] for i in range(0, len(text), 76)) + "\n").encode()


def read_csr(body: bytes) -> x509.CertificateSigningRequest:
    """A CSR from an EST body: base64 DER (the standard), PEM, or raw DER.

    Raises:
        PlatformError: 400 when the body is no CSR or its signature is wrong.
    """
    if not body.strip():
        raise PlatformError(400, "est/Bad Request", "The body is empty: send the CSR as base64 DER with "
                                                    "Content-Type: application/pkcs10.")
    try:
        text = b"".join(_ARMOUR.sub(b"", body).split())
        der = body if body[:1] == b"\x30" and not text.isascii() else base64.b64decode(text, validate=True)
        csr = x509.load_der_x509_csr(der)
    except (binascii.Error, ValueError, UnsupportedAlgorithm):
        raise PlatformError(400, "est/Bad Request", "The body is not a PKCS#10 certificate signing request: send "
                                                    "base64 DER (openssl req -outform DER | base64) with "
                                                    "Content-Type: application/pkcs10.") from None
    if not csr.is_signature_valid:
        raise PlatformError(400, "est/Bad Request", "The CSR's signature does not verify with its public key.")
    return csr


def _check_csr(csr: x509.CertificateSigningRequest, device_id: str) -> None:
    """The enrolment rules: CN = device id, no CA:TRUE, a key the platform signs.

    Raises:
        PlatformError: 422 naming the rule.
    """
    cns = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = cns[0].value if cns else None
    if cn != device_id:
        raise invalid("est", f"The CSR's CN is {cn!r}, but the device enrolls as {device_id!r}: the CN must be "
                             "the device id.")
    try:
        constraints = csr.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    except ValueError:
        raise invalid("est", "The CSR's requested extensions cannot be read.") from None
    if constraints is not None and constraints.ca:
        raise invalid("est", "The CSR asks for a CA certificate (basicConstraints CA:TRUE); a device certificate "
                             "must not be a CA.")
    key = csr.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise invalid("est", f"The CSR's RSA key has {key.key_size} bits; at least 2048 are needed.")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
            raise invalid("est", f"The CSR's EC curve {key.curve.name} is not supported; use P-256, P-384 or "
                                 "P-521.")
    elif not isinstance(key, ed25519.Ed25519PublicKey):
        raise invalid("est", "The CSR's key type is not supported; use RSA (2048+), EC P-256/384/521 or Ed25519.")


@dataclass(frozen=True, slots=True)
class Enrolled:
    """An issued device certificate and what the answer and the audit record need."""

    tenant: str
    device_id: str
    certificate: x509.Certificate
    ca: x509.Certificate

    @property
    def body(self) -> bytes:
        """The EST answer body (base64 PKCS#7 certs-only with the device certificate)."""
        return pkcs7_certs_only([self.certificate])


class TenantCA:
    """Feature toggles, tenant CAs, EST enrolment and the audit log of one platform."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.store = platform.store
        with self.store.transaction():
            for statement in filter(str.strip, _TABLES.split(";")):
                self.store.execute(statement)

    # --- feature toggle ------------------------------------------------------------------------------------
    def feature(self, tenant: str, key: str = FEATURE) -> dict[str, Any]:
        """The toggle as the cloud shows it (`GET /features/{key}`)."""
        self._known_feature(key)
        row = self.store.one("SELECT active FROM features WHERE tenant = ? AND key = ?", (tenant, key))
        return {"key": key, "phase": "PUBLIC_PREVIEW", "strategy": "TENANT", "active": bool(row and row["active"])}

    def set_feature(self, tenant: str, active: Any, key: str = FEATURE) -> dict[str, Any]:
        """Switch the toggle for one tenant (`PUT /features/{key}/by-tenant`).

        Raises:
            PlatformError: 404 for an unknown feature, 422 for an `active` that is not true or false.
        """
        self._known_feature(key)
        if isinstance(active, str) and active.lower() in ("true", "false"):
            active = active.lower() == "true"
        if not isinstance(active, bool):
            raise invalid("features", 'The body must be {"active": true} or {"active": false}.')
        with self.store.transaction():
            self.store.execute("INSERT INTO features (tenant, key, active) VALUES (?, ?, ?) ON CONFLICT(tenant, key) "
                               "DO UPDATE SET active = excluded.active", (tenant, key, int(active)))
        self.platform.events.emit("feature_changed", f"feature {key} {'enabled' if active else 'disabled'}",
                                  tenant=tenant, feature=key)
        return self.feature(tenant, key)

    @staticmethod
    def _known_feature(key: str) -> None:
        if key != FEATURE:
            raise PlatformError(404, "features/Not Found", f"Feature {key[:60]!r} is not known to the local "
                                                           f"platform (it knows {FEATURE!r}).")

    def _require_feature(self, tenant: str) -> None:
        if not self.feature(tenant)["active"]:
            raise PlatformError(404, "Not Found", "This feature is disabled, please contact system administrator. "
                                                  f"(Enable it with PUT /features/{FEATURE}/by-tenant "
                                                  '{"active": true}.)')

    # --- the CA --------------------------------------------------------------------------------------------
    def fingerprint_of(self, tenant: str) -> str | None:
        """The fingerprint of the tenant's CA, or None when it has none."""
        row = self.store.one("SELECT fingerprint FROM tenant_ca WHERE tenant = ?", (tenant,))
        return None if row is None else row["fingerprint"]

    def ca_of(self, tenant: str) -> tuple[x509.Certificate, Any] | None:
        """The tenant CA's certificate and private key, or None."""
        fp = self.fingerprint_of(tenant)
        key_pem = get_secret(self.store, _key_slot(tenant))
        if fp is None or key_pem is None:
            return None
        row = self.store.one("SELECT der FROM trusted_certs WHERE tenant = ? AND fingerprint = ?", (tenant, fp))
        if row is None:  # deleted as a trusted certificate: the CA is gone
            return None
        return x509.load_der_x509_certificate(row["der"]), serialization.load_pem_private_key(key_pem.encode(), None)

    def create(self, tenant: str) -> Any:
        """`POST /certificate-authority`: a new CA for the tenant (a `trusted_certs` row).

        Raises:
            PlatformError: 404 while the feature is off, 409 when the tenant has one.
        """
        self._require_feature(tenant)
        if self.ca_of(tenant) is not None:
            raise PlatformError(409, "certificate-authority/Duplicate",
                                f"Tenant {tenant} already has a certificate authority; renew it with POST "
                                "/certificate-authority/renew.")
        key = ec.generate_private_key(ec.SECP256R1())
        now = self.platform.clock()
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Cumulocity"),  # shown CN=…, O=…
                             x509.NameAttribute(NameOID.COMMON_NAME, tenant)])
        cert = self._ca_certificate(subject, key, now)
        der = cert.public_bytes(serialization.Encoding.DER)
        fp = fingerprint(der)
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        with self.store.transaction():
            self.store.execute("DELETE FROM tenant_ca WHERE tenant = ?", (tenant,))
            self.store.execute(
                "INSERT INTO trusted_certs (tenant, fingerprint, name, status, auto_registration, der, pop_valid, "
                "pop_code, pop_until, created) VALUES (?, ?, ?, 'ENABLED', 0, ?, 1, ?, ?, ?)",
                (tenant, fp, f"Tenant CA {tenant}", der, new_code(), now, now))
            self.store.execute("INSERT INTO tenant_ca (tenant, fingerprint, created) VALUES (?, ?, ?)",
                               (tenant, fp, now))
            set_secret(self.store, _key_slot(tenant), key_pem)
        self.platform._trust_changed(tenant, fp, "uploaded")  # the TLS trust list and the event log
        self.platform.events.emit("tenant_ca_created", f"tenant certificate authority {fp} created", tenant=tenant,
                                  fingerprint=fp)
        return self.platform.trust.row(tenant, fp)

    def renew(self, tenant: str) -> Any:
        """`POST /certificate-authority/renew`: the same key pair and subject, a new validity of 1095 days.

        Raises:
            PlatformError: 404 without a CA (or with the feature off), 422 while more than 18 months remain.
        """
        self._require_feature(tenant)
        found = self.ca_of(tenant)
        if found is None:
            raise PlatformError(404, "certificate-authority/Not Found",
                                f"Tenant {tenant} has no certificate authority; create it with POST "
                                "/certificate-authority.")
        old, key = found
        now = self.platform.clock()
        remaining = old.not_valid_after_utc - _utc(now)
        if remaining > RENEW_WINDOW:
            raise invalid("certificate-authority",
                          f"The tenant CA is valid until {iso_ms(old.not_valid_after_utc)} ({remaining.days} days "
                          f"left); it can be renewed when less than 18 months ({RENEW_WINDOW.days} days) remain.")
        cert = self._ca_certificate(old.subject, key, now)
        der = cert.public_bytes(serialization.Encoding.DER)
        old_fp, fp = fingerprint(old.public_bytes(serialization.Encoding.DER)), fingerprint(der)
        with self.store.transaction():
            self.store.execute("UPDATE trusted_certs SET fingerprint = ?, der = ? WHERE tenant = ? AND fingerprint = ?",
                               (fp, der, tenant, old_fp))
            self.store.execute("UPDATE tenant_ca SET fingerprint = ? WHERE tenant = ?", (fp, tenant))
        self.platform._trust_changed(tenant, fp, "uploaded")
        self.platform.events.emit("tenant_ca_renewed", f"tenant certificate authority renewed: {old_fp} → {fp}, "
                                  f"valid until {iso_ms(cert.not_valid_after_utc)}", tenant=tenant, fingerprint=fp)
        return self.platform.trust.row(tenant, fp)

    @staticmethod
    def _ca_certificate(subject: x509.Name, key: Any, now: float) -> x509.Certificate:
        public = key.public_key()
        start = _utc(now) - BACKDATE
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(public)
                .serial_number(x509.random_serial_number()).not_valid_before(start)
                .not_valid_after(start + CA_VALIDITY)
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False, key_agreement=False,
                                             key_cert_sign=True, crl_sign=True, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
                .sign(key, hashes.SHA256()))

    # --- EST -----------------------------------------------------------------------------------------------
    def validity_seconds(self, tenant: str) -> int:
        """Device certificate validity: 1 year, or the local option local-platform/est.certificate.validity.seconds."""
        text = self.platform.options.effective(tenant, EST_CATEGORY, EST_VALIDITY_KEY)
        return int(text) if text else DEVICE_VALIDITY_SECONDS

    def cacerts(self, tenant: str) -> bytes:
        """`GET /.well-known/est/cacerts`: base64 PKCS#7 certs-only with the tenant CA.

        Raises:
            PlatformError: 404 without a CA.
        """
        found = self.ca_of(tenant)
        if found is None:
            raise PlatformError(404, "est/Not Found", f"{NO_CA} (tenant {tenant} has no certificate authority).")
        return pkcs7_certs_only([found[0]])

    def enroll(self, login: str, otp: str, body: bytes, domain_tenant: str | None) -> Enrolled:
        """`simpleenroll`: Basic `<device id>:<OTP>` (a `<tenant>/` prefix is allowed) and a CSR.

        Raises:
            PlatformError: 401 with the platform's message for a wrong or used OTP or no registration; 400/422 for
                the CSR; 404/422 without the feature or a usable CA.
        """
        tenant_hint, _, device_id = login.rpartition("/")
        tenants = [t for t in (tenant_hint or domain_tenant,) if t] or None
        requests = requests_of(self.platform)
        match = None
        for row in requests.enrollment_rows(device_id):
            if tenants is not None and row["tenant"] not in tenants:
                continue
            if otp_matches(row, otp):
                match = row
                break
        if match is None:
            self.platform.events.emit("est_refused", f"simpleenroll for {device_id[:60]!r}: no matching one-time "
                                      "password (wrong, used, or no registration)", tenant=tenants[0] if tenants
                                      else "", device=device_id[:128])
            raise PlatformError(401, "security/Unauthorized", NO_REQUEST)
        tenant = match["tenant"]
        self._require_feature(tenant)
        csr = read_csr(body)
        _check_csr(csr, device_id)
        existing = self.platform.accounts.user(tenant, device_user(device_id))
        if existing is not None and existing.auth_type != "CERTIFICATES":
            raise invalid("est", f"Device {device_id} is registered with password authentication, not "
                                 "certificates.")
        with self.store.transaction():
            enrolled = self._issue(tenant, device_id, csr)
            requests.consume(tenant, device_id)
            if existing is None:
                self.platform.accounts.add_user(tenant, device_user(device_id), "device", auth_type="CERTIFICATES")
        if self.platform.device_object(tenant, device_id) is None:
            self.platform.create_device(tenant, device_id, owner=device_user(device_id))
        self._audit(enrolled, "signed certificate for device")
        return enrolled

    def reenroll(self, tenant: str, device_id: str, body: bytes) -> Enrolled:
        """`simplereenroll` for an authenticated device user: a new certificate for the same device id.

        Raises:
            PlatformError: 400/422 for the CSR; 404/422 without the feature or a usable CA.
        """
        self._require_feature(tenant)
        csr = read_csr(body)
        _check_csr(csr, device_id)
        with self.store.transaction():
            enrolled = self._issue(tenant, device_id, csr)
        self._audit(enrolled, "re-signed certificate for device:")
        return enrolled

    def _issue(self, tenant: str, device_id: str, csr: x509.CertificateSigningRequest) -> Enrolled:
        found = self.ca_of(tenant)
        now = self.platform.clock()
        if found is None or found[0].not_valid_after_utc - _utc(now) < dt.timedelta(days=365):
            raise invalid("est", NO_CA)
        ca, key = found
        public = csr.public_key()
        start = _utc(now) - BACKDATE
        end = start + BACKDATE + dt.timedelta(seconds=self.validity_seconds(tenant))
        rsa_key = isinstance(public, rsa.RSAPublicKey)
        ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        cert = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca.subject).public_key(public)
                .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                             key_encipherment=rsa_key, data_encipherment=False, key_agreement=False,
                                             key_cert_sign=False, crl_sign=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
                .sign(key, hashes.SHA256()))
        return Enrolled(tenant, device_id, cert, ca)

    # --- audit ---------------------------------------------------------------------------------------------
    def _audit(self, enrolled: Enrolled, activity: str) -> None:
        serial = serial_hex(enrolled.certificate.serial_number)
        renewal = activity.startswith("re-")
        now = self.platform.clock()
        body = {"type": AUDIT_TYPE, "time": iso_ms(now), "creationTime": iso_ms(now), "severity": "information",
                "activity": f"Tenant certificate authority (CA) {activity} {enrolled.device_id}" + (
                    "." if renewal else ""),
                "text": f"Certificate serial number hex: '{serial}'", "user": device_user(enrolled.device_id),
                "application": "est", "c8y_DeviceId": enrolled.device_id,
                "c8y_Certificate": {"serialNumberHex": serial, "subject": java_dn(enrolled.certificate.subject),
                                    "notAfter": iso_ms(enrolled.certificate.not_valid_after_utc)}}
        mo = self.platform.device_object(enrolled.tenant, enrolled.device_id)
        if mo is not None:
            body["source"] = {"id": mo}
        with self.store.transaction():
            self.store.execute("INSERT INTO audit_records (tenant, body, created) VALUES (?, ?, ?)",
                               (enrolled.tenant, dumps(body), now))
        kind = "certificate_reenrolled" if renewal else "certificate_enrolled"
        self.platform.events.emit(kind, f"EST {'re-enrolment' if renewal else 'enrolment'}: certificate "
                                  f"{serial} for {enrolled.device_id}, valid until "
                                  f"{iso_ms(enrolled.certificate.not_valid_after_utc)}", tenant=enrolled.tenant,
                                  device=enrolled.device_id, serial=serial)

    def audit_records(self, tenant: str, type_: str | None = None) -> list[dict[str, Any]]:
        """The tenant's audit records, oldest first (`?type=` filters)."""
        from embedded_broker.store import loads

        found = []
        for row in self.store.all("SELECT id, body FROM audit_records WHERE tenant = ? ORDER BY id", (tenant,)):
            body = loads(row["body"])
            if type_ is None or body.get("type") == type_:
                found.append({"id": str(row["id"]),
                              "self": f"{self.platform.base_url}/audit/auditRecords/{row['id']}", **body})
        return found


def new_otp() -> str:
    """A one-time password as GO makes them: 31 URL-safe characters."""
    return secrets.token_urlsafe(24)[:31]


_BY_PLATFORM: weakref.WeakKeyDictionary[Platform, TenantCA] = weakref.WeakKeyDictionary()


def tenant_ca_of(platform: Platform) -> TenantCA:
    """The one `TenantCA` of a platform (its tables are created on first use)."""
    found = _BY_PLATFORM.get(platform)
    if found is None:
        found = _BY_PLATFORM[platform] = TenantCA(platform)
    return found


