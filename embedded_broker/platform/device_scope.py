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


def own_objects(platform: Platform, tenant: str, serial: str, owner: str,
                limit: int = _MAX_WALK) -> frozenset[str]:
    """The managed object ids a device may see and change: its device (`c8y_Serial` = `serial`), the objects its
    user `owner` created, and, recursively, their `childDevices` (at most `limit` objects).

    The one walk for REST (rest/access.py) and MQTT (`owns`).
    """
    found: set[str] = set()
    start = platform.device_object(tenant, serial)
    queue = [start] if start is not None else []
    queue += [str(r["id"]) for r in platform.store.all(
        "SELECT id FROM managed_objects WHERE tenant = ? AND owner = ?", (tenant, owner))]
    while queue and len(found) < limit:
        mo_id = queue.pop()
        if mo_id in found:
            continue
        try:
            mo = platform.inventory.get_object(tenant, mo_id)
        except PlatformError:
            continue
        found.add(mo_id)
        queue.extend(_children(mo))
    return frozenset(found)


def _children(document: dict[str, Any]) -> list[str]:
    """The ids in a managed object's `childDevices` references; malformed references are skipped."""
    refs = document.get("childDevices")
    refs = refs.get("references") if isinstance(refs, dict) else None
    return [str(r["managedObject"]["id"]) for r in refs if isinstance(r, dict) and
            isinstance(r.get("managedObject"), dict) and r["managedObject"].get("id") is not None] \
        if isinstance(refs, list) else []


def owns(platform: Platform, identity: DeviceIdentity, mo_id: str) -> bool:
    """Whether the device may read or change a managed object: its own, one it created, or a child of either."""
    try:
        target = platform.inventory.get_object(identity.tenant, mo_id)
    except PlatformError:
        return False
    if target.get("owner") == identity.user:
        return True
    return str(target["id"]) in own_objects(platform, identity.tenant, root_serial(identity), identity.user)


def require_own(platform: Platform, identity: DeviceIdentity, mo_id: str) -> None:
    """Raises PlatformError 404 for an object that does not exist and 403 for another device's one."""
    platform.inventory.get_object(identity.tenant, mo_id)
    if not owns(platform, identity, mo_id):
        raise forbidden()
