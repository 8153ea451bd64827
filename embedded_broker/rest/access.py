"""Who may read or change which data over REST: one rule for every route, so no route can forget it.

- A tenant's admin has every right in its own tenant and none in another (the store queries are per tenant, and
  routes with a tenant in the path call `require_admin(request, tenant)`).
- A device user (`device_<id>`, by Bearer token or Basic password) sees and changes only its own objects: its device
  managed object (the one its `c8y_Serial` names), the objects it created (it is their owner) and, recursively,
  the child devices listed in their `childDevices`. Anything else is 403 `security/Forbidden` "Access is denied.",
  as the cloud answers a device that lacks the role for someone else's object.
- The platform-wide view (every tenant's events, platform-level events such as TLS failures) belongs to the owner
  of the local platform: the admin of the first tenant, t100, whose password is shown at the first start.
- A tenant domain (`<tenant>.localhost`) named by the TLS server name (SNI) or by the Host header makes the
  request that tenant's: a bare login (`admin`) is that tenant's user, and a login or token of another tenant is
  refused (401). When SNI and Host name two different tenants the request is refused with 421 Misdirected
  Request, as HTTP/2 servers and reverse proxies answer a request sent on a connection made for another host.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from embedded_broker.platform.accounts import ADMIN_USER, DEFAULT_TENANT, DOMAIN_SUFFIX, User
from embedded_broker.platform.core import SERIAL_TYPE
from embedded_broker.platform.device_scope import own_objects
from embedded_broker.platform.errors import PlatformError, forbidden, unauthorized
from embedded_broker.rest.http import PLATFORM, USER, Handler, user_of

_OWN: web.RequestKey[frozenset] = web.RequestKey("own_objects", frozenset)
_MAX_OBJECTS = 100_000  # a bound on the child walk, whatever the stored references say
DOMAIN_TENANT: web.RequestKey[str] = web.RequestKey("domain_tenant", str)


def device_id_of(user: User) -> str:
    """The device id of a device user (`device_dev1` → `dev1`)."""
    return user.name.removeprefix("device_")


def _own(request: web.Request) -> frozenset[str]:
    """The caller's own objects, computed once per request."""
    if _OWN not in request:
        user = user_of(request)
        request[_OWN] = own_objects(request.app[PLATFORM], user.tenant, device_id_of(user), user.name, _MAX_OBJECTS)
    return request[_OWN]


def require_object(request: web.Request, mo_id: Any) -> None:
    """Admins pass for any object of their tenant; a device only for its own ones.

    Raises:
        PlatformError: 404 for an object that does not exist in the caller's tenant, 403 for a device's
            access to an object that is not its own.
    """
    user = user_of(request)
    if user.is_admin:
        return
    request.app[PLATFORM].inventory.get_object(user.tenant, str(mo_id))  # 404 first, as for anyone
    if str(mo_id) not in _own(request):
        raise forbidden()


def visible(request: web.Request, items: Iterable[dict[str, Any]], field: str = "id") -> list[dict[str, Any]]:
    """The items the caller may see: all for an admin, those about its own objects for a device.

    `field` names the object id: "id" for managed objects, "source" for measurements, events and alarms
    (`{"source": {"id": …}}`), "deviceId" for operations.
    """
    listed = list(items)
    if user_of(request).is_admin:
        return listed
    own = _own(request)
    return [item for item in listed if _object_of(item, field) in own]


def require_item(request: web.Request, item: dict[str, Any], field: str) -> dict[str, Any]:
    """`item` itself if the caller may see it (see `visible`).

    Raises:
        PlatformError: 403 for a device and another device's record or operation.
    """
    if not user_of(request).is_admin and _object_of(item, field) not in _own(request):
        raise forbidden()
    return item


def require_query_object(request: web.Request, name: str) -> None:
    """A device that filters a listing by another device's object (`?source=`, `?deviceId=`) gets 403."""
    if name in request.query and not user_of(request).is_admin:
        require_object(request, request.query[name])


