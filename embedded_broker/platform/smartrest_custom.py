"""SmartREST 2.0 custom template collections as pure data: parse `s/ut` lines, read and write the cloud's JSON fragment,
match a device line to what it becomes, and render an object through response templates.

No store, no MQTT: the platform (`smartrest_collections.py`) and a workbench-side editor or checker can both call it
(the workbench reaches it through `embedded_broker/__init__.py`).

Creation lines (platform reference §4.5, the cloud's SmartREST 2.0 page):

- `10,<msgId>,<method>,<api>,<response>,<mandatory values…>,<path>,<type>,<value>,…` a request template. The mandatory
  values depend on method and api (`MANDATORY`); after them come custom values as (path, type, value) triples.
  An empty template value is one the device sends in its line, in template order.
- `11,<msgId>,<base>,<condition>,<pattern>,…` a response template: JSON paths read from an operation (or from the
  answer of a request template with `response` true).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from embedded_broker.platform.smartrest import SmartRestError, SmartRestSyntaxError, encode_line, iter_lines, parse_line

__all__ = [
    "API_NAMES",
    "COLLECTION_TYPE",
    "FRAGMENT",
    "MANDATORY",
    "VALUE_TYPES",
    "XID_TYPE",
    "Action",
    "Collection",
    "CustomValue",
    "RequestTemplate",
    "ResponseTemplate",
    "collection_fragment",
    "collection_from_fragment",
    "json_path",
    "match_line",
    "parse_collection",
    "render_responses",
    "template_lines",
    "xid_problem",
]

#: The managed object type, fragment and external id type the cloud keeps a collection under.
COLLECTION_TYPE = "c8y_SmartRest2Template"
FRAGMENT = "com_cumulocity_model_smartrest_csv_CsvSmartRestTemplate"
XID_TYPE = "c8y_SmartRest2DeviceIdentifier"

API_NAMES = ("INVENTORY", "MEASUREMENT", "ALARM", "EVENT", "OPERATION")
VALUE_TYPES = ("STRING", "DATE", "NUMBER", "INTEGER", "UNSIGNED", "FLAG", "SEVERITY", "ALARMSTATUS",
               "OPERATIONSTATUS")
#: (method, api) → the names of its mandatory values, in line order; None marks a combination the cloud does not offer.
MANDATORY: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "MEASUREMENT"): ("type", "time"),
    ("POST", "EVENT"): ("type", "text", "time"),
    ("POST", "ALARM"): ("type", "text", "status", "severity", "time"),
    ("POST", "INVENTORY"): ("externalIdType",),
    ("GET", "INVENTORY"): ("byId", "externalIdType"),
    ("PUT", "INVENTORY"): ("byId", "externalIdType"),
    ("PUT", "ALARM"): ("type",),
    ("PUT", "OPERATION"): ("fragment",),
}
MAX_TEMPLATES = 1000  # request plus response templates of one collection
MAX_PATH_DEPTH = 16  # levels of a custom value's path
_SEVERITIES = ("CRITICAL", "MAJOR", "MINOR", "WARNING")
_ALARM_STATUSES = ("ACTIVE", "ACKNOWLEDGED", "CLEARED")
_OPERATION_STATUSES = ("PENDING", "EXECUTING", "SUCCESSFUL", "FAILED")
_INT = re.compile(r"[+-]?[0-9]{1,18}")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_MSG_ID = re.compile(r"[0-9A-Za-z_.-]{1,64}")
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\*|[0-9]{1,6})\]")


def xid_problem(xid: str) -> str | None:
    """Why text cannot be an X-ID (a topic level and an external id), or None when it can."""
    if not xid:
        return "the X-ID is empty"
    if len(xid) > 128:
        return "the X-ID is longer than 128 characters"
    if any(c in xid for c in "/+#") or not xid.isprintable():
        return "an X-ID is one printable topic level (no '/', '+', '#')"
    return None


@dataclass(frozen=True, slots=True)
class CustomValue:
    """One (path, type, value) triple; an empty value is sent by the device (FLAG and DATE need nothing)."""

    path: str
    type: str = "STRING"
    value: str = ""


@dataclass(frozen=True, slots=True)
class RequestTemplate:
    """A `10` line: what a device line with this message id does; `mandatory` holds the template's values by name."""

    msg_id: str
    method: str
    api: str
    response: bool
    mandatory: tuple[tuple[str, str], ...]
    custom: tuple[CustomValue, ...] = ()

    def value(self, name: str) -> str:
        """A mandatory value as written in the template ("" when the device sends it)."""
        return dict(self.mandatory).get(name, "")


