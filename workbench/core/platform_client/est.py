"""Sans-IO calls of the platform-CA path (platform reference §8): feature toggle, tenant CA, one-time-password
registration and EST enrol / re-enrol / cacerts, plus the CSR and PKCS#7 helpers they need.

Why here: the CLI, the GUI and the onboarding flow send the same EST calls to the local platform and to a tenant;
`workbench.services.est` sends them, this module only builds requests and reads answers (no sockets).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from workbench.core.pki.keys import PrivateKey
from workbench.core.platform_client.requests import CERT_MEDIA, ApiRequest
from workbench.errors import CertificateError

FEATURE = "certificate-authority"
CSR_MEDIA = "application/pkcs10"
PKCS7_MEDIA = "application/pkcs7-mime"
OTP_LENGTH = 31  # as go-c8y makes them (at most 32)
VALIDITY_OPTION = ("local-platform", "est.certificate.validity.seconds")  # local platform only


def new_otp() -> str:
    """A one-time password of 31 URL-safe characters."""
    return secrets.token_urlsafe(24)[:OTP_LENGTH]


def feature() -> ApiRequest:
    """Whether the tenant CA feature is on (`{"active": …}`)."""
    return ApiRequest("GET", f"/features/{FEATURE}", headers={"Accept": "application/json"},
                      what="read the certificate-authority feature toggle")


def enable_feature(active: bool = True) -> ApiRequest:
    """Switch the certificate-authority feature for the caller's tenant."""
    return ApiRequest("PUT", f"/features/{FEATURE}/by-tenant", json={"active": active},
                      headers={"Accept": "application/json", "Content-Type": "application/json"},
                      what="enable the certificate-authority feature")


def create_ca() -> ApiRequest:
    """Create the tenant CA (409 when it exists)."""
    return ApiRequest("POST", "/certificate-authority", headers={"Accept": CERT_MEDIA},
                      what="create the tenant certificate authority")


def find_ca(tenant_id: str) -> ApiRequest:
    """The tenant CA among the trusted certificates."""
    return ApiRequest("GET", f"/tenant/tenants/{quote(tenant_id)}/trusted-certificates?certificateAuthority=true",
                      headers={"Accept": CERT_MEDIA}, what="find the tenant certificate authority")


def renew_ca() -> ApiRequest:
    """Renew the tenant CA (same key pair; refused while more than 18 months remain)."""
    return ApiRequest("POST", "/certificate-authority/renew", headers={"Accept": CERT_MEDIA},
                      what="renew the tenant certificate authority")


def register_with_otp(device_id: str, otp: str) -> ApiRequest:
    """A new device request whose enrollmentToken is the device's one-time password."""
    return ApiRequest("POST", "/devicecontrol/newDeviceRequests", json={"id": device_id, "enrollmentToken": otp},
                      headers={"Accept": "application/json", "Content-Type": "application/json"},
                      what=f"register device {device_id} with a one-time password")


def delete_request(device_id: str) -> ApiRequest:
    """Remove a device's request (a new OTP needs a new request)."""
    return ApiRequest("DELETE", f"/devicecontrol/newDeviceRequests/{quote(device_id)}",
                      what=f"delete the new device request of {device_id}")


def set_validity(seconds: int) -> ApiRequest:
    """Local platform only: device certificates valid `seconds` (rehearse renewal)."""
    return ApiRequest("PUT", f"/tenant/options/{VALIDITY_OPTION[0]}/{VALIDITY_OPTION[1]}", json={"value": str(seconds)},
                      headers={"Accept": "application/json", "Content-Type": "application/json"},
                      what="set the local platform's EST certificate validity")


def csr_body(csr: x509.CertificateSigningRequest) -> bytes:
    """The EST body: base64 of the DER CSR, in 64-character lines."""
    text = base64.b64encode(csr.public_bytes(serialization.Encoding.DER)).decode()
    return ("\n".join(text[i:i + 64] for i in range(0, len(text), 64)) + "\n").encode()


def _est(path: str, csr: x509.CertificateSigningRequest, auth: str, headers: dict[str, str], what: str) -> ApiRequest:
    return ApiRequest("POST", path, auth=auth, body=csr_body(csr), what=what,
                      headers={"Content-Type": CSR_MEDIA, "Content-Transfer-Encoding": "base64",
                               "Accept": PKCS7_MEDIA, **headers})


def simple_enroll(device_id: str, otp: str, csr: x509.CertificateSigningRequest) -> ApiRequest:
    """EST enrolment with Basic `<device id>:<OTP>` (no tenant prefix, as devices send it)."""
    basic = base64.b64encode(f"{device_id}:{otp}".encode()).decode()
    return _est("/.well-known/est/simpleenroll", csr, "none", {"Authorization": f"Basic {basic}"},
                f"enroll device {device_id} over EST")


def simple_reenroll(csr: x509.CertificateSigningRequest) -> ApiRequest:
    """EST re-enrolment with the device token (Bearer); mTLS alone is refused."""
    return _est("/.well-known/est/simplereenroll", csr, "bearer", {}, "re-enroll the device over EST")


def cacerts() -> ApiRequest:
    """The tenant CA as PKCS#7 (no credentials needed)."""
    return ApiRequest("GET", "/.well-known/est/cacerts", auth="none", headers={"Accept": PKCS7_MEDIA},
                      what="read the EST CA certificates")


def make_csr(key: PrivateKey, device_id: str) -> x509.CertificateSigningRequest:
    """A CSR with CN = device id, signed with the device's key (which never leaves the device)."""
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_id)]))
    return builder.sign(key, algorithm)


def read_pkcs7(body: bytes) -> list[x509.Certificate]:
    """The certificates of an EST answer (base64 PKCS#7 certs-only; DER or PEM are read too).

    Raises:
        CertificateError: the answer holds no certificate.
    """
    try:
        if body.lstrip().startswith(b"-----BEGIN"):
            return pkcs7.load_pem_pkcs7_certificates(body)
        der = body if body[:1] == b"\x30" and not body.isascii() else base64.b64decode(b"".join(body.split()),
                                                                                        validate=True)
        certificates = pkcs7.load_der_pkcs7_certificates(der)
    except (binascii.Error, ValueError) as exc:
        raise CertificateError("The EST answer is not a PKCS#7 certificate bundle",
                               (str(exc), "Check that the URL is the platform's /.well-known/est/ path.")) from exc
    if not certificates:
        raise CertificateError("The EST answer holds no certificate", ("The platform sent an empty PKCS#7.",))
    return certificates


def certificate_of(representation: Any) -> x509.Certificate | None:
    """The certificate of a TrustedCertificate representation (`certInPemFormat`), or None."""
    text = representation.get("certInPemFormat") if isinstance(representation, dict) else None
    if not isinstance(text, str):
        return None
    body = "".join(line for line in text.splitlines() if "-----" not in line)
    try:
        return x509.load_der_x509_certificate(base64.b64decode("".join(body.split())))
    except (binascii.Error, ValueError):
        return None