def require_binding(request: web.Request, mo_id: str, id_type: str, external_id: str) -> None:
    """A device binds external ids to its own objects only, and never another registered device's serial.

    Binding `c8y_Serial`=<another device's id> to its own object would make the other device's MQTT data and
    operations land on the attacker's object once that device connects.

    Raises:
        PlatformError: 403 otherwise.
    """
    user = user_of(request)
    if user.is_admin:
        return
    require_object(request, mo_id)
    platform = request.app[PLATFORM]
    if id_type == SERIAL_TYPE and external_id != device_id_of(user) and \
            platform.accounts.user(user.tenant, f"device_{external_id}") is not None:
        raise forbidden()


def is_platform_owner(user: User) -> bool:
    """The owner of the local platform: the admin of the first tenant (t100)."""
    return user.is_admin and user.tenant == DEFAULT_TENANT and user.name == ADMIN_USER


def require_platform_owner(request: web.Request) -> User:
    """The caller, if it is the owner of the local platform.

    Raises:
        PlatformError: 403 for anyone else (other tenants' admins, devices).
    """
    user = user_of(request)
    if not is_platform_owner(user):
        raise forbidden("Access is denied: only the owner of the local platform (t100/admin) may do this.")
    return user


def event_visible(user: User, event: dict[str, Any]) -> bool:
    """Whether an admin may see a platform event: the owner sees every event, another admin its tenant's only."""
    return is_platform_owner(user) or (user.is_admin and event.get("tenant") == user.tenant)


def _object_of(item: dict[str, Any], field: str) -> str | None:
    value = item.get(field)
    if isinstance(value, dict):
        value = value.get("id")
    return None if value is None else str(value)


# --- tenant domains: SNI and Host ---------------------------------------------------------------------------------

def _host_name(request: web.Request) -> str | None:
    try:
        return urlsplit(f"//{request.host}").hostname
    except ValueError:
        return None


def domain_tenant(request: web.Request) -> str | None:
    """The tenant the request is addressed to by its SNI or Host (see the module docstring), or None.

    Raises:
        PlatformError: 421 when SNI and Host name two different tenants.
    """
    platform = request.app[PLATFORM]
    ssl_object = request.transport.get_extra_info("ssl_object") if request.transport is not None else None
    sni = getattr(ssl_object, "_workbench_sni", None)
    host = _host_name(request)
    by_sni, by_host = platform.accounts.domain_tenant(sni), platform.accounts.domain_tenant(host)
    if by_sni and by_host and by_sni != by_host:
        raise PlatformError(421, "general/Misdirected Request",
                            f"This connection was opened for {sni} (TLS server name, tenant {by_sni}) but the request "
                            f"is for {host} (Host header, tenant {by_host}). Send the same name in both, or open a "
                            f"new connection for {host}.")
    return by_sni or by_host


@web.middleware
async def tenant_domain_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Before auth: the request's tenant domain (SNI or Host); a bare login then resolves in that tenant."""
    tenant = domain_tenant(request)
    if tenant is None:
        return await handler(request)
    domain = f"{tenant}{DOMAIN_SUFFIX}"
    if (_host_name(request) or "").lower() != domain:  # named by SNI only: the login resolves by the domain
        request = request.clone(host=domain)
    request[DOMAIN_TENANT] = tenant
    return await handler(request)


@web.middleware
async def tenant_user_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """After auth: on a tenant's domain only that tenant's users and tokens are accepted (401 otherwise)."""
    tenant = request.get(DOMAIN_TENANT)
    user = request.get(USER)
    if tenant is not None and user is not None and user.tenant != tenant:
        raise unauthorized(f"Invalid credentials! : {user.tenant}/{user.name} belongs to tenant {user.tenant}, but "
                           f"this request is for tenant {tenant} (domain {tenant}{DOMAIN_SUFFIX}); log in as "
                           f"{tenant}/<user>, or use {user.tenant}{DOMAIN_SUFFIX} or localhost")
    return await handler(request)
