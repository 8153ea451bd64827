"""Applies SmartREST effects to the platform's data for one device, and collects the replies for `s/ds` and `s/e`.

The translation of lines into effects is pure (`smartrest.py`); this is the only place they touch the store.

Limits (documented in the user docs): a publish on `s/us` may carry at most `MAX_PAYLOAD_BYTES` bytes and at most
`MAX_LINES_PER_PUBLISH` lines are processed; the rest get one error line on `s/e`. Lines are processed in slices of
`SLICE_SECONDS`, yielding to the event loop between slices, so one large publish never stalls other connections.

Children: a child's `c8y_Serial` is `<root serial>:<child id>` (`child_serial`), so `s/us/<child id>` and `101`
reach only children of the publishing device, never another device of the tenant.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from embedded_broker import __version__
from embedded_broker.platform import smartrest as sr
from embedded_broker.platform.errors import PlatformError
from embedded_broker.platform.smartrest import encode_line
from embedded_broker.platform.smartrest_templates import name_problem

if TYPE_CHECKING:
    from embedded_broker.platform.core import DeviceIdentity, Platform

log = logging.getLogger("embedded_broker.platform")
Reply = tuple[str, str]
T = TypeVar("T")

#: Lines of one publish that are processed; the rest are answered with one `45` line on `s/e`.
MAX_LINES_PER_PUBLISH = 1000
#: Largest `s/us` payload processed (the cloud's documented 16184 bytes); a larger one gets one `45` line only.
MAX_PAYLOAD_BYTES = 16184
#: Seconds of SmartREST work before the applier lets other connections run.
SLICE_SECONDS = 0.002
#: What separates the root device's serial from the child id in a child's `c8y_Serial`.
CHILD_SEPARATOR = ":"


def payload_too_large(payload: bytes) -> str | None:
    """Why a device publish is not processed at all (over `MAX_PAYLOAD_BYTES`), or None; one wording for every topic."""
    if len(payload) <= MAX_PAYLOAD_BYTES:
        return None
    return f"Payload too large: {len(payload)} bytes where at most {MAX_PAYLOAD_BYTES} are processed"


def send_all(send: Callable[[str, str], Any], replies: Iterable[Reply]) -> None:
    """Send each (topic, line) reply in order."""
    for topic, line in replies:
        send(topic, line)


async def in_slices(items: Iterable[T], handle: Callable[[T], None], alive: Callable[[], bool],
                    on_pause: Callable[[], None] = lambda: None) -> None:
    """Handle the items in turn, yielding to the event loop every `SLICE_SECONDS`, so one large publish never stalls
    other connections; stops early when `alive()` turns False (the connection was replaced). `on_pause` runs after
    each pause that goes on (others may have written meanwhile)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SLICE_SECONDS
    for item in items:
        handle(item)
        if loop.time() >= deadline:
            await asyncio.sleep(0)
            if not alive():
                return
            on_pause()
            deadline = loop.time() + SLICE_SECONDS


def child_serial(root_serial: str, child_id: str) -> str:
    """The `c8y_Serial` of a child device: the root device's serial and the child id
    (docs/platform-reference.md §4.7, template 101)."""
    return f"{root_serial}{CHILD_SEPARATOR}{child_id}"


def child_id_problem(child_id: str) -> str | None:
    """Why a child id (from `s/us/<child>` or `101`) cannot name a child, or None when it can."""
    if not child_id:
        return "the child id is empty"
    if "/" in child_id:
        return "a child id is one topic level (no '/')"
    return name_problem(child_id)


