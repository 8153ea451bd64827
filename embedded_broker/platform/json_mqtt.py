"""JSON via MQTT (platform reference §4.5): `<api>/<resource>/<action>[/<id>]`, with the `t/`, `q/` and `c/` prefixes,
for measurements, events, alarms and managed objects; failures go to `error` as
`{"error": …, "message": …, "messageId": …}`.

The source of every record is the publishing device, whatever the payload says (as in the cloud). A device updates
or deletes only its own data (`device_scope`): another device's id is answered like an unknown one. Limits: the
payload is at most `MAX_PAYLOAD_BYTES` (as `s/us`), JSON at most `MAX_JSON_DEPTH` deep, a bulk at most
`MAX_BULK` items, and the work runs in `SLICE_SECONDS` slices.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from embedded_broker.platform.device_scope import owns, root_object
from embedded_broker.platform.errors import PlatformError, invalid
from embedded_broker.platform.smartrest_apply import in_slices, payload_too_large

if TYPE_CHECKING:
    from embedded_broker.platform.core import DeviceIdentity, Platform

log = logging.getLogger("embedded_broker.platform")
ERROR_TOPIC = "error"
MAX_BULK = 200
MAX_JSON_DEPTH = 32
_APIS = {("measurement", "measurements"): "measurement", ("event", "events"): "event",
         ("alarm", "alarms"): "alarm", ("inventory", "managedObjects"): "managedObject"}
#: which actions each resource offers (the cloud's table)
_ACTIONS = {"measurement": ("create", "createBulk", "delete"), "event": ("create", "createBulk", "update", "delete"),
            "alarm": ("create", "createBulk", "update"), "managedObject": ("create", "update")}
_NEEDS_ID = ("update", "delete")


@dataclass(frozen=True, slots=True)
class JsonTopic:
    """A parsed JSON-via-MQTT topic."""

    kind: str  # measurement, event, alarm or managedObject
    action: str
    resource_id: str | None


def is_json_topic(topic: str) -> bool:
    """Whether a topic is JSON via MQTT (possibly a wrong one, which then gets an `error` answer)."""
    parts = topic.split("/")
    if parts[0] in ("t", "q", "c"):
        parts = parts[1:]
    return len(parts) >= 2 and (parts[0], parts[1]) in _APIS


def parse_topic(topic: str) -> JsonTopic:
    """The resource, action and id of a topic.

    Raises:
        PlatformError: 422 naming the actions the resource offers.
    """
    parts = topic.split("/")
    if parts[0] in ("t", "q", "c"):
        parts = parts[1:]
    kind = _APIS.get((parts[0], parts[1])) if len(parts) >= 2 else None
    if kind is None:
        raise invalid("undefined", f"Topic {topic} is not JSON via MQTT")
    offered = _ACTIONS[kind]
    action = parts[2] if len(parts) > 2 else ""
    resource_id = parts[3] if len(parts) > 3 else None
    if action not in offered or len(parts) > 4 or (action in _NEEDS_ID) != (resource_id is not None):
        forms = ", ".join(f"{parts[0]}/{parts[1]}/{a}" + ("/<id>" if a in _NEEDS_ID else "") for a in offered)
        raise PlatformError(422, "undefined/validationError",
                            f"Topic {topic} is not supported; {parts[0]}/{parts[1]} offers: {forms}")
    return JsonTopic(kind, action, resource_id)


def error_payload(error: str, message: str, message_id: int | None = None) -> str:
    """The body the platform sends on `error`."""
    return json.dumps({"error": error, "message": message, "messageId": message_id}, separators=(",", ":"))


def _document(payload: bytes, action: str) -> Any:
    if action == "delete":
        return None
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise PlatformError(422, "undefined/validationError", "The payload is not UTF-8 JSON") from None
    depth = 0
    deepest = 0
    in_string = escaped = False
    for char in text:  # cheap bound on nesting before json.loads recurses
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    if deepest > MAX_JSON_DEPTH:
        raise PlatformError(422, "undefined/validationError", f"The JSON nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        body = json.loads(text, parse_constant=_no_constant, parse_float=_finite, parse_int=_int64)
    except (ValueError, RecursionError) as exc:
        raise PlatformError(422, "undefined/validationError", f"The payload is not valid JSON: {str(exc)[:120]}") \
            from None
    if not isinstance(body, dict):
        raise PlatformError(422, "undefined/validationError", "The payload must be a JSON object")
    return body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text) if len(text) <= 400 else float("inf")
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text[:40]} is out of range (finite doubles only)")
    return value


def _int64(text: str) -> int:
    if len(text.lstrip("-")) > 19 or not -(2 ** 63) <= (value := int(text)) < 2 ** 63:
        raise ValueError(f"the number {text[:40]} is out of range (signed 64-bit integers only)")
    return value


class JsonViaMqtt:
    """Applies JSON-via-MQTT publishes of connected devices."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    async def run(self, identity: DeviceIdentity, topic: str, payload: bytes, send: Callable[[str, str], Any],
                  alive: Callable[[], bool] = lambda: True) -> bool:
        """Apply one publish (bulk items in time slices); every failure is one line on `error`."""
        too_large = payload_too_large(payload)
        if too_large is not None:
            send(ERROR_TOPIC, error_payload("undefined/validationError", too_large))
            return True
        try:
            parsed = parse_topic(topic)
            body = _document(payload, parsed.action)
            items = self._items(parsed, body)
        except PlatformError as exc:
            send(ERROR_TOPIC, error_payload(exc.error, exc.message))
            return True

        def handle(item: Any) -> None:
            error = self.apply(identity, parsed, item)
            if error is not None:
                send(ERROR_TOPIC, error)

        await in_slices(items, handle, alive)
        return True

    @staticmethod
    def _items(parsed: JsonTopic, body: Any) -> list[Any]:
        if parsed.action != "createBulk":
            return [body]
        key = {"measurement": "measurements", "event": "events", "alarm": "alarms"}[parsed.kind]
        items = body.get(key)
        if not isinstance(items, list) or not items:
            raise PlatformError(422, "undefined/validationError", f"createBulk needs {{\"{key}\": [ … ]}} with at "
                                                                  "least one item")
        if len(items) > MAX_BULK:
            raise PlatformError(422, "undefined/validationError", f"createBulk takes at most {MAX_BULK} {key}; "
                                                                  f"got {len(items)}")
        return items

    def apply(self, identity: DeviceIdentity, parsed: JsonTopic, body: Any) -> str | None:
        """One create, update or delete in one transaction; the `error` payload when it failed, else None."""
        try:
            with self.platform.store.transaction():
                self._apply(identity, parsed, body)
        except PlatformError as exc:
            return error_payload(exc.error, exc.message)
        except Exception:  # one device's bad data must never take the broker down
            log.exception("JSON via MQTT %s/%s failed", parsed.kind, parsed.action)
            return error_payload("undefined/serverError", "Server error: the message was not processed")
        return None

    def _apply(self, identity: DeviceIdentity, parsed: JsonTopic, body: Any) -> None:
        platform, tenant = self.platform, identity.tenant
        inventory = platform.inventory
        if parsed.kind == "managedObject":
            if parsed.action == "create":
                inventory.create_object(tenant, body, owner=identity.user)
                return
            assert parsed.resource_id is not None
            self._own_object(identity, parsed.resource_id)
            inventory.update_object(tenant, parsed.resource_id, body)
            return
        if parsed.action in ("create", "createBulk"):
            if not isinstance(body, dict):
                raise PlatformError(422, "undefined/validationError", f"Each {parsed.kind} must be a JSON object")
            inventory.add_record(tenant, parsed.kind, {**body, "source": {"id": root_object(platform, identity)}})
            return
        assert parsed.resource_id is not None
        record = self._own_record(identity, parsed.kind, parsed.resource_id)
        if parsed.action == "delete":
            inventory.delete_record(tenant, parsed.kind, record["id"])
        elif parsed.kind == "alarm":
            changes = {k: v for k, v in body.items() if k not in ("status", "source", "type", "time")}
            status = str(body.get("status", record["status"])).upper()
            if status not in ("ACTIVE", "ACKNOWLEDGED", "CLEARED"):
                raise invalid("alarms", "status must be ACTIVE, ACKNOWLEDGED or CLEARED.")
            if "severity" in changes:
                changes["severity"] = str(changes["severity"]).upper()
            inventory.set_alarm(tenant, record["id"], changes, status)
        else:
            inventory.update_record(tenant, parsed.kind, record["id"], body)

    def _own_object(self, identity: DeviceIdentity, mo_id: str) -> None:
        if not owns(self.platform, identity, mo_id):  # another device's object looks like none at all
            raise PlatformError(404, "inventory/Not Found", f"No managed object {mo_id[:40]!r} of this device")

    def _own_record(self, identity: DeviceIdentity, kind: str, record_id: str) -> dict[str, Any]:
        resource = {"measurement": "measurements", "event": "events", "alarm": "alarms"}[kind]
        try:
            record = self.platform.inventory.get_record(identity.tenant, kind, record_id)
        except PlatformError:
            record = None
        if record is None or not owns(self.platform, identity, record["source"]["id"]):
            raise PlatformError(404, f"{resource}/Not Found", f"No {kind} {record_id[:40]!r} of this device")
        return record
