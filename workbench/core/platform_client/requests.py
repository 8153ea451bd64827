"""Sans-IO requests of the platform's REST API: the same calls for a real Cumulocity tenant and the local platform.

Core opens no sockets (ARCHITECTURE rule 1): these builders describe requests and `responses.py` reads the
answers; `workbench.services.platform_http` sends them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import serialization

CERT_MEDIA = "application/json"
OPTION_MEDIA = "application/vnd.com.nsn.cumulocity.option+json"
BULK_MEDIA = "application/vnd.com.nsn.cumulocity.bulknewdevicerequest+json"

DEVICE_TOKEN_OPTION = ("oauth.internal", "device-token.lifespan.seconds")


@dataclass(frozen=True)
class Multipart:
    """One file part of a multipart/form-data body (bulk registration, verify-cert-chain)."""

    field_name: str
    filename: str
    content: bytes
    content_type: str = "text/csv"


@dataclass(frozen=True)
class ApiRequest:
    """Everything needed to send one call; `auth` says which credential it needs: basic, bearer, cert or none."""

    method: str
    path: str
    auth: str = "basic"
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    multipart: tuple[Multipart, ...] = ()
    what: str = ""  # a phrase for messages: "upload the CA certificate"
    body: bytes | None = None  # a raw body with its Content-Type in `headers` (EST's base64 CSR)


def _tenant_path(tenant_id: str) -> str:
    return f"/tenant/tenants/{quote(tenant_id)}"


def current_tenant() -> ApiRequest:
    """The tenant id comes from here before any tenant-scoped call (as thin-edge does)."""
    return ApiRequest("GET", "/tenant/currentTenant", headers={"Accept": "application/json"},
                      what="read the current tenant")


def current_user(auth: str = "bearer") -> ApiRequest:
    """Who the credential is: with a device token, the device user `device_<CN>`."""
    return ApiRequest("GET", "/user/currentUser", auth=auth,
                      headers={"Accept": "application/vnd.com.nsn.cumulocity.currentuser+json"},
                      what="read the current user")


def list_trusted_certificates(tenant_id: str, page_size: int = 2000) -> ApiRequest:
    """All trusted certificates of a tenant in one page (the API allows up to 2000)."""
    return ApiRequest("GET", f"{_tenant_path(tenant_id)}/trusted-certificates?pageSize={page_size}",
                      headers={"Accept": CERT_MEDIA}, what="list trusted certificates")


def upload_trusted_certificate(tenant_id: str, certificate: x509.Certificate, name: str, *,
                               enabled: bool = True, auto_registration: bool = True) -> ApiRequest:
    """The guide's REST upload; the Accept header matters: without it the platform answers with no body."""
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    body = {"status": "ENABLED" if enabled else "DISABLED", "name": name,
            "autoRegistrationEnabled": auto_registration, "certInPemFormat": pem}
    return ApiRequest("POST", f"{_tenant_path(tenant_id)}/trusted-certificates", json=body,
                      headers={"Accept": CERT_MEDIA, "Content-Type": CERT_MEDIA},
                      what=f"upload the CA certificate '{name}'")


def update_trusted_certificate(tenant_id: str, fingerprint: str, *, name: str | None = None,
                               enabled: bool | None = None, auto_registration: bool | None = None) -> ApiRequest:
    """Change only what the API lets us change: name, status and autoRegistrationEnabled."""
    body: dict[str, Any] = {}
    if name is not None:
        body["name"] = name
    if enabled is not None:
        body["status"] = "ENABLED" if enabled else "DISABLED"
    if auto_registration is not None:
        body["autoRegistrationEnabled"] = auto_registration
    return ApiRequest("PUT", f"{_tenant_path(tenant_id)}/trusted-certificates/{fingerprint}", json=body,
                      headers={"Accept": CERT_MEDIA, "Content-Type": CERT_MEDIA},
                      what="update the trusted certificate")


def delete_trusted_certificate(tenant_id: str, fingerprint: str) -> ApiRequest:
    """Removing an anchor also closes the MQTT sessions that chain to it."""
    return ApiRequest("DELETE", f"{_tenant_path(tenant_id)}/trusted-certificates/{fingerprint}",
                      what="delete the trusted certificate")


def new_verification_code(tenant_id: str, fingerprint: str) -> ApiRequest:
    """A fresh proof-of-possession code (the old one may have expired)."""
    return ApiRequest("POST", f"/tenant/tenants/{quote(tenant_id)}/trusted-certificates-pop/{fingerprint}"
                      "/verification-code", headers={"Accept": CERT_MEDIA}, what="get a verification code")