@dataclass(frozen=True, slots=True)
class ResponseTemplate:
    """An `11` line: the JSON paths read from an object, each under `base`, when `condition` exists."""

    msg_id: str
    base: str
    condition: str
    patterns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Collection:
    """A template collection (one X-ID)."""

    xid: str
    requests: dict[str, RequestTemplate] = field(default_factory=dict)
    responses: tuple[ResponseTemplate, ...] = ()


@dataclass(frozen=True, slots=True)
class Action:
    """What one device line becomes: a platform call for the device.

    `body` is the JSON the platform stores (measurement, event, alarm, object) or the changes to apply (PUT);
    `target` says which object a GET/PUT INVENTORY reaches (`("id", <id>)` or `(<external id type>, <external id>)`),
    the alarm type (PUT ALARM) or the operation fragment (PUT OPERATION); `external` is the external id
    (type, value) a POST INVENTORY binds to the new object.
    """

    msg_id: str
    method: str
    api: str
    response: bool
    body: dict[str, Any]
    target: tuple[str, str] | None = None
    external: tuple[str, str] | None = None


# --- creation lines ------------------------------------------------------------------------------------------------


def parse_collection(xid: str, payload: str) -> Collection:
    """A collection from the lines of one `s/ut/<X-ID>` publish; all lines are right, or nothing is created.

    Raises:
        SmartRestError: 41 for a collection that cannot be created, with the line and the reason.
    """
    problem = xid_problem(xid)
    if problem is not None:
        raise SmartRestError(41, xid, f"Template creation error: {problem}")
    requests: dict[str, RequestTemplate] = {}
    responses: list[ResponseTemplate] = []
    seen_responses: set[str] = set()
    for number, line in enumerate(iter_lines(payload), 1):
        if number > MAX_TEMPLATES:
            raise SmartRestError(41, xid, f"Template creation error: more than {MAX_TEMPLATES} templates")
        try:
            fields = parse_line(line)
        except SmartRestSyntaxError as exc:
            raise SmartRestError(41, xid, f"Template creation error in line {number}: {exc}") from None
        try:
            if fields[0] == "10":
                request = _request_line(fields[1:])
                if request.msg_id in requests:
                    raise ValueError(f"message id {request.msg_id} is used twice")
                requests[request.msg_id] = request
            elif fields[0] == "11":
                response = _response_line(fields[1:])
                if response.msg_id in seen_responses:
                    raise ValueError(f"response message id {response.msg_id} is used twice")
                seen_responses.add(response.msg_id)
                responses.append(response)
            else:
                raise ValueError(f"a creation line starts with 10 (request) or 11 (response), not {fields[0]!r}")
        except ValueError as exc:
            raise SmartRestError(41, xid, f"Template creation error in line {number}: {exc}") from None
    if not requests and not responses:
        raise SmartRestError(41, xid, "Template creation error: no templates (an empty publish only asks whether "
                                      "the collection exists, on s/dt)")
    return Collection(xid, requests, tuple(responses))


def _msg_id(value: str) -> str:
    if not _MSG_ID.fullmatch(value):
        raise ValueError(f"message id {value!r} must be 1 to 64 letters, digits, '_', '.' or '-'")
    return value


def _path(value: str) -> str:
    parts = _split_path(value)
    if not parts:
        raise ValueError(f"{value!r} is not a JSON path (e.g. c8y_Temp.T.value)")
    return value


