"""`GET /local/virtualHosts`: which certificate each SNI virtual host serves, for the workbench's Local Platform page.

A local extra (the cloud has no such list): the default entry first, then the server key store's entries, then the
tenant domains (`<tenant>.localhost`), each with its SAN names, subject, issuer, expiry and SHA-256 fingerprint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from embedded_broker.rest.access import require_platform_owner

routes = web.RouteTableDef()
VirtualHostList = Callable[[], list[dict[str, Any]]]
VIRTUAL_HOSTS: web.AppKey[VirtualHostList] = web.AppKey("virtual_hosts", VirtualHostList)  # type: ignore[arg-type]


@routes.get("/local/virtualHosts")
async def virtual_hosts(request: web.Request) -> web.Response:
    """The virtual hosts of the TLS listeners (only the owner of the local platform may list them)."""
    require_platform_owner(request)
    listing = request.app.get(VIRTUAL_HOSTS)
    return web.json_response({"virtualHosts": listing() if listing is not None else []})
