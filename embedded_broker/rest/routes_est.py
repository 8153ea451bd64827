"""REST side of the tenant CA (platform reference §8): feature toggle, CA create/renew, EST and audit records.

Why a module of its own: EST authenticates differently from every other route (Basic `<id>:<OTP>` for enrolment,
no mTLS-only re-enrolment, a public `cacerts`), so its three paths are in `http.PUBLIC_PATHS` and each handler
authenticates itself here. The rules live in `platform/tenant_ca.py`.
"""

from __future__ import annotations

import base64
import binascii

from aiohttp import web

from embedded_broker.platform.accounts import DEFAULT_TENANT, User
from embedded_broker.platform.errors import PlatformError, forbidden, unauthorized
from embedded_broker.platform.tenant_ca import FEATURE, MAX_CSR_BYTES, Enrolled, tenant_ca_of
from embedded_broker.rest.access import DOMAIN_TENANT, device_id_of
from embedded_broker.rest.http import (
    PLATFORM,
    USER,
    authenticate,
    certificate_user,
    json_body,
    page,
    read_body,
    require_admin,
    respond,
    user_of,
)

routes = web.RouteTableDef()
CERT_MEDIA = "application/vnd.com.nsn.cumulocity.trustedcertificate+json"
PKCS7_MEDIA = "application/pkcs7-mime; smime-type=certs-only"
_CSR_TYPES = ("application/pkcs10", "application/x-pkcs10")


# --- feature toggle ---------------------------------------------------------------------------------------------
@routes.get("/features")
async def list_features(request: web.Request) -> web.Response:
    """The toggles the local platform knows, for the caller's tenant."""
    return respond(request, [tenant_ca_of(request.app[PLATFORM]).feature(user_of(request).tenant)])


@routes.get("/features/{key}")
async def get_feature(request: web.Request) -> web.Response:
    """One toggle: `{"key": …, "phase": "PUBLIC_PREVIEW", "active": …, "strategy": "TENANT"}`."""
    return respond(request, tenant_ca_of(request.app[PLATFORM]).feature(user_of(request).tenant,
                                                                        request.match_info["key"]))


@routes.put("/features/{key}/by-tenant")
@routes.put("/features/{key}/by-tenant/{tenant}")
async def set_feature(request: web.Request) -> web.Response:
    """`{"active": true}` switches the toggle on for the caller's tenant (or the one named, if it is the caller's)."""
    user = require_admin(request, request.match_info.get("tenant"))
    body = await json_body(request)
    active = body.get("active") if isinstance(body, dict) else None
    return respond(request, tenant_ca_of(request.app[PLATFORM]).set_feature(user.tenant, active,
                                                                            request.match_info["key"]))


# --- the tenant CA ----------------------------------------------------------------------------------------------
@routes.post("/certificate-authority")
async def create_ca(request: web.Request) -> web.Response:
    """201 with the CA as a trusted certificate (`tenantCertificateAuthority: true`); 409 when there is one."""
    user = require_admin(request)
    platform = request.app[PLATFORM]
    row = tenant_ca_of(platform).create(user.tenant)
    return respond(request, platform.trust.representation(row), 201, CERT_MEDIA)


@routes.post("/certificate-authority/renew")
async def renew_ca(request: web.Request) -> web.Response:
    """201 with the renewed CA (same key pair); 422 while more than 18 months remain."""
    user = require_admin(request)
    platform = request.app[PLATFORM]
    row = tenant_ca_of(platform).renew(user.tenant)
    return respond(request, platform.trust.representation(row), 201, CERT_MEDIA)


# --- EST --------------------------------------------------------------------------------------------------------
def _pkcs7(body: bytes, status: int) -> web.Response:
    return web.Response(body=body, status=status, headers={"Content-Type": PKCS7_MEDIA,
                                                           "Content-Transfer-Encoding": "base64"})


async def _csr_body(request: web.Request) -> bytes:
    if request.content_type.lower() not in _CSR_TYPES:
        raise PlatformError(415, "est/Unsupported Media Type",
                            f"Send the CSR with Content-Type: application/pkcs10 (got {request.content_type!r}).")
    return await read_body(request, MAX_CSR_BYTES)


def _enrolled(request: web.Request, enrolled: Enrolled, status: int) -> web.Response:
    return _pkcs7(enrolled.body, status)


@routes.post("/.well-known/est/simpleenroll")
async def simple_enroll(request: web.Request) -> web.Response:
    """Basic `<device id>:<OTP>` and a base64 DER CSR → 201 base64 PKCS#7 certs-only with the device certificate."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        raise unauthorized("Enrolment needs Basic authentication with the device id and its one-time password "
                           "(Authorization: Basic base64(<id>:<OTP>)).")
    try:
        login, _, otp = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise unauthorized("Invalid credentials! : the Basic header is not base64 of <id>:<OTP>") from None
    body = await _csr_body(request)
    enrolled = tenant_ca_of(request.app[PLATFORM]).enroll(login, otp, body, request.get(DOMAIN_TENANT))
    return _enrolled(request, enrolled, 201)


@routes.post("/.well-known/est/simplereenroll")
async def simple_reenroll(request: web.Request) -> web.Response:
    """Basic or Bearer of the device user (mTLS alone → 401) and a new CSR → 201 with the new certificate."""
    if not request.headers.get("Authorization"):
        raise unauthorized("Re-enrolment needs the device's credentials in an Authorization header (Bearer <device "
                           "token> or Basic); a client certificate alone is not enough.")
    user = await authenticate(request)
    _same_tenant(request, user)
    if user.kind != "device":
        raise forbidden("Access is denied: re-enrolment is for devices (ROLE_DEVICE); an admin enrols a device "
                        "with a new one-time password instead.")
    body = await _csr_body(request)
    enrolled = tenant_ca_of(request.app[PLATFORM]).reenroll(user.tenant, device_id_of(user), body)
    return _enrolled(request, enrolled, 201)


def _same_tenant(request: web.Request, user: User) -> None:
    tenant = request.get(DOMAIN_TENANT)
    if tenant is not None and user.tenant != tenant:
        raise unauthorized(f"Invalid credentials! : {user.tenant}/{user.name} does not belong to tenant {tenant}.")
    request[USER] = user


@routes.get("/.well-known/est/cacerts")
async def ca_certs(request: web.Request) -> web.Response:
    """The tenant CA as base64 PKCS#7 certs-only; the tenant comes from the domain, the credentials, the client
    certificate, or else is t100."""
    tenant = request.get(DOMAIN_TENANT)
    if tenant is None and request.headers.get("Authorization"):
        tenant = (await authenticate(request)).tenant
    if tenant is None:
        device = certificate_user(request)
        tenant = device.tenant if device is not None else DEFAULT_TENANT
    return _pkcs7(tenant_ca_of(request.app[PLATFORM]).cacerts(tenant), 200)


# --- audit ------------------------------------------------------------------------------------------------------
@routes.get("/audit/auditRecords")
async def audit_records(request: web.Request) -> web.Response:
    """The tenant's audit records (enrolments and renewals by the tenant CA), `?type=` filters."""
    user = require_admin(request)
    found = tenant_ca_of(request.app[PLATFORM]).audit_records(user.tenant, request.query.get("type"))
    return respond(request, page(request, found, "auditRecords"))


__all__ = ["FEATURE", "routes"]