def _request_line(fields: list[str]) -> RequestTemplate:
    while len(fields) < 4:
        fields.append("")
    msg_id, method, api, response = _msg_id(fields[0]), fields[1].upper(), fields[2].upper(), fields[3].lower()
    names = MANDATORY.get((method, api))
    if names is None:
        raise ValueError(f"{method} {api} is not a template the platform offers (POST: MEASUREMENT, EVENT, ALARM, "
                         "INVENTORY; PUT: INVENTORY, ALARM, OPERATION; GET: INVENTORY)")
    if response not in ("", "true", "false"):
        raise ValueError(f"response must be true, false or empty, not {fields[3]!r}")
    rest = fields[4:]
    mandatory = tuple((name, rest[i] if i < len(rest) else "") for i, name in enumerate(names))
    for name, value in mandatory:
        if name == "byId" and value.lower() not in ("true", "false"):
            raise ValueError("byId must be true or false")
        if name == "status" and value and value.upper() not in _ALARM_STATUSES:
            raise ValueError(f"status must be one of {', '.join(_ALARM_STATUSES)}")
        if name == "severity" and value and value.upper() not in _SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(_SEVERITIES)}")
    triples = rest[len(names):]
    while triples and triples[-1] == "" and len(triples) % 3:
        triples.pop()
    if len(triples) % 3:
        raise ValueError("custom values come as path,type,value triples")
    if method == "GET" and triples:
        raise ValueError("a GET template has no custom values")
    custom = []
    for i in range(0, len(triples), 3):
        kind = (triples[i + 1] or "STRING").upper()
        if kind not in VALUE_TYPES:
            raise ValueError(f"value type {triples[i + 1]!r} is not one of {', '.join(VALUE_TYPES)}")
        if triples[i + 2]:
            _convert(kind, triples[i + 2], "now")
        custom.append(CustomValue(_path(triples[i]), kind, triples[i + 2]))
    answers = response == "true" or (response == "" and method == "GET")
    return RequestTemplate(msg_id, method, api, answers, mandatory, tuple(custom))


def _response_line(fields: list[str]) -> ResponseTemplate:
    while len(fields) < 3:
        fields.append("")
    patterns = [p for p in fields[3:] if p != ""] if fields[3:] else []
    if not patterns:
        raise ValueError("a response template needs at least one pattern")
    for value in (fields[1], fields[2], *patterns):
        if value:
            _path(value)
    return ResponseTemplate(_msg_id(fields[0]), fields[1], fields[2], tuple(patterns))


# --- the cloud's JSON form -----------------------------------------------------------------------------------------


def collection_fragment(collection: Collection) -> dict[str, Any]:
    """The collection as the cloud's managed object fragment (`FRAGMENT`), for REST and storage."""
    return {
        "requestTemplates": [
            {"msgId": t.msg_id, "name": t.msg_id, "method": t.method, "api": t.api, "response": t.response,
             "mandatoryValues": [v for _n, v in t.mandatory],
             "customValues": [{"path": c.path, "type": c.type, "value": c.value} for c in t.custom]}
            for t in collection.requests.values()],
        "responseTemplates": [
            {"msgId": t.msg_id, "name": t.msg_id, "base": t.base, "condition": t.condition,
             "pattern": list(t.patterns)} for t in collection.responses],
    }


def collection_from_fragment(xid: str, fragment: Any) -> Collection:
    """A collection from the cloud's JSON fragment (a managed object made over REST, or the cloud's export).

    Raises:
        SmartRestError: 41 naming what is wrong.
    """
    if not isinstance(fragment, dict):
        raise SmartRestError(41, xid, f"Template collection {xid} has no {FRAGMENT} object")
    lines: list[list[str]] = []
    try:
        for item in _list(fragment.get("requestTemplates")):
            mandatory = [str(v) for v in _list(item.get("mandatoryValues"))]
            if isinstance(item.get("byId"), bool):  # the export of GET/PUT INVENTORY keeps them apart
                mandatory = ["true" if item["byId"] else "false", str(item.get("externalIdType") or "")]
            custom = [str(x) for c in _list(item.get("customValues")) if isinstance(c, dict)
                      for x in (c.get("path", ""), c.get("type", "STRING"), c.get("value", "") or "")]
            response = item.get("response")
            lines.append(["10", str(item.get("msgId", "")), str(item.get("method", "")), str(item.get("api", "")),
                          "" if response is None else str(response).lower(), *mandatory, *custom])
        for item in _list(fragment.get("responseTemplates")):
            lines.append(["11", str(item.get("msgId", "")), str(item.get("base") or ""),
                          str(item.get("condition") or ""), *[str(p) for p in _list(item.get("pattern"))]])
    except (TypeError, AttributeError):
        raise SmartRestError(41, xid, f"Template collection {xid}: requestTemplates and responseTemplates must be "
                                      "lists of objects") from None
    return parse_collection(xid, "\n".join(encode_line(line) for line in lines))


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError("not a list")
    return value


