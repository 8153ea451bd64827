"""HTTP plumbing shared by every route: the error envelope, the `Accept` quirk, paging, JSON bodies and auth.

Every failure becomes the cloud's error envelope; nothing a client sends can produce a traceback page.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from embedded_broker.platform.accounts import User
from embedded_broker.platform.core import Platform
from embedded_broker.platform.errors import PlatformError, forbidden, invalid, unauthorized

log = logging.getLogger("embedded_broker.rest")
ERROR_TYPE = "application/vnd.com.nsn.cumulocity.error+json"
PLATFORM: web.AppKey[Platform] = web.AppKey("platform", Platform)
PORTS: web.AppKey[dict] = web.AppKey("ports", dict)
USER: web.RequestKey[User] = web.RequestKey("user", User)
CLAIMS: web.RequestKey[dict] = web.RequestKey("claims", dict)
PUBLIC_PATHS = ("/.well-known/jwks.json", "/health", "/devicecontrol/deviceAccessToken")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(error: PlatformError) -> web.Response:
    """The envelope of §1.8 with the right status and media type."""
    response = web.json_response(error.envelope(), status=error.status, content_type=ERROR_TYPE)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Cumulocity"'
    return response


@web.middleware
async def envelope_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map platform errors, aiohttp's own 404/405 and unexpected failures to the envelope."""
    try:
        return await handler(request)
    except PlatformError as exc:
        return error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        names = {404: "Not Found", 405: "Method Not Allowed", 413: "Request Entity Too Large"}
        name = names.get(exc.status, exc.reason)
        return error_response(PlatformError(exc.status, f"general/{name}",
                                            f"{request.method} {request.path}: {exc.reason}"))
    except Exception as exc:  # a bug must still answer in the envelope, and never kill the server
        log.exception("REST %s %s failed", request.method, request.path)
        return error_response(PlatformError(500, "general/Internal Server Error", f"Server error: {exc}"))


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Basic (`tenant/user:password`) or Bearer on every path except the public ones (A1)."""
    if request.path not in PUBLIC_PATHS:
        request[USER] = authenticate(request)
    return await handler(request)


def authenticate(request: web.Request) -> User:
    """The caller of a request.

    Raises:
        PlatformError: 401 saying what was missing or wrong.
    """
    platform = request.app[PLATFORM]
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            login, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise unauthorized("Invalid credentials! : the Basic header is not base64 of user:password") from None
        tenant, name = platform.accounts.resolve_login(login, request.host)
        return platform.accounts.check_password(tenant, name, password)
    if scheme.lower() == "bearer":
        user, claims = platform.tokens.verify(value.strip())
        request[CLAIMS] = claims
        return user
    raise unauthorized("Full authentication is required to access this resource")


def user_of(request: web.Request) -> User:
    """The authenticated caller."""
    return request[USER]


def require_admin(request: web.Request, tenant: str | None = None) -> User:
    """The caller, if it is an admin of `tenant` (or of its own tenant).

    Raises:
        PlatformError: 403 otherwise.
    """
    user = user_of(request)
    if not user.is_admin:
        raise forbidden()
    if tenant is not None and tenant != user.tenant:
        request.app[PLATFORM].accounts.tenant_domain(tenant)  # 404 for an unknown tenant
        raise forbidden(f"Access is denied: you are logged in to tenant {user.tenant}, not {tenant}.")
    return user


async def json_body(request: web.Request) -> Any:
    """The request's JSON.

    Raises:
        PlatformError: 422 for a body that is not JSON.
    """
    text = await request.text()
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise invalid("general", f"The request body is not valid JSON: {exc}") from None


def respond(request: web.Request, body: Any, status: int = 200, media: str = "application/json") -> web.Response:
    """A JSON answer, honouring the quirk: POST/PUT without `Accept` get an empty body with the same status."""
    if request.method in ("POST", "PUT") and not request.headers.get("Accept"):
        return web.Response(status=status)
    return web.json_response(body, status=status, content_type=media.split(";")[0])


def page(request: web.Request, items: list[Any], key: str) -> dict[str, Any]:
    """A collection with `statistics`, `currentPage`/`pageSize` paging (default 5, maximum 2000) as the cloud does."""
    try:
        size = min(max(int(request.query.get("pageSize", "5")), 1), 2000)
        current = max(int(request.query.get("currentPage", "1")), 1)
    except ValueError:
        raise invalid("general", "pageSize and currentPage must be whole numbers.") from None
    start = (current - 1) * size
    statistics: dict[str, Any] = {"currentPage": current, "pageSize": size}
    if request.query.get("withTotalElements", "false").lower() == "true":
        statistics["totalElements"] = len(items)
    if request.query.get("withTotalPages", "false").lower() == "true":
        statistics["totalPages"] = (len(items) + size - 1) // size
    base = f"{request.app[PLATFORM].base_url}{request.path}"
    body: dict[str, Any] = {key: items[start:start + size], "statistics": statistics,
                            "self": f"{base}?pageSize={size}&currentPage={current}"}
    if start + size < len(items):
        body["next"] = f"{base}?pageSize={size}&currentPage={current + 1}"
    if current > 1:
        body["prev"] = f"{base}?pageSize={size}&currentPage={current - 1}"
    return body
