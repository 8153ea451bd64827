"""Applies SmartREST effects to the platform's data for one device, and collects the replies for `s/ds` and `s/e`.

The translation of lines into effects is pure (`smartrest.py`); this is the only place they touch the store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from embedded_broker import __version__
from embedded_broker.platform import smartrest as sr
from embedded_broker.platform.errors import PlatformError
from embedded_broker.platform.smartrest import encode_line

if TYPE_CHECKING:
    from embedded_broker.platform.core import DeviceIdentity, Platform

log = logging.getLogger("embedded_broker.platform")
Reply = tuple[str, str]


class SmartRestApplier:
    """Runs the effects of one `s/us` publish; `on_pending(client_id)` re-sends pending operations (template 500)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.on_pending: Callable[[str], None] | None = None

    def apply(self, identity: DeviceIdentity, client_id: str, text: str, child: str | None = None) -> list[Reply]:
        """Every line on its own: one bad line gets its `s/e` error and the others still count."""
        replies: list[Reply] = []
        for result, line in sr.translate_payload(text):
            template = line.split(",", 1)[0].strip()
            if isinstance(result, sr.SmartRestError):
                replies.append(("s/e", result.line()))
                continue
            try:
                for effect in result:
                    replies.extend(self._effect(identity, client_id, child, effect))
            except PlatformError as exc:
                replies.append(("s/e", encode_line(("45", template, exc.message))))
            except Exception as exc:  # one device's bad data must never take the broker down
                log.exception("SmartREST line %r failed", line)
                replies.append(("s/e", encode_line(("50", template, f"Server error: {exc}"))))
        return replies

    # --- the device ----------------------------------------------------------------------------------------
    def _device(self, identity: DeviceIdentity, child: str | None) -> str:
        """The managed object the line is about; created on first data (automatic device creation)."""
        tenant, device_id = identity.tenant, identity.device_id or identity.user
        mo = self.platform.device_object(tenant, device_id)
        if mo is None:
            mo = self.platform.create_device(tenant, device_id, owner=identity.user)
        if child is None:
            return mo
        child_mo = self.platform.device_object(tenant, child)
        return child_mo if child_mo is not None else self._create_child(identity, mo, child, None, None)

    def _create_child(self, identity: DeviceIdentity, parent: str, child_id: str, name: str | None,
                      type_: str | None) -> str:
        platform = self.platform
        with platform.store.transaction():
            mo = platform.create_device(identity.tenant, child_id, name or child_id, type_ or "c8y_MQTTChildDevice",
                                        owner=identity.user)
            current = platform.inventory.get_object(identity.tenant, parent)
            refs = list((current.get("childDevices") or {}).get("references", []))
            refs.append({"managedObject": {"id": mo, "name": name or child_id}})
            platform.inventory.update_object(identity.tenant, parent, {"childDevices": {"references": refs}})
        return mo

    # --- effects -------------------------------------------------------------------------------------------
    def _effect(self, identity: DeviceIdentity, client_id: str, child: str | None, effect: Any) -> list[Reply]:
        tenant = identity.tenant
        inventory = self.platform.inventory
        if isinstance(effect, sr.CreateDevice):
            device_id = child or identity.device_id or identity.user
            if self.platform.device_object(tenant, device_id) is not None:
                return [("s/e", "41,100,Device already existing")]
            if child is not None:
                self._create_child(identity, self._device(identity, None), child, effect.name, effect.type)
            else:
                self.platform.create_device(tenant, device_id, effect.name, effect.type, owner=identity.user)
            return []
        mo = self._device(identity, child)
        if isinstance(effect, sr.CreateChild):
            if self.platform.device_object(tenant, effect.child_id) is not None:
                return [("s/e", "41,101,Device already existing")]
            self._create_child(identity, mo, effect.child_id, effect.name, effect.type)
        elif isinstance(effect, sr.UpdateDevice):
            inventory.update_object(tenant, mo, effect.fragments, only_missing=effect.only_if_missing)
        elif isinstance(effect, sr.RemoveFragments):
            inventory.update_object(tenant, mo, {}, remove=effect.names)
        elif isinstance(effect, sr.CreateMeasurement):
            inventory.add_record(tenant, "measurement", {**effect.body, "source": {"id": mo}})
        elif isinstance(effect, sr.CreateAlarm):
            inventory.add_record(tenant, "alarm", {"source": {"id": mo}, "type": effect.type, "text": effect.text,
                                                   "severity": effect.severity, "time": effect.time})
        elif isinstance(effect, sr.UpdateAlarm):
            inventory.update_alarms(tenant, mo, effect.type, severity=effect.severity, clear=effect.clear,
                                    remove=effect.remove_fragments)
        elif isinstance(effect, sr.CreateEvent):
            inventory.add_record(tenant, "event", {**effect.fragments, "source": {"id": mo}, "type": effect.type,
                                                   "text": effect.text, "time": effect.time})
        elif isinstance(effect, sr.OperationUpdate):
            return self._operation(tenant, mo, effect)
        elif isinstance(effect, sr.Query):
            return self._query(tenant, mo, client_id, effect.kind)
        return []

    def _operation(self, tenant: str, mo: str, effect: sr.OperationUpdate) -> list[Reply]:
        inventory = self.platform.inventory
        source = {"EXECUTING": "PENDING"}.get(effect.to_status, "EXECUTING")
        if effect.operation_id is not None:
            candidates = [inventory.get_operation(tenant, effect.operation_id)]
        else:
            candidates = inventory.list_operations(tenant, {"deviceId": mo, "status": source})
            if effect.fragment:
                candidates = [op for op in candidates if effect.fragment in op]
            if not effect.all_executing:
                candidates = candidates[:1]
        if not candidates and not effect.all_executing:
            what = effect.fragment or effect.operation_id or "any fragment"
            return [("s/e", encode_line(("45", "", f"No {source} operation for {what}")))]
        for operation in candidates:
            extra: dict[str, Any] = {}
            if effect.to_status == "FAILED":
                extra["failureReason"] = effect.reason or "Operation failed"
            if effect.to_status == "SUCCESSFUL" and effect.params and "c8y_Command" in operation:
                extra["c8y_Command"] = {"result": ",".join(effect.params)}
            updated = inventory.set_operation_status(tenant, operation["id"], effect.to_status, extra)
            self.platform.events.emit("operation_updated", f"operation {updated['id']} is {effect.to_status}",
                                      tenant=tenant, operation=updated["id"])
        return []

    def _query(self, tenant: str, mo: str, client_id: str, kind: str) -> list[Reply]:
        if kind == "children":
            current = self.platform.inventory.get_object(tenant, mo)
            refs = (current.get("childDevices") or {}).get("references", [])
            children = []
            for ref in refs:
                externals = self.platform.inventory.externals_of(tenant, ref["managedObject"]["id"])
                children += [e["externalId"] for e in externals if e["type"] == "c8y_Serial"]
            return [("s/ds", encode_line(["106", *children]))]
        if kind == "own_id":
            return [("s/ds", f"124,{mo}")]
        if kind == "version":
            return [("s/ds", f"601,embedded-broker {__version__}")]
        if kind == "templates":
            return [("s/ds", encode_line(["603", *sorted(sr.TEMPLATE_IDS, key=int)]))]
        if kind == "pending_operations" and self.on_pending is not None:
            self.on_pending(client_id)
        return []
