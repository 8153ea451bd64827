"""Tenant routes: trusted certificates with PoP (§1), chain checks and CRL, options (§6), current tenant and user.

§ and A numbers are sections and decisions of the platform reference, docs/platform-reference.md.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from cryptography import x509

from embedded_broker.platform.chains import ChainRefused
from embedded_broker.platform.errors import PlatformError, forbidden, invalid
from embedded_broker.platform.formats import iso_ms, java_dn, parse_time, serial_hex
from embedded_broker.platform.trust import parse_certificate
from embedded_broker.rest.http import (
    CLAIMS,
    PLATFORM,
    form_body,
    json_body,
    json_object,
    page,
    require_admin,
    respond,
    user_of,
)

routes = web.RouteTableDef()
CERT_MEDIA = "application/vnd.com.nsn.cumulocity.trustedcertificate+json"
_PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)
TRUSTED = "/tenant/tenants/{tenant}/trusted-certificates"
POP = "/tenant/tenants/{tenant}/trusted-certificates-pop/{fp}"
MAX_CRL_ENTRIES = 5000
_SERIAL = re.compile(r"(?:0[xX])?[0-9a-fA-F]{1,40}")  # X.509 serials are at most 20 octets


def _platform(request: web.Request) -> Any:
    return request.app[PLATFORM]


# --- current tenant and user --------------------------------------------------------------------------------------
@routes.get("/tenant/currentTenant")
async def current_tenant(request: web.Request) -> web.Response:
    """Clients read the tenant id here before uploading (thin-edge does)."""
    user = user_of(request)
    platform = _platform(request)
    return respond(request, {"name": user.tenant, "domainName": platform.accounts.tenant_domain(user.tenant),
                             "self": f"{platform.base_url}/tenant/currentTenant", "allowCreateTenants": False,
                             "customProperties": {}})


@routes.get("/user/currentUser")
async def current_user(request: web.Request) -> web.Response:
    """The device's own user, the first call a device makes with its token."""
    user = user_of(request)
    return respond(request, {"id": user.name, "userName": user.name,
                             "self": f"{_platform(request).base_url}/user/currentUser",
                             "effectiveRoles": [{"id": r, "name": r} for r in user.roles],
                             "shouldResetPassword": False})


@routes.post("/user/logout")
async def logout(request: web.Request) -> web.Response:
    """Platform reference A7: revoke the Bearer token the call was made with."""
    claims = request.get(CLAIMS)
    if claims is not None:
        _platform(request).tokens.revoke(claims)
        _platform(request).events.emit("token_revoked", f"token of {claims['sub']} revoked by logout",
                                       tenant=claims["ten"])
    return web.Response(status=200)


# --- trusted certificates -----------------------------------------------------------------------------------------
@routes.get(TRUSTED)
async def list_certificates(request: web.Request) -> web.Response:
    """All certificates of the tenant, paged (`?certificateAuthority=true` finds the tenant CA, §8)."""
    tenant = request.match_info["tenant"]
    require_admin(request, tenant)
    trust = _platform(request).trust
    found = [trust.representation(r) for r in trust.list(tenant)]
    wanted = request.query.get("certificateAuthority", "").lower()
    if wanted in ("true", "false"):
        found = [c for c in found if c["tenantCertificateAuthority"] == (wanted == "true")]
    return respond(request, page(request, found, "certificates"))


@routes.post(TRUSTED)
async def upload_certificate(request: web.Request) -> web.Response:
    """201 with the certificate; 409 duplicate; 422 not v3, not a CA, expired or unreadable."""
    tenant = request.match_info["tenant"]
    require_admin(request, tenant)
    trust = _platform(request).trust
    row = trust.upload(tenant, await json_body(request))
    return respond(request, trust.representation(row), 201, CERT_MEDIA)


@routes.post(TRUSTED + "/bulk")
async def upload_bulk(request: web.Request) -> web.Response:
    """Several certificates at once; all or nothing."""
    tenant = request.match_info["tenant"]
    require_admin(request, tenant)
    platform = _platform(request)
    body = await json_body(request)
    certificates = body.get("certificates") if isinstance(body, dict) else None
    if not isinstance(certificates, list) or not certificates:
        raise invalid("tenants", "The body must be {\"certificates\": [...]} with at least one certificate.")
    with platform.store.transaction():
        rows = [platform.trust.upload(tenant, item) for item in certificates]
    return respond(request, {"certificates": [platform.trust.representation(r) for r in rows]}, 201)


@routes.get(TRUSTED + "/{fp}")
async def get_certificate(request: web.Request) -> web.Response:
    """One certificate by fingerprint (404 when unknown)."""
    tenant = request.match_info["tenant"]
    require_admin(request, tenant)
    trust = _platform(request).trust
    return respond(request, trust.representation(trust.row(tenant, request.match_info["fp"])))


