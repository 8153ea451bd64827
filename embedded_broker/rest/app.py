"""The aiohttp application of the local platform's REST API, on the same loop as the broker."""

from __future__ import annotations

from aiohttp import web

from embedded_broker.platform.core import Platform
from embedded_broker.rest import (
    routes_data,
    routes_device,
    routes_est,
    routes_local,
    routes_registration,
    routes_tenant,
    routes_vhosts,
)
from embedded_broker.rest.access import tenant_domain_middleware, tenant_user_middleware
from embedded_broker.rest.http import PLATFORM, auth_middleware, envelope_middleware

MAX_BODY = 16 * 1024 * 1024


def build_app(platform: Platform) -> web.Application:
    """Routes, the envelope and auth middlewares, and the platform the handlers use."""
    app = web.Application(middlewares=[envelope_middleware, tenant_domain_middleware, auth_middleware,
                                       tenant_user_middleware], client_max_size=MAX_BODY)
    app[PLATFORM] = platform
    for module in (routes_tenant, routes_device, routes_data, routes_local, routes_vhosts, routes_registration,
                   routes_est):
        app.add_routes(module.routes)
    return app
