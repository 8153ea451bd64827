"""SmartREST 2.0 custom template collections on the platform: kept as managed objects the way the cloud keeps them
(type `c8y_SmartRest2Template`, the `com_cumulocity_model_smartrest_csv_CsvSmartRestTemplate` fragment, external id
`c8y_SmartRest2DeviceIdentifier`/<X-ID>), created over `s/ut/<X-ID>` or REST, and used on `s/uc/<X-ID>`.

Isolation (a local rule, see docs): a device uses the collections it created and those an admin created; another
device's collection answers as if it did not exist, and nobody can overwrite a collection over MQTT (the cloud
keeps a collection unchanged once created; change it over REST).

Limits: as `s/us` (`smartrest_apply`): `MAX_PAYLOAD_BYTES` per publish, `MAX_LINES_PER_PUBLISH` lines, work in
`SLICE_SECONDS` slices.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from embedded_broker.platform import smartrest_custom as sc
from embedded_broker.platform.device_scope import owns, root_object, root_serial
from embedded_broker.platform.errors import PlatformError
from embedded_broker.platform.formats import iso_ms
from embedded_broker.platform.smartrest import SmartRestError, SmartRestSyntaxError, encode_line, iter_lines, parse_line
from embedded_broker.platform.smartrest_apply import MAX_LINES_PER_PUBLISH, in_slices, payload_too_large, send_all

if TYPE_CHECKING:
    from embedded_broker.platform.core import DeviceIdentity, Platform

log = logging.getLogger("embedded_broker.platform")
Reply = tuple[str, str]


class Collections:
    """Find, create and use template collections for connected devices."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._cache: dict[tuple[str, str], tuple[str, sc.Collection]] = {}  # (tenant, mo) → (lastUpdated, parsed)

    # --- lookup --------------------------------------------------------------------------------------------
    def _object(self, tenant: str, xid: str) -> dict[str, Any] | None:
        mo = self.platform.inventory.lookup(tenant, sc.XID_TYPE, xid)
        if mo is None:
            return None
        try:
            return self.platform.inventory.get_object(tenant, mo)
        except PlatformError:
            return None

    def _usable_object(self, identity: DeviceIdentity, xid: str) -> dict[str, Any] | None:
        """The collection's object if this device may use it (its own, or an admin's), else None."""
        document = self._object(identity.tenant, xid)
        if document is None:
            return None
        owner = document.get("owner")
        if owner == identity.user:
            return document
        user = self.platform.accounts.user(identity.tenant, owner) if isinstance(owner, str) else None
        if user is not None and user.is_admin:
            return document
        return None

    def collection(self, identity: DeviceIdentity, xid: str) -> sc.Collection:
        """The usable collection of an X-ID.

        Raises:
            SmartRestError: 41 when it does not exist for this device or its fragment cannot be read.
        """
        document = self._usable_object(identity, xid)
        if document is None:
            raise SmartRestError(41, xid, f"Template collection {xid} does not exist; create it on s/ut/{xid} or "
                                          "over REST")
        key = (identity.tenant, str(document["id"]))
        cached = self._cache.get(key)
        if cached is not None and cached[0] == document["lastUpdated"]:
            return cached[1]
        parsed = sc.collection_from_fragment(xid, document.get(sc.FRAGMENT))
        if len(self._cache) > 1000:
            self._cache.clear()
        self._cache[key] = (document["lastUpdated"], parsed)
        return parsed

    # --- s/ut ----------------------------------------------------------------------------------------------
    def create(self, identity: DeviceIdentity, xid: str, payload: bytes) -> list[Reply]:
        """An `s/ut/<X-ID>` publish: empty asks for the status on `s/dt`; lines create the collection at once."""
        if not payload.strip():
            document = self._usable_object(identity, xid)
            return [("s/dt", encode_line(["20", xid, str(document["id"])]) if document is not None
                     else encode_line(["41", xid]))]
        too_large = payload_too_large(payload)
        if too_large is not None:
            return [("s/e", encode_line(["41", xid, too_large]))]
        try:
            collection = sc.parse_collection(xid, payload.decode("utf-8", "replace"))
        except SmartRestError as exc:
            return [("s/e", exc.line())]
        tenant = identity.tenant
        with self.platform.store.transaction():
            if self.platform.inventory.lookup(tenant, sc.XID_TYPE, xid) is not None:
                return [("s/e", encode_line(["41", xid, f"Template collection {xid} exists already; a collection "
                                                        "cannot be changed over MQTT (delete it over REST first)"]))]
            mo = self.platform.inventory.create_object(
                tenant, {"name": xid, "type": sc.COLLECTION_TYPE, sc.FRAGMENT: sc.collection_fragment(collection)},
                owner=identity.user)
            self.platform.inventory.bind(tenant, mo["id"], sc.XID_TYPE, xid)
        self.platform.events.emit("template_collection_created", f"SmartREST template collection {xid} created as "
                                  f"managed object {mo['id']} by {identity.user}", tenant=tenant,
                                  device=identity.device_id or "", managed_object=mo["id"])
        return [("s/dt", encode_line(["20", xid, mo["id"]]))]

    # --- s/uc ----------------------------------------------------------------------------------------------
    async def run(self, identity: DeviceIdentity, xid: str, down: str, payload: bytes,
                  send: Callable[[str, str], Any], alive: Callable[[], bool] = lambda: True) -> bool:
        """Apply one `s/uc/<X-ID>` (or `s/ud`) publish in time slices; answers go to `down` and errors to `s/e`."""
        too_large = payload_too_large(payload)
        if too_large is not None:
            send("s/e", encode_line(("45", "", f"{too_large}; nothing was processed")))
            return True
        await in_slices(self.replies(identity, xid, down, payload.decode("utf-8", "replace")),
                        lambda replies: send_all(send, replies), alive)
        return True

    def replies(self, identity: DeviceIdentity, xid: str, down: str, text: str) -> Iterator[list[Reply]]:
        """The replies of each line in turn (lazily, so the caller can pause between lines)."""
        try:
            collection = self.collection(identity, xid)
        except SmartRestError as exc:
            yield [("s/e", exc.line())]
            return
        for index, line in enumerate(iter_lines(text)):
            if index >= MAX_LINES_PER_PUBLISH:
                yield [("s/e", encode_line(("45", "", f"Too many lines in one publish: at most "
                                                      f"{MAX_LINES_PER_PUBLISH} are processed; this line and the "
                                                      "ones after it were ignored")))]
                return
            yield self.line(identity, collection, down, line)

    def line(self, identity: DeviceIdentity, collection: sc.Collection, down: str, line: str) -> list[Reply]:
        """One device line: parsed, matched, applied in one transaction; an error is one `s/e` line."""
        try:
            fields = parse_line(line)
            action = sc.match_line(collection, fields, iso_ms(self.platform.clock()))
        except SmartRestSyntaxError as exc:
            return [("s/e", SmartRestError(42, exc.template, str(exc)).line())]
        except SmartRestError as exc:
            return [("s/e", exc.line())]
        try:
            with self.platform.store.transaction():
                result = self._apply(identity, action)
        except SmartRestError as exc:
            return [("s/e", exc.line())]
        except PlatformError as exc:
            text = "Access is denied: not an object of this device" if exc.status == 403 else exc.message
            return [("s/e", encode_line(("45", action.msg_id, text)))]
        except Exception:  # one device's bad data must never take the broker down
            log.exception("SmartREST custom line %r failed", line[:200])
            return [("s/e", encode_line(("50", action.msg_id, "Server error: the line was not processed")))]
        if action.response and result is not None:
            return [(down, out) for out in sc.render_responses(collection, result)]
        return []

    def _apply(self, identity: DeviceIdentity, action: sc.Action) -> dict[str, Any] | None:
        platform, tenant = self.platform, identity.tenant
        inventory = platform.inventory
        if action.api in ("MEASUREMENT", "EVENT", "ALARM") and action.method == "POST":
            kind = action.api.lower()
            return inventory.add_record(tenant, kind, {**action.body, "source": {"id": root_object(platform,
                                                                                                     identity)}})
        if action.api == "INVENTORY" and action.method == "POST":
            if action.external is not None:
                self._may_bind(identity, *action.external)
            created = inventory.create_object(tenant, action.body, owner=identity.user)
            if action.external is not None:
                inventory.bind(tenant, created["id"], *action.external)
            return created
        if action.api == "INVENTORY":
            mo = self._target(identity, action)
            if action.method == "PUT":
                return inventory.update_object(tenant, mo, action.body)
            return inventory.get_object(tenant, mo)
        device = root_object(platform, identity)
        assert action.target is not None
        if action.api == "ALARM":
            for status in ("ACTIVE", "ACKNOWLEDGED"):
                found = inventory.list_records(tenant, "alarm", {"source": device, "type": action.target[1],
                                                                 "status": status})
                if found:
                    alarm = found[0]
                    changes = {k: v for k, v in action.body.items() if k != "status"}
                    return inventory.set_alarm(tenant, alarm["id"], changes,
                                               str(action.body.get("status", alarm["status"])))
            raise SmartRestError(45, action.msg_id, f"No ACTIVE or ACKNOWLEDGED alarm of type {action.target[1]}")
        fragment = action.target[1]
        for status in ("EXECUTING", "PENDING"):
            candidates = [op for op in inventory.list_operations(tenant, {"deviceId": device, "status": status})
                          if fragment in op]
            if candidates:
                operation = candidates[0]
                extra = {k: v for k, v in action.body.items() if k != "status"}
                updated = inventory.set_operation_status(tenant, operation["id"],
                                                         str(action.body.get("status", operation["status"])), extra)
                platform.events.emit("operation_updated", f"operation {updated['id']} is {updated['status']}",
                                     tenant=tenant, operation=updated["id"])
                return updated
        raise SmartRestError(45, action.msg_id, f"No EXECUTING or PENDING operation with fragment {fragment}")

    def _target(self, identity: DeviceIdentity, action: sc.Action) -> str:
        assert action.target is not None
        kind, value = action.target
        mo = value if kind == "id" else self.platform.inventory.lookup(identity.tenant, kind, value)
        if mo is None or not owns(self.platform, identity, mo):  # another device's object looks like none at all
            raise SmartRestError(45, action.msg_id, f"No managed object {value!r} of this device")
        return mo

    def _may_bind(self, identity: DeviceIdentity, id_type: str, external_id: str) -> None:
        """A device never binds another registered device's serial (its data would land on the wrong object)."""
        if id_type == "c8y_Serial" and external_id != root_serial(identity) and \
                self.platform.accounts.user(identity.tenant, f"device_{external_id}") is not None:
            raise PlatformError(403, "security/Forbidden", "Access is denied.")

    # --- operations ----------------------------------------------------------------------------------------
    def operation_lines(self, identity: DeviceIdentity, xid: str, operation: dict[str, Any], serial: str) -> list[str]:
        """An operation through a collection's response templates (nothing when the collection is not usable)."""
        try:
            collection = self.collection(identity, xid)
        except SmartRestError:
            return []
        return sc.render_responses(collection, operation, serial)