@routes.put(TRUSTED + "/{fp}")
async def update_certificate(request: web.Request) -> web.Response:
    """Change name, status or auto-registration; disabling closes the sessions that chain to it
    (platform reference A11)."""
    tenant = request.match_info["tenant"]
    require_admin(request, tenant)
    trust = _platform(request).trust
    row = trust.update(tenant, request.match_info["fp"], await json_body(request))
    return respond(request, trust.representation(row), 200, CERT_MEDIA)


@routes.delete(TRUSTED + "/{fp}")
async def delete_certificate(request: web.Request) -> web.Response:
    """204; open MQTT sessions that chain to it are closed (platform reference A11)."""
    tenant = request.match_info["tenant"]
    require_admin(request, tenant)
    _platform(request).trust.delete(tenant, request.match_info["fp"])
    return web.Response(status=204)


@routes.post(POP + "/verification-code")
async def renew_code(request: web.Request) -> web.Response:
    """A fresh verification code for proof of possession."""
    tenant = request.match_info["tenant"]
    require_admin(request, tenant)
    trust = _platform(request).trust
    return respond(request, trust.representation(trust.renew_code(tenant, request.match_info["fp"])))


@routes.post(POP + "/pop")
async def prove(request: web.Request) -> web.Response:
    """200 with proofOfPossessionValid true, or 400 for a signature that does not match the certificate's key."""
    tenant = request.match_info["tenant"]
    require_admin(request, tenant)
    trust = _platform(request).trust
    row = trust.prove(tenant, request.match_info["fp"], await json_body(request))
    return respond(request, trust.representation(row))


@routes.post(POP + "/confirmed")
async def confirm(request: web.Request) -> web.Response:
    """Only the management tenant may override PoP; the local platform has none, so this is always 403."""
    require_admin(request, request.match_info["tenant"])
    raise forbidden("Access is denied: only the management tenant can confirm proof of possession.")


# --- chain check and CRL ------------------------------------------------------------------------------------------
def parse_pem_chain(text: str) -> list[x509.Certificate]:
    """Certificates from a PEM text whose newlines may have become spaces (the header forms of
    platform reference §1.6 and §2.1).

    Raises:
        PlatformError: 400 "Cannot parse X509 certificate" when nothing or something broken is found.
    """
    blocks = _PEM_BLOCK.findall(text or "")
    if not blocks:
        raise PlatformError(400, "Device Certificates/Bad Request", "Cannot parse X509 certificate. : Incomplete data")
    try:
        return [parse_certificate(block)[0] for block in blocks]
    except PlatformError:
        raise PlatformError(400, "Device Certificates/Bad Request",
                            "Cannot parse X509 certificate. : Incomplete data") from None


@routes.post("/tenant/trusted-certificates/verify-cert-chain")
async def verify_chain(request: web.Request) -> web.Response:
    """Check a device chain before connecting: the header or a multipart `file` (+ optional `tenantId`)."""
    user = require_admin(request)
    platform = _platform(request)
    tenant: str | None = None
    header = request.headers.get("X-Cumulocity-Client-Cert-Chain")
    if header is not None:
        chain = parse_pem_chain(header)
    else:
        form = await form_body(request)
        upload = form.get("file")
        text = upload.file.read().decode("utf-8", "replace") if hasattr(upload, "file") else str(upload or "")
        chain = parse_pem_chain(text)
        tenant = str(form["tenantId"]) if form.get("tenantId") else None
        if tenant is not None:
            try:
                platform.accounts.tenant_domain(tenant)
            except PlatformError:
                raise PlatformError(404, "Device Certificates/Not Found", "Tenant Id doesn't exists") from None
            require_admin(request, tenant)  # another tenant's trust is not the caller's business (403)
    try:
        match = platform.chains.check(chain, tenant or user.tenant)
    except ChainRefused as refusal:
        raise PlatformError(401, "security/Unauthorized", f"Invalid certificate chain! ({refusal.reason})") from None
    return respond(request, {"successfullyValidated": True, "tenantId": match.tenant,
                             "subject": java_dn(chain[0].subject, ","), "issuer": java_dn(chain[0].issuer)})


@routes.get("/tenant/trusted-certificates/settings/crl")
async def download_crl(request: web.Request) -> web.Response:
    """The tenant's offline revocation list, as the serials and dates uploaded (JSON; the cloud sends a CRL)."""
    user = require_admin(request)
    rows = _platform(request).store.all("SELECT serial_hex, revoked FROM revoked_serials WHERE tenant = ? "
                                        "ORDER BY revoked", (user.tenant,))
    return respond(request, {"crls": [{"serialNumberInHex": r["serial_hex"], "revocationDate": r["revoked"]}
                                      for r in rows]})