def submit_proof_of_possession(tenant_id: str, fingerprint: str, signature_b64: str) -> ApiRequest:
    """Upload the signed code; the platform answers 400 when the signature does not match the certificate."""
    return ApiRequest("POST", f"/tenant/tenants/{quote(tenant_id)}/trusted-certificates-pop/{fingerprint}/pop",
                      json={"proofOfPossessionSignedVerificationCode": signature_b64},
                      headers={"Accept": CERT_MEDIA, "Content-Type": CERT_MEDIA},
                      what="upload the signed verification code")


def chain_header(chain: list[x509.Certificate] | tuple[x509.Certificate, ...], separator: str = " ") -> str:
    """PEM blocks on one line, newlines as spaces: the `X-Ssl-Cert-Chain` / `X-Cumulocity-Client-Cert-Chain` form."""
    blocks = [" ".join(c.public_bytes(serialization.Encoding.PEM).decode().split()) for c in chain]
    return separator.join(blocks)


def verify_cert_chain(chain: list[x509.Certificate] | tuple[x509.Certificate, ...],
                      tenant_id: str | None = None) -> ApiRequest:
    """Ask the platform to check a device chain before trying MQTT (the header form takes up to 5 certificates)."""
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)
    parts = [Multipart("file", "chain.pem", pem, "application/x-pem-file")]
    if tenant_id:
        parts.append(Multipart("tenantId", "", tenant_id.encode(), "text/plain"))
    return ApiRequest("POST", "/tenant/trusted-certificates/verify-cert-chain", multipart=tuple(parts),
                      headers={"Accept": "application/json"}, what="verify the device chain")


def bulk_registration(csv_bytes: bytes) -> ApiRequest:
    """Register devices from the fleet's CSV (AUTH_TYPE=CERTIFICATES rows)."""
    return ApiRequest("POST", "/devicecontrol/bulkNewDeviceRequests", headers={"Accept": BULK_MEDIA},
                      multipart=(Multipart("file", "bulk-registration.csv", csv_bytes),),
                      what="upload the bulk-registration CSV")


def get_option(category: str, key: str) -> ApiRequest:
    """Read one tenant option (404 when it was never set: the platform default applies)."""
    return ApiRequest("GET", f"/tenant/options/{quote(category)}/{quote(key)}", headers={"Accept": OPTION_MEDIA},
                      what=f"read tenant option {category}/{key}")


def set_option(category: str, key: str, value: str) -> ApiRequest:
    """Set a tenant option; values are strings on the wire."""
    return ApiRequest("POST", "/tenant/options", json={"category": category, "key": key, "value": str(value)},
                      headers={"Accept": OPTION_MEDIA, "Content-Type": OPTION_MEDIA},
                      what=f"set tenant option {category}/{key}")


def device_access_token(chain: list[x509.Certificate] | tuple[x509.Certificate, ...] = ()) -> ApiRequest:
    """The device JWT over mutual TLS; the chain header is needed only when the leaf's issuer was not uploaded."""
    headers = {"Accept": "application/json"}
    if chain:
        headers["X-Ssl-Cert-Chain"] = chain_header(chain)
    return ApiRequest("POST", "/devicecontrol/deviceAccessToken", auth="cert", headers=headers,
                      what="get a device access token")


def external_id(id_type: str, value: str) -> ApiRequest:
    """Find a device's managed object by its external id (c8y_Serial / <CN> after a `100`)."""
    return ApiRequest("GET", f"/identity/externalIds/{quote(id_type)}/{quote(value)}", auth="bearer",
                      headers={"Accept": "application/json"}, what=f"find device {value}")


def measurements(source_id: str, page_size: int = 20, auth: str = "bearer") -> ApiRequest:
    """The newest measurements of a device, to read back what it sent."""
    return ApiRequest("GET", f"/measurement/measurements?source={quote(source_id)}&pageSize={page_size}"
                      "&revert=true", auth=auth, headers={"Accept": "application/json"},
                      what="read measurements")


def logout() -> ApiRequest:
    """Revoke the device token when done, as the docs recommend."""
    return ApiRequest("POST", "/user/logout", auth="bearer", what="log out")


def basic_authorization(tenant_id: str | None, user: str, password: str) -> str:
    """`Basic base64(tenant/user:password)`: the platform's user form (no tenant prefix when it is unknown)."""
    login = f"{tenant_id}/{user}" if tenant_id and "/" not in user else user
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()
