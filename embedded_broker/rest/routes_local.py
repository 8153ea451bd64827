"""Local extras (A15): JWKS, health, the live event stream, tenant administration for the PoP scenario, and a
read-only device overview (who is registered, which managed object, connected or not) for the workbench's page.

A15 is a decision of the platform reference, docs/platform-reference.md.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from embedded_broker import __version__
from embedded_broker.platform.core import SERIAL_TYPE, Platform
from embedded_broker.platform.errors import invalid
from embedded_broker.platform.formats import iso_ms
from embedded_broker.rest.access import event_visible
from embedded_broker.rest.http import PLATFORM, PORTS, json_body, require_admin, respond

routes = web.RouteTableDef()
KEEPALIVE_SECONDS = 15.0


@routes.get("/.well-known/jwks.json")
async def jwks(request: web.Request) -> web.Response:
    """The token signing key, so clients can verify device tokens (the cloud does not publish one)."""
    return web.json_response(request.app[PLATFORM].tokens.jwks)


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    """Liveness for the workbench's status bar and installers' self-test."""
    platform = request.app[PLATFORM]
    return web.json_response({"status": "UP", "version": __version__, "tenants": platform.accounts.tenants(),
                              "ports": request.app.get(PORTS, {})})


@routes.get("/platform/events")
async def event_stream(request: web.Request) -> web.StreamResponse:
    """Server-sent events of the platform log; `?history=true` replays the remembered past first.

    A tenant's admin sees its tenant's events only; the owner of the local platform (t100/admin) sees every
    tenant's events and the platform-level ones (those without a tenant, such as a TLS failure).
    """
    user = require_admin(request)
    platform = request.app[PLATFORM]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    queue = platform.events.subscribe()
    try:
        if request.query.get("history", "false").lower() == "true":
            for event in platform.events.recent():
                if event_visible(user, event):
                    await response.write(_sse(event))
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if event is None:  # the platform is stopping
                break
            if event_visible(user, event):
                await response.write(_sse(event))
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        platform.events.unsubscribe(queue)
    return response


def _sse(event: dict) -> bytes:
    return f"id: {event['id']}\nevent: {event['kind']}\ndata: {json.dumps(event)}\n\n".encode()


@routes.get("/platform/events/recent")
async def recent_events(request: web.Request) -> web.Response:
    """The remembered events as JSON, for clients that poll (filtered as the stream is)."""
    user = require_admin(request)
    found = request.app[PLATFORM].events.recent(request.query.get("kind"))
    return web.json_response({"events": [e for e in found if event_visible(user, e)]})


@routes.post("/platform/tenants")
async def create_tenant(request: web.Request) -> web.Response:
    """Create another tenant (any tenant's admin may, locally) and return its admin credentials once."""
    require_admin(request)
    body = await json_body(request)
    tenant = body.get("id") if isinstance(body, dict) else None
    if not isinstance(tenant, str):
        raise invalid("tenants", "The body must be {\"id\": \"t200\"}.")
    platform = request.app[PLATFORM]
    password = platform.accounts.create_tenant(tenant)
    platform.events.emit("tenant_created", f"tenant {tenant} created with user admin", tenant=tenant)
    return respond(request, {"id": tenant, "domain": platform.accounts.tenant_domain(tenant), "user": "admin",
                             "password": password}, 201)


@routes.get("/platform/tenants")
async def list_tenants(request: web.Request) -> web.Response:
    """Every tenant of the local platform (ids and domains only; the cloud has no such list for a tenant admin)."""
    user = require_admin(request)
    accounts = request.app[PLATFORM].accounts
    return web.json_response({"tenants": [{"id": t, "domain": accounts.tenant_domain(t), "current": t == user.tenant}
                                          for t in accounts.tenants()]})


@routes.get("/platform/devices")
async def list_devices(request: web.Request) -> web.Response:
    """The caller's tenant's devices: user, managed object, external ids, issuing CA, last seen, connected."""
    tenant = require_admin(request).tenant
    platform = request.app[PLATFORM]
    return web.json_response({"devices": device_overview(platform, tenant)})


def device_overview(platform: Platform, tenant: str) -> list[dict[str, Any]]:
    """Device users and device managed objects of one tenant, joined by device id (the c8y_Serial / CN)."""
    devices: dict[str, dict[str, Any]] = {}
    for row in platform.store.all("SELECT name, auth_type FROM users WHERE tenant = ? AND kind = 'device' "
                                  "ORDER BY created, name", (tenant,)):
        device_id = row["name"].removeprefix("device_")
        devices[device_id] = {"deviceId": device_id, "user": row["name"], "authType": row["auth_type"]}
    for mo in platform.inventory.list_objects(tenant, {"fragmentType": "c8y_IsDevice"}):
        externals = [{"type": e["type"], "externalId": e["externalId"]}
                     for e in platform.inventory.externals_of(tenant, mo["id"])]
        serial = next((e["externalId"] for e in externals if e["type"] == SERIAL_TYPE), "")
        entry = devices.setdefault(serial or f"#{mo['id']}", {"deviceId": serial, "user": mo.get("owner", ""),
                                                              "authType": ""})
        entry.update(managedObject={"id": mo["id"], "name": mo.get("name", ""), "type": mo.get("type", "")},
                     externalIds=externals, lastUpdated=mo["lastUpdated"])
    for device_id in platform.sessions.known(tenant):
        devices.setdefault(device_id, {"deviceId": device_id, "user": "", "authType": ""})
    return [_with_session(platform, tenant, entry) for entry in devices.values()]


def _with_session(platform: Platform, tenant: str, entry: dict[str, Any]) -> dict[str, Any]:
    key = (tenant, entry["deviceId"])
    mo = entry.get("managedObject")
    connected_at = platform.sessions.last_seen(key)
    seen = [iso_ms(connected_at) if connected_at is not None else "", entry.pop("lastUpdated", "")]
    if mo is not None:
        row = platform.store.one("SELECT MAX(time) AS t FROM records WHERE tenant = ? AND source = ?",
                                 (tenant, int(mo["id"])))
        seen.append(row["t"] or "" if row is not None else "")
    certificate = None
    fp = platform.sessions.anchor(key)
    if entry["authType"] == "CERTIFICATES" or fp is not None:
        anchor = platform.store.one("SELECT name FROM trusted_certs WHERE tenant = ? AND fingerprint = ?",
                                    (tenant, fp)) if fp else None
        certificate = {"cn": entry["deviceId"], "issuerFingerprint": fp,
                       "issuerName": anchor["name"] if anchor is not None else None}
    session = platform.sessions.current(key)
    return {**entry, "managedObject": mo, "externalIds": entry.get("externalIds", []), "certificate": certificate,
            "lastSeen": max(seen) or None, "connected": session is not None,
            "clientId": session.client_id if session is not None else None}