@routes.put("/tenant/trusted-certificates/settings/crl")
async def upload_crl(request: web.Request) -> web.Response:
    """Append revoked serials (JSON or a multipart CSV of `serialNumberInHex,revocationDate`); never undone."""
    user = require_admin(request)
    platform = _platform(request)
    entries: list[tuple[str, str]] = []
    if request.content_type.startswith("multipart/"):
        form = await form_body(request)
        upload = form.get("file")
        text = upload.file.read().decode("utf-8", "replace") if hasattr(upload, "file") else ""
        for line in text.splitlines():
            fields = [f.strip() for f in re.split(r"[,;\t]", line)]
            if not fields[0] or fields[0].lower() == "serialnumberinhex":
                continue
            entries.append((fields[0], fields[1] if len(fields) > 1 else ""))
    else:
        body = await json_body(request)
        crls = body.get("crls") if isinstance(body, dict) else None
        if not isinstance(crls, list) or not all(isinstance(i, dict) and isinstance(i.get("serialNumberInHex"), str)
                                                 and isinstance(i.get("revocationDate") or "", str) for i in crls):
            raise invalid("tenants", 'The body must be {"crls": [{"serialNumberInHex": "<hex>", "revocationDate": '
                                     '"<ISO 8601, optional>"}, ...]} with string values.')
        entries = [(item["serialNumberInHex"], item.get("revocationDate") or "") for item in crls]
    if not entries or len(entries) > MAX_CRL_ENTRIES:
        raise PlatformError(400, "tenants/Bad Request", f"Send 1 to {MAX_CRL_ENTRIES} entries of serialNumberInHex.")
    now = platform.clock()
    with platform.store.transaction():
        for serial, date in entries:
            try:
                if not _SERIAL.fullmatch(serial.strip()):
                    raise ValueError(serial)
                number = serial_hex(serial)
                stamp = iso_ms(min(parse_time(date), now) if date else now)
            except (ValueError, OverflowError, OSError):
                raise PlatformError(400, "tenants/Bad Request", f"Invalid CRL entry {serial[:80]!r}, {date[:80]!r}: "
                                    "serials are 1 to 40 hex digits (an optional 0x), dates ISO 8601.") from None
            platform.store.execute("INSERT OR IGNORE INTO revoked_serials (tenant, serial_hex, revoked) "
                                   "VALUES (?, ?, ?)", (user.tenant, number, stamp))
    platform.events.emit("crl_updated", f"{len(entries)} serial(s) added to the CRL", tenant=user.tenant)
    return web.Response(status=204)


# --- tenant options -----------------------------------------------------------------------------------------------
@routes.get("/tenant/options")
async def list_options(request: web.Request) -> web.Response:
    """Every option of the caller's tenant."""
    user = require_admin(request)
    return respond(request, page(request, _platform(request).options.list(user.tenant), "options"))


@routes.post("/tenant/options")
async def create_option(request: web.Request) -> web.Response:
    """200 (not 201) with the option, as the cloud answers; 422 for a bad name or a value outside a known rule."""
    user = require_admin(request)
    body = await json_body(request)
    if not isinstance(body, dict) or not all(k in body for k in ("category", "key", "value")):
        raise invalid("options", "The option needs category, key and value.")
    option = _platform(request).options.set(user.tenant, body["category"], body["key"], body["value"])
    return respond(request, option, 200)


@routes.get("/tenant/options/{category}")
async def category_options(request: web.Request) -> web.Response:
    """The options of one category as {key: value}."""
    user = require_admin(request)
    found = _platform(request).options.list(user.tenant, request.match_info["category"])
    return respond(request, {o["key"]: o["value"] for o in found})


@routes.put("/tenant/options/{category}")
async def update_category(request: web.Request) -> web.Response:
    """Several keys of one category at once."""
    user = require_admin(request)
    body = await json_object(request, "options", "The body must be {\"key\": \"value\", ...}.")
    options = _platform(request).options
    with _platform(request).store.transaction():
        stored = {key: options.set(user.tenant, request.match_info["category"], key, value)["value"]
                  for key, value in body.items()}
    return respond(request, stored)


@routes.get("/tenant/options/{category}/{key}")
async def get_option(request: web.Request) -> web.Response:
    """One option (404 when unknown)."""
    user = require_admin(request)
    return respond(request, _platform(request).options.require(user.tenant, request.match_info["category"],
                                                                request.match_info["key"]))


@routes.put("/tenant/options/{category}/{key}")
async def put_option(request: web.Request) -> web.Response:
    """Change one option's value."""
    user = require_admin(request)
    body = await json_body(request)
    if not isinstance(body, dict) or "value" not in body:
        raise invalid("options", "The body must be {\"value\": \"...\"}.")
    option = _platform(request).options.set(user.tenant, request.match_info["category"], request.match_info["key"],
                                            body["value"])
    return respond(request, option)


@routes.delete("/tenant/options/{category}/{key}")
async def delete_option(request: web.Request) -> web.Response:
    """Remove an option (a local default applies again)."""
    user = require_admin(request)
    _platform(request).options.delete(user.tenant, request.match_info["category"], request.match_info["key"])
    return web.Response(status=204)