# --- device lines --------------------------------------------------------------------------------------------------


def match_line(collection: Collection, fields: list[str], now_iso: str) -> Action:
    """What one `s/uc/<X-ID>` line becomes under a collection; `now_iso` fills times the line leaves empty.

    Raises:
        SmartRestError: 42 empty line, 40 message id not in the collection, 45 a value that does not fit.
    """
    msg_id = fields[0] if fields else ""
    if msg_id == "":
        raise SmartRestError(42, "", "Malformed line: empty message id")
    template = collection.requests.get(msg_id)
    if template is None:
        raise SmartRestError(40, msg_id, f"No template {msg_id} in collection {collection.xid}")
    values = list(fields[1:])
    taken = 0

    def take(what: str, optional: bool = False) -> str:
        nonlocal taken
        value = values[taken] if taken < len(values) else ""
        taken += 1
        if value == "" and not optional:
            raise SmartRestError(45, msg_id, f"Missing value: {what}")
        return value

    method, api = template.method, template.api
    body: dict[str, Any] = {}
    target: tuple[str, str] | None = None
    external: tuple[str, str] | None = None
    if method == "POST" and api == "INVENTORY":
        external_id = take("external id", optional=True)
        id_type = template.value("externalIdType") or (take("external id type") if external_id else "")
        external = (id_type, external_id) if external_id else None
    elif api == "INVENTORY":  # GET or PUT
        if template.value("byId").lower() == "true":
            target = ("id", take("managed object id"))
        else:
            id_type = template.value("externalIdType") or take("external id type")
            target = (id_type, take("external id"))
    elif method == "PUT":  # ALARM or OPERATION
        name = "type" if api == "ALARM" else "fragment"
        target = (name, template.value(name) or take(name))
    else:  # POST MEASUREMENT, EVENT, ALARM
        for name, fixed in template.mandatory:
            if name == "time":
                body["time"] = _convert("DATE", fixed or take("time", optional=True), now_iso)
            else:
                given = fixed or take(name)
                body[name] = given.upper() if name in ("status", "severity") else given
        if "severity" in body:
            _convert("SEVERITY", body["severity"], now_iso, msg_id)
        if "status" in body:
            _convert("ALARMSTATUS", body["status"], now_iso, msg_id)
    for custom in template.custom:
        if custom.type == "FLAG":
            value: Any = {}
        else:
            text = custom.value or take(custom.path, optional=custom.type == "DATE")
            value = _convert(custom.type, text, now_iso, msg_id)
        _put(body, custom.path, value, msg_id)
    if taken < len(values) and any(v != "" for v in values[taken:]):
        raise SmartRestError(45, msg_id, f"Wrong number of arguments: template {msg_id} takes {taken} value(s), "
                                         f"got {len(values)}")
    return Action(msg_id, method, api, template.response, body, target, external)


