"""Local extras (A15): JWKS, health, the live event stream, and tenant administration for the PoP scenario."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from embedded_broker import __version__
from embedded_broker.platform.errors import invalid
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
    """Server-sent events of the platform log; `?history=true` replays the remembered past first."""
    require_admin(request)
    platform = request.app[PLATFORM]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    queue = platform.events.subscribe()
    try:
        if request.query.get("history", "false").lower() == "true":
            for event in platform.events.recent():
                await response.write(_sse(event))
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if event is None:  # the platform is stopping
                break
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
    """The remembered events as JSON, for clients that poll."""
    require_admin(request)
    return web.json_response({"events": request.app[PLATFORM].events.recent(request.query.get("kind"))})


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
