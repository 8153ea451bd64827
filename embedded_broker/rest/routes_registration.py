"""New device requests over REST (bootstrap registration of password devices) and, as a local extra, the bootstrap
credentials the platform owner puts into device firmware.
"""

from __future__ import annotations

from aiohttp import web

from embedded_broker.platform.core import device_user
from embedded_broker.platform.device_requests import (
    BOOTSTRAP_LOGIN,
    BOOTSTRAP_TENANT,
    BOOTSTRAP_USER,
    MEDIA,
    requests_of,
)
from embedded_broker.rest.access import require_platform_owner
from embedded_broker.rest.http import PLATFORM, json_body, json_object, page, require_admin, respond

routes = web.RouteTableDef()


@routes.post("/devicecontrol/newDeviceRequests")
async def create_request(request: web.Request) -> web.Response:
    """`{"id": "<device id>"}` → 201, WAITING_FOR_CONNECTION until the device publishes on `s/ucr`."""
    user = require_admin(request)
    platform = request.app[PLATFORM]
    body = await json_body(request)
    created = requests_of(platform).create(
        user.tenant, body, lambda device_id: platform.accounts.user(user.tenant, device_user(device_id)) is not None)
    platform.events.emit("device_request_created", f"new device request for {created['id']}", tenant=user.tenant,
                         device=created["id"])
    return respond(request, created, 201, MEDIA)


@routes.get("/devicecontrol/newDeviceRequests")
async def list_requests(request: web.Request) -> web.Response:
    """The tenant's requests (`?status=` filters)."""
    user = require_admin(request)
    found = requests_of(request.app[PLATFORM]).listing(user.tenant, request.query.get("status"))
    return respond(request, page(request, found, "newDeviceRequests"))


@routes.get("/devicecontrol/newDeviceRequests/{id}")
async def get_request(request: web.Request) -> web.Response:
    """One request."""
    user = require_admin(request)
    return respond(request, requests_of(request.app[PLATFORM]).get(user.tenant, request.match_info["id"]), 200,
                   MEDIA)


@routes.put("/devicecontrol/newDeviceRequests/{id}")
async def update_request(request: web.Request) -> web.Response:
    """`{"status": "ACCEPTED"}` once the device has connected (PENDING_ACCEPTANCE)."""
    user = require_admin(request)
    body = await json_object(request, "devicecontrol", 'The body must be {"status": "ACCEPTED"}.')
    platform = request.app[PLATFORM]
    updated = requests_of(platform).set_status(user.tenant, request.match_info["id"], body.get("status"))
    platform.events.emit("device_request_" + updated["status"].lower(),
                         f"new device request for {updated['id']} is {updated['status']}", tenant=user.tenant,
                         device=updated["id"])
    return respond(request, updated, 200, MEDIA)


@routes.delete("/devicecontrol/newDeviceRequests/{id}")
async def delete_request(request: web.Request) -> web.Response:
    """Remove a request (204)."""
    user = require_admin(request)
    requests_of(request.app[PLATFORM]).delete(user.tenant, request.match_info["id"])
    return web.Response(status=204)


@routes.get("/platform/bootstrapCredentials")
async def bootstrap_credentials(request: web.Request) -> web.Response:
    """Local extra: the bootstrap login for device firmware (only the owner of the local platform sees it)."""
    require_platform_owner(request)
    password = requests_of(request.app[PLATFORM]).bootstrap_password()
    return web.json_response({"tenant": BOOTSTRAP_TENANT, "user": BOOTSTRAP_USER,
                              "username": BOOTSTRAP_LOGIN, "password": password},
                             headers={"Cache-Control": "no-store"})
