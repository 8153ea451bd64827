"""What a connected device may reach over MQTT: its own managed object (created on first data), the objects it created
and their children, so custom templates and JSON via MQTT keep the isolation the REST side has (rest/access.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from embedded_broker.platform.errors import PlatformError, forbidden

if TYPE_CHECKING:
    from embedded_broker.platform.core import DeviceIdentity, Platform

_MAX_WALK = 10_000  # objects visited when checking a child chain, whatever the stored references say


def root_serial(identity: DeviceIdentity) -> str:
    """The device's `c8y_Serial`: the client id's device id (the CN for certificate devices)."""
    return identity.device_id or identity.user


def root_object(platform: Platform, identity: DeviceIdentity) -> str:
    """The device's managed object; created on first data, as `s/us` does (platform reference §4.9)."""
    tenant, serial = identity.tenant, root_serial(identity)
    mo = platform.device_object(tenant, serial)
    return mo if mo is not None else platform.create_device(tenant, serial, owner=identity.user)


def _children(document: dict[str, Any]) -> list[str]:
    refs = document.get("childDevices")
    refs = refs.get("references") if isinstance(refs, dict) else None
    return [str((r.get("managedObject") or {}).get("id")) for r in refs or [] if isinstance(r, dict)
            and isinstance(r.get("managedObject"), dict) and r["managedObject"].get("id") is not None]


def owns(platform: Platform, identity: DeviceIdentity, mo_id: str) -> bool:
    """Whether the device may read or change a managed object: its own, one it created, or a child of either."""
    tenant = identity.tenant
    try:
        target = platform.inventory.get_object(tenant, mo_id)
    except PlatformError:
        return False
    if target.get("owner") == identity.user:
        return True
    start = platform.device_object(tenant, root_serial(identity))
    queue = [start] if start is not None else []
    queue += [str(r["id"]) for r in platform.store.all(
        "SELECT id FROM managed_objects WHERE tenant = ? AND owner = ?", (tenant, identity.user))]
    seen: set[str] = set()
    while queue and len(seen) < _MAX_WALK:
        current = queue.pop()
        if current == str(target["id"]):
            return True
        if current in seen:
            continue
        seen.add(current)
        try:
            queue.extend(_children(platform.inventory.get_object(tenant, current)))
        except PlatformError:
            continue
    return False


def require_own(platform: Platform, identity: DeviceIdentity, mo_id: str) -> None:
    """Raises PlatformError 404 for an object that does not exist and 403 for another device's one."""
    platform.inventory.get_object(identity.tenant, mo_id)
    if not owns(platform, identity, mo_id):
        raise forbidden()