def _convert(kind: str, text: str, now_iso: str, msg_id: str = "") -> Any:
    """A value of a custom type, or error 45 (in `parse_collection` a ValueError, through the caller)."""
    def bad(what: str) -> Exception:
        message = f"Value is not {what}: {text[:40]!r}"
        return SmartRestError(45, msg_id, message) if msg_id else ValueError(message)

    if kind in ("STRING",):
        return text
    if kind == "DATE":
        return text or now_iso
    if kind == "NUMBER":
        if not _FLOAT.fullmatch(text) or not math.isfinite(number := float(text)):
            raise bad("a number")
        return int(number) if _INT.fullmatch(text) else number
    if kind in ("INTEGER", "UNSIGNED"):
        if not _INT.fullmatch(text) or (kind == "UNSIGNED" and int(text) < 0):
            raise bad("an unsigned integer" if kind == "UNSIGNED" else "an integer")
        return int(text)
    choices = {"SEVERITY": _SEVERITIES, "ALARMSTATUS": _ALARM_STATUSES, "OPERATIONSTATUS": _OPERATION_STATUSES}
    if kind in choices:
        if text.upper() not in choices[kind]:
            raise bad("one of " + ", ".join(choices[kind]))
        return text.upper()
    return {}


def _put(body: dict[str, Any], path: str, value: Any, msg_id: str) -> None:
    parts = [p for p in _split_path(path) if not isinstance(p, int)]
    if not parts or len(parts) > MAX_PATH_DEPTH or any(p in ("id", "self", "source") for p in parts[:1]):
        raise SmartRestError(45, msg_id, f"Path {path!r} cannot be written")
    node = body
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


# --- JSON paths and response templates -----------------------------------------------------------------------------


def _split_path(path: str) -> list[str | int]:
    """`$.a.b[0].c` / `a.b[*]` → ["a", "b", 0, "c"] / ["a", "b", -1]; [] when it is not a path."""
    text = path.removeprefix("$").removeprefix(".")
    parts: list[str | int] = []
    pos = 0
    while pos < len(text):
        match = _PATH_PART.match(text, pos)
        if match is None:
            return []
        if match.group(1) is not None:
            parts.append(match.group(1))
        else:
            parts.append(-1 if match.group(2) == "*" else int(match.group(2)))
        pos = match.end()
        if pos < len(text) and text[pos] == ".":
            pos += 1
    return parts


def json_path(document: Any, path: str) -> list[Any]:
    """Every value a (simple) JSON path reaches in a document: dotted names, `[n]` and `[*]`; [] when none."""
    found = [document]
    for part in _split_path(path) if path else []:
        nxt: list[Any] = []
        for node in found:
            if isinstance(part, str) and isinstance(node, dict) and part in node:
                nxt.append(node[part])
            elif part == -1 and isinstance(node, list):
                nxt.extend(node)
            elif isinstance(part, int) and part >= 0 and isinstance(node, list) and part < len(node):
                nxt.append(node[part])
        found = nxt
    return found


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, separators=(",", ":"))
    return str(value)


def render_responses(collection: Collection, document: dict[str, Any], serial: str | None = None) -> list[str]:
    """The lines the response templates make of an object, in template order (platform reference §4.5, `s/dc`).

    For an operation, `serial` (the device's external id) follows the message id, as the cloud does. A template
    whose condition does not exist in the object gives no line; patterns that do not resolve give empty fields.
    """
    lines: list[str] = []
    for template in collection.responses:
        base = json_path(document, template.base) if template.base else [document]
        if not base:
            continue
        if template.condition and not (json_path(document, template.condition)
                                       or json_path(base[0], template.condition)):
            continue
        values: list[str] = []
        for pattern in template.patterns:
            found = json_path(base[0], pattern) or (json_path(document, pattern) if template.base else [])
            values.extend([_text(v) for v in found] or [""])
        lines.append(encode_line([template.msg_id, *([serial] if serial is not None else []), *values]))
    return lines


def template_lines(collection: Collection) -> Iterable[str]:
    """The `s/ut` lines that create the collection again (the inverse of `parse_collection`)."""
    for t in collection.requests.values():
        yield encode_line(["10", t.msg_id, t.method, t.api, "true" if t.response else "false",
                           *[v for _n, v in t.mandatory], *[x for c in t.custom for x in (c.path, c.type, c.value)]])
    for r in collection.responses:
        yield encode_line(["11", r.msg_id, r.base, r.condition, *r.patterns])