class SmartRestApplier:
    """Runs the effects of one `s/us` publish; `on_pending(client_id)` re-sends pending operations (template 500)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.on_pending: Callable[[str], None] | None = None

    def apply(self, identity: DeviceIdentity, client_id: str, text: str, child: str | None = None) -> list[Reply]:
        """Every line on its own: one bad line gets its `s/e` error and the others still count."""
        return [reply for replies in self.replies(identity, client_id, text, child) for reply in replies]

    async def run(self, identity: DeviceIdentity, client_id: str, payload: bytes, child: str | None,
                  send: Callable[[str, str], Any], alive: Callable[[], bool] = lambda: True) -> bool:
        """Apply one publish in time slices, sending each line's replies as it goes; True: the publish is consumed.

        Awaited by the engine in the connection's own packet loop, so the device's publishes stay in order while
        other connections run between slices. Stops early when `alive()` turns False (the connection was replaced).
        """
        too_large = payload_too_large(payload)
        if too_large is not None:
            send("s/e", encode_line(("45", "", f"{too_large}; nothing was processed")))
            return True
        memo: dict[str, list[Reply]] = {}
        await in_slices(self.replies(identity, client_id, payload.decode("utf-8", "replace"), child, memo),
                        lambda replies: send_all(send, replies), alive,
                        on_pause=memo.clear)  # others (REST) may have changed the device meanwhile
        return True

    def replies(self, identity: DeviceIdentity, client_id: str, text: str, child: str | None = None,
                memo: dict[str, list[Reply]] | None = None) -> Iterator[list[Reply]]:
        """The replies of each line in turn (lazily, so a caller can pause between lines).

        `memo` keeps the answers to `105` while no line changes the device, so a publish of many `105` lines
        costs one query; the caller clears it whenever others may have written.
        """
        memo = {} if memo is None else memo
        if child is not None and (problem := child_id_problem(child)) is not None:
            yield [("s/e", encode_line(("45", "", f"Invalid child id in the topic s/us/<child id>: {problem}")))]
            return
        for index, line in enumerate(sr.iter_lines(text)):
            if index >= MAX_LINES_PER_PUBLISH:
                yield [("s/e", encode_line(("45", _template(line), f"Too many lines in one publish: at most "
                                            f"{MAX_LINES_PER_PUBLISH} are processed; this line and the ones after "
                                            "it were ignored")))]
                return
            yield self._line(identity, client_id, line, child, memo)

    def _line(self, identity: DeviceIdentity, client_id: str, line: str, child: str | None,
              memo: dict[str, list[Reply]]) -> list[Reply]:
        try:
            fields = sr.parse_line(line)
            effects = sr.translate(fields)
        except sr.SmartRestSyntaxError as exc:
            return [("s/e", sr.SmartRestError(42, exc.template, str(exc)).line())]
        except sr.SmartRestError as exc:
            return [("s/e", exc.line())]
        template = fields[0]
        replies: list[Reply] = []
        if not all(isinstance(effect, _KEEPS_CHILDREN) for effect in effects):
            memo.clear()
        try:
            with self.platform.store.transaction():  # one line's effects count together or not at all
                for effect in effects:
                    replies.extend(self._effect(identity, client_id, child, effect, memo))
        except PlatformError as exc:
            return [("s/e", encode_line(("45", template, exc.message)))]
        except Exception:  # one device's bad data must never take the broker down
            log.exception("SmartREST line %r failed", line[:200])
            return [("s/e", encode_line(("50", template, "Server error: the line was not processed")))]
        return replies

    # --- the device ----------------------------------------------------------------------------------------
    @staticmethod
    def _root_serial(identity: DeviceIdentity) -> str:
        return identity.device_id or identity.user

    def _root(self, identity: DeviceIdentity) -> str:
        """The publishing device's managed object; created on first data (automatic device creation)."""
        tenant, serial = identity.tenant, self._root_serial(identity)
        mo = self.platform.device_object(tenant, serial)
        return mo if mo is not None else self.platform.create_device(tenant, serial, owner=identity.user)

    def _device(self, identity: DeviceIdentity, child: str | None) -> str:
        """The managed object the line is about: the device, or its child (created under it on first data)."""
        root = self._root(identity)
        if child is None:
            return root
        mo = self.platform.device_object(identity.tenant, child_serial(self._root_serial(identity), child))
        return mo if mo is not None else self._create_child(identity, root, child, None, None)

    def _create_child(self, identity: DeviceIdentity, parent: str, child_id: str, name: str | None,
                      type_: str | None) -> str:
        platform = self.platform
        with platform.store.transaction():
            mo = platform.create_device(identity.tenant, child_serial(self._root_serial(identity), child_id),
                                        name or child_id, type_ or "c8y_MQTTChildDevice", owner=identity.user)
            platform.inventory.add_child_reference(identity.tenant, parent,
                                                   {"managedObject": {"id": mo, "name": name or child_id}})
        return mo

    # --- effects -------------------------------------------------------------------------------------------
    def _effect(self, identity: DeviceIdentity, client_id: str, child: str | None, effect: Any,
                memo: dict[str, list[Reply]]) -> list[Reply]:
        tenant = identity.tenant
        inventory = self.platform.inventory
        if isinstance(effect, sr.CreateDevice):
            if child is None:
                if self.platform.device_object(tenant, self._root_serial(identity)) is not None:
                    return [("s/e", "41,100,Device already existing")]
                self.platform.create_device(tenant, self._root_serial(identity), effect.name, effect.type,
                                            owner=identity.user)
            else:
                if self.platform.device_object(tenant, child_serial(self._root_serial(identity), child)) is not None:
                    return [("s/e", "41,100,Device already existing")]
                self._create_child(identity, self._root(identity), child, effect.name, effect.type)
            return []
        mo = self._device(identity, child)
        if isinstance(effect, sr.CreateChild):
            if (problem := child_id_problem(effect.child_id)) is not None:
                return [("s/e", encode_line(("45", "101", f"Invalid child id: {problem}")))]
            serial = child_serial(self._root_serial(identity), effect.child_id)
            if self.platform.device_object(tenant, serial) is not None:
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
            if effect.kind != "children":
                return self._query(identity, mo, client_id, effect.kind)
            if mo not in memo:
                memo[mo] = self._query(identity, mo, client_id, effect.kind)
            return memo[mo]
        return []

    def _operation(self, tenant: str, mo: str, effect: sr.OperationUpdate) -> list[Reply]:
        inventory = self.platform.inventory
        source = {"EXECUTING": "PENDING"}.get(effect.to_status, "EXECUTING")
        if effect.operation_id is not None:
            try:
                operation = inventory.get_operation(tenant, effect.operation_id)
            except PlatformError:
                operation = None
            # another device's operation is answered exactly like one that does not exist
            candidates = [operation] if operation is not None and operation["deviceId"] == mo else []
            if not candidates:
                return [("s/e", encode_line(("45", "", f"No operation {effect.operation_id} for this device")))]
        else:
            candidates = inventory.list_operations(tenant, {"deviceId": mo, "status": source})
            if effect.fragment:
                candidates = [op for op in candidates if effect.fragment in op]
            if not effect.all_executing:
                candidates = candidates[:1]
        if not candidates and not effect.all_executing:
            what = effect.fragment or "any fragment"
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

    def _query(self, identity: DeviceIdentity, mo: str, client_id: str, kind: str) -> list[Reply]:
        tenant = identity.tenant
        if kind == "children":
            current = self.platform.inventory.get_object(tenant, mo)
            refs = (current.get("childDevices") or {}).get("references", [])
            ids = [str((ref.get("managedObject") or {}).get("id", "")) for ref in refs if isinstance(ref, dict)]
            serials = self.platform.inventory.externals_of_many(tenant, ids, "c8y_Serial")  # one query
            prefix = child_serial(self._root_serial(identity), "")
            children = [serial.removeprefix(prefix) for mo_id in ids for serial in serials.get(mo_id, [])]
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


# Effects after which the answer to `105` (the device's children) is still the same.
_KEEPS_CHILDREN = (sr.Query, sr.CreateMeasurement, sr.CreateAlarm, sr.UpdateAlarm, sr.CreateEvent, sr.OperationUpdate)


def _template(line: str) -> str:
    """The template id of a line for an error line, without parsing the whole line."""
    first = line.split(",", 1)[0]
    return first if first.isascii() and first.isdigit() else ""
