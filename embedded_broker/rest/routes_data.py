"""Device data routes (§5.2): identity, inventory, measurements, events and alarms, for admins and device tokens.

§5.2 is a section of the platform reference, docs/platform-reference.md.
"""

from __future__ import annotations

from aiohttp import web

from embedded_broker.platform.errors import invalid
from embedded_broker.platform.inventory import RECORD_KINDS
from embedded_broker.rest.access import require_binding, require_item, require_object, require_query_object, visible
from embedded_broker.rest.http import PLATFORM, json_body, json_object, page, respond, user_of

routes = web.RouteTableDef()
MO_MEDIA = "application/vnd.com.nsn.cumulocity.managedobject+json"
EXTERNAL_MEDIA = "application/vnd.com.nsn.cumulocity.externalid+json"


# --- identity -----------------------------------------------------------------------------------------------------
@routes.get("/identity/externalIds/{type}/{id}")
async def get_external(request: web.Request) -> web.Response:
    """Find a device by its serial: 404 "External ID not found" before it exists."""
    user = user_of(request)
    found = request.app[PLATFORM].inventory.external(user.tenant, request.match_info["type"], request.match_info["id"])
    return respond(request, found)


@routes.get("/identity/globalIds/{id}/externalIds")
async def list_externals(request: web.Request) -> web.Response:
    """Every external id of a managed object."""
    user = user_of(request)
    inventory = request.app[PLATFORM].inventory
    require_object(request, request.match_info["id"])
    found = inventory.externals_of(user.tenant, request.match_info["id"])
    return respond(request, {"externalIds": found, "self": f"{request.app[PLATFORM].base_url}{request.path}"})


@routes.post("/identity/globalIds/{id}/externalIds")
async def bind_external(request: web.Request) -> web.Response:
    """201; 409 "Identity already bound to a different Global ID"."""
    user = user_of(request)
    body = await json_body(request)
    if not isinstance(body, dict) or not body.get("externalId") or not body.get("type"):
        raise invalid("identity", "The external id needs externalId and type.")
    require_binding(request, request.match_info["id"], str(body["type"]), str(body["externalId"]))
    found = request.app[PLATFORM].inventory.bind(user.tenant, request.match_info["id"], str(body["type"]),
                                                  str(body["externalId"]))
    return respond(request, found, 201, EXTERNAL_MEDIA)


# --- inventory ----------------------------------------------------------------------------------------------------
@routes.get("/inventory/managedObjects")
async def list_objects(request: web.Request) -> web.Response:
    """Managed objects by type, owner or fragmentType."""
    user = user_of(request)
    found = visible(request, request.app[PLATFORM].inventory.list_objects(user.tenant, dict(request.query)))
    return respond(request, page(request, found, "managedObjects"))


@routes.post("/inventory/managedObjects")
async def create_object(request: web.Request) -> web.Response:
    """201 with the new id; the caller owns it."""
    user = user_of(request)
    created = request.app[PLATFORM].inventory.create_object(user.tenant, await json_body(request), owner=user.name)
    return respond(request, created, 201, MO_MEDIA)


@routes.get("/inventory/managedObjects/{id}")
async def get_object(request: web.Request) -> web.Response:
    """One managed object."""
    user = user_of(request)
    require_object(request, request.match_info["id"])
    return respond(request, request.app[PLATFORM].inventory.get_object(user.tenant, request.match_info["id"]))


@routes.put("/inventory/managedObjects/{id}")
async def update_object(request: web.Request) -> web.Response:
    """Merge fragments (null removes one)."""
    user = user_of(request)
    require_object(request, request.match_info["id"])
    body = await json_object(request, "inventory", "The body must be a JSON object of fragments.")
    updated = request.app[PLATFORM].inventory.update_object(user.tenant, request.match_info["id"], body)
    return respond(request, updated, 200, MO_MEDIA)


@routes.delete("/inventory/managedObjects/{id}")
async def delete_object(request: web.Request) -> web.Response:
    """204; the object's external ids and data go with it."""
    user = user_of(request)
    require_object(request, request.match_info["id"])
    request.app[PLATFORM].inventory.delete_object(user.tenant, request.match_info["id"])
    return web.Response(status=204)


# --- measurements, events, alarms ---------------------------------------------------------------------------------
def _record_routes(kind: str, path: str) -> None:
    collection = RECORD_KINDS[kind]
    media = f"application/vnd.com.nsn.cumulocity.{kind}+json"

    async def create(request: web.Request) -> web.Response:
        user = user_of(request)
        body = await json_body(request)
        source = body.get("source") if isinstance(body, dict) else None
        if isinstance(source, dict) and source.get("id") is not None:
            require_object(request, source["id"])  # a device stores data for its own objects only
        created = request.app[PLATFORM].inventory.add_record(user.tenant, kind, body)
        request.app[PLATFORM].events.emit(f"{kind}_created", f"{kind} {created['type']} stored for managed object "
                                          f"{created['source']['id']}", tenant=user.tenant)
        return respond(request, created, 201, media)

    async def listing(request: web.Request) -> web.Response:
        user = user_of(request)
        require_query_object(request, "source")
        found = visible(request, request.app[PLATFORM].inventory.list_records(user.tenant, kind, dict(request.query)),
                        "source")
        return respond(request, page(request, found, collection))

    async def single(request: web.Request) -> web.Response:
        user = user_of(request)
        record = request.app[PLATFORM].inventory.get_record(user.tenant, kind, request.match_info["id"])
        return respond(request, require_item(request, record, "source"))

    create.__doc__ = f"Store a {kind} (201)."
    listing.__doc__ = f"{collection.capitalize()} by source, type, date range; newest first with revert=true."
    single.__doc__ = f"One {kind}."
    routes.post(path)(create)
    routes.get(path)(listing)
    routes.get(path + "/{id}")(single)


_record_routes("measurement", "/measurement/measurements")
_record_routes("event", "/event/events")
_record_routes("alarm", "/alarm/alarms")


@routes.put("/alarm/alarms/{id}")
async def update_alarm(request: web.Request) -> web.Response:
    """Acknowledge or clear an alarm, or change its severity or text."""
    user = user_of(request)
    platform = request.app[PLATFORM]
    body = await json_body(request)
    alarm = platform.inventory.get_record(user.tenant, "alarm", request.match_info["id"])
    require_item(request, alarm, "source")
    if not isinstance(body, dict):
        raise invalid("alarms", "The body must be a JSON object.")
    status = str(body.get("status", alarm.get("status", "ACTIVE"))).upper()
    if status not in ("ACTIVE", "ACKNOWLEDGED", "CLEARED"):
        raise invalid("alarms", "status must be ACTIVE, ACKNOWLEDGED or CLEARED.")
    changes = {k: v for k, v in body.items() if k in ("severity", "text")}
    return respond(request, platform.inventory.set_alarm(user.tenant, alarm["id"], changes, status))
