"""SmartREST 2.0 custom template collections: one home for the template editor, the console and
`workbench smartrest template push | pull | check`.

Why here: a developer keeps a collection as a file (the cloud's JSON export, or the `10,…`/`11,…` creation lines),
publishes it (`s/ut/<X-ID>` over MQTT, or a managed object over REST), and checks what the device's lines become.
The template rules themselves are the local platform's own (`embedded_broker`'s public SmartREST 2.0 names), so the
live check answers exactly what the local platform does with the line.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embedded_broker import (
    TEMPLATE_COLLECTION_TYPE,
    TEMPLATE_FRAGMENT,
    TEMPLATE_XID_TYPE,
    RequestTemplate,
    SmartRestError,
    SmartRestSyntaxError,
    TemplateCollection,
    collection_fragment,
    collection_from_fragment,
    encode_smartrest_line,
    iter_smartrest_lines,
    match_line,
    parse_collection,
    parse_smartrest_line,
    template_lines,
    xid_problem,
)
from workbench.core.files import read_input_file
from workbench.core.platform_client import inventory as api
from workbench.errors import InvalidInputError, PlatformRequestError
from workbench.services.platform_http import PlatformHttp

__all__ = [
    "MAX_FILE_BYTES",
    "LineCheck",
    "PushResult",
    "check_lines",
    "collection_from_document",
    "creation_payload",
    "creation_text",
    "decode_lines",
    "describe_downstream",
    "describe_templates",
    "export_document",
    "line_for",
    "load_collection",
    "pull",
    "push",
    "read_collection_file",
    "request_fields",
    "status_line",
]

MAX_FILE_BYTES = 1024 * 1024  # a collection file; the platform takes 16184 bytes per s/ut publish anyway
_KINDS = {"MEASUREMENT": "measurement", "EVENT": "event", "ALARM": "alarm", "INVENTORY": "managedObject",
          "OPERATION": "operation"}
_HTTP_STATUS = re.compile(r"\(HTTP (\d{3})\)$")


# --- files -----------------------------------------------------------------------------------------------------


def _refused(exc: SmartRestError, source: str) -> InvalidInputError:
    return InvalidInputError(f"The template collection in {source} cannot be used",
                             (f"{exc.text} (SmartREST error {exc.code})",
                              "Check the line it names against the SmartREST 2.0 template format."))


def collection_from_document(document: Any, xid: str | None = None, source: str = "the document") -> \
        TemplateCollection:
    """A collection from JSON: the cloud's export or a managed object (name, type and the template fragment), a bare
    fragment (`requestTemplates`, `responseTemplates`), or a list of exports (the one whose X-ID is `xid`).

    Raises:
        InvalidInputError: no collection in it, no X-ID for it, or a template the platform would refuse.
    """
    if isinstance(document, list):
        exports = [d for d in document if isinstance(d, dict)]
        if xid is not None:
            exports = [d for d in exports if _xid_of(d) == xid] or exports[:0]
        if len(exports) != 1:
            names = ", ".join(sorted({x for d in document if isinstance(d, dict) and (x := _xid_of(d))}))
            raise InvalidInputError(f"{source} holds {len(exports)} matching template collections",
                                    (f"Choose one by its X-ID (there: {names or 'none'}).",))
        document = exports[0]
    if not isinstance(document, dict):
        raise InvalidInputError(f"{source} is not a template collection",
                                ("Expected a JSON object: the cloud's export or the template fragment.",))
    if TEMPLATE_FRAGMENT in document:
        fragment, named = document[TEMPLATE_FRAGMENT], _xid_of(document)
    elif "requestTemplates" in document or "responseTemplates" in document:
        fragment, named = document, None
    else:
        raise InvalidInputError(f"{source} holds no template collection",
                                (f"Expected the '{TEMPLATE_FRAGMENT}' fragment, or requestTemplates and "
                                 "responseTemplates.",))
    chosen = xid or named
    if not chosen:
        raise InvalidInputError(f"{source} does not say the collection's X-ID", ("Give the X-ID (--xid).",))
    try:
        return collection_from_fragment(chosen, fragment)
    except SmartRestError as exc:
        raise _refused(exc, source) from None


def _xid_of(document: dict[str, Any]) -> str | None:
    """The X-ID an export names: `__externalId` (the cloud's export), `externalId(s)`, else the object's name."""
    for key in ("__externalId", "externalId"):
        value = document.get(key)
        if isinstance(value, dict):
            value = value.get("externalId")
        if isinstance(value, str) and value:
            return value
    ids = document.get("externalIds")
    if isinstance(ids, list):
        for item in ids:
            if isinstance(item, dict) and item.get("type") == TEMPLATE_XID_TYPE and item.get("externalId"):
                return str(item["externalId"])
    name = document.get("name")
    return name if isinstance(name, str) and name else None


def load_collection(text: str, xid: str | None = None, source: str = "the text") -> TemplateCollection:
    """A collection from text: JSON (see `collection_from_document`) or the `s/ut` creation lines (`10,…`, `11,…`).

    Raises:
        InvalidInputError: unreadable JSON, no X-ID, or a template the platform would refuse (with its line).
    """
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            document = json.loads(stripped)
        except ValueError as exc:
            raise InvalidInputError(f"{source} is not valid JSON", (str(exc),)) from None
        return collection_from_document(document, xid, source)
    if not xid:
        raise InvalidInputError(f"Creation lines in {source} need an X-ID",
                                ("Give the X-ID (--xid): the lines themselves do not name it.",))
    try:
        return parse_collection(xid, text)
    except SmartRestError as exc:
        raise _refused(exc, source) from None


def read_collection_file(path: Path, xid: str | None = None) -> TemplateCollection:
    """A collection from a file (JSON export or creation lines).

    Raises:
        InvalidInputError: the file cannot be read, is too large, or holds no usable collection.
    """
    data = read_input_file(path, "template collection")
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInputError(f"{path} is larger than {MAX_FILE_BYTES} bytes", ("Is it a template collection?",))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path} is not UTF-8 text", ("Expected JSON or SmartREST creation lines.",)) from None
    return load_collection(text, xid, str(path))


def export_document(collection: TemplateCollection) -> dict[str, Any]:
    """The collection in the cloud's export form (a managed object with `__externalId`), for files and REST."""
    return {"name": collection.xid, "type": TEMPLATE_COLLECTION_TYPE,
            TEMPLATE_FRAGMENT: collection_fragment(collection), "__externalId": collection.xid}


def creation_payload(collection: TemplateCollection) -> tuple[str, bytes]:
    """The topic and payload that create the collection over MQTT (`s/ut/<X-ID>`, all lines in one publish)."""
    return f"s/ut/{collection.xid}", "\n".join(template_lines(collection)).encode()


# --- what lines mean -------------------------------------------------------------------------------------------


def request_fields(template: RequestTemplate) -> list[str]:
    """The values a device sends after the message id, in order, as the platform reads them (optional ones say so)."""
    method, api_name = template.method, template.api
    fields: list[str] = []
    if method == "POST" and api_name == "INVENTORY":
        fields.append("external id (optional)")
        if not template.value("externalIdType"):
            fields.append("external id type")
    elif api_name == "INVENTORY":
        if template.value("byId").lower() == "true":
            fields.append("managed object id")
        else:
            if not template.value("externalIdType"):
                fields.append("external id type")
            fields.append("external id")
    elif method == "PUT":
        name = "type" if api_name == "ALARM" else "fragment"
        if not template.value(name):
            fields.append(name)
    else:
        fields.extend(name + (" (optional)" if name == "time" else "") for name, fixed in template.mandatory
                      if not fixed)
    fields.extend(c.path + (" (optional)" if c.type == "DATE" else "") for c in template.custom
                  if c.type != "FLAG" and not c.value)
    return fields


@dataclass(frozen=True)
class LineCheck:
    """What one device line becomes under a collection: the template it matches and the JSON the platform stores,
    or the error line the platform answers on `s/e`."""

    line: str
    msg_id: str
    template: str  # "POST MEASUREMENT", "" when no template matched
    kind: str  # measurement, event, alarm, managedObject, operation; "" on error
    document: dict[str, Any] | None
    error_line: str = ""
    note: str = ""

    @property
    def ok(self) -> bool:
        """The platform accepts the line."""
        return not self.error_line

    def summary(self) -> str:
        """One line for a list: which template and what it does, or the error."""
        if not self.ok:
            return f"✗ {self.error_line}"
        return f"✓ {self.msg_id} → {self.template}: {self.note}"

    def to_dict(self) -> dict[str, Any]:
        """For --json and the GUI's detail."""
        return {"line": self.line, "ok": self.ok, "msgId": self.msg_id, "template": self.template, "kind": self.kind,
                "document": self.document, "error": self.error_line, "note": self.note}


def _now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_lines(collection: TemplateCollection, text: str, now_iso: str | None = None,
                device: str = "<this device>") -> list[LineCheck]:
    """Check each line of a `s/uc/<X-ID>` payload as the local platform does (an empty time becomes `now_iso`)."""
    now = now_iso or _now_iso()
    return [_check(collection, line, now, device) for line in iter_smartrest_lines(text) if line.strip()]


def _check(collection: TemplateCollection, line: str, now: str, device: str) -> LineCheck:
    try:
        fields = parse_smartrest_line(line)
        action = match_line(collection, fields, now)
    except SmartRestSyntaxError as exc:
        return LineCheck(line, exc.template, "", "", None, SmartRestError(42, exc.template, str(exc)).line())
    except SmartRestError as exc:
        return LineCheck(line, exc.template, "", "", None, exc.line())
    kind = _KINDS.get(action.api, action.api.lower())
    template = f"{action.method} {action.api}"
    body = dict(action.body)
    document: dict[str, Any] | None
    if action.method == "POST" and action.api in ("MEASUREMENT", "EVENT", "ALARM"):
        document = {**body, "source": {"id": device}}
        note = f"creates this {kind}"
    elif action.api == "INVENTORY" and action.method == "POST":
        document = body
        note = "creates this managed object" + (f", bound to {action.external[0]} '{action.external[1]}'"
                                                 if action.external else "")
    elif action.api == "INVENTORY":
        assert action.target is not None
        which = f"managed object {action.target[1]}" if action.target[0] == "id" else \
            f"the managed object with {action.target[0]} '{action.target[1]}'"
        document = body if action.method == "PUT" else None
        note = (f"updates {which} with this" if action.method == "PUT" else f"reads {which}")
    else:
        assert action.target is not None
        document = body
        what = f"the ACTIVE or ACKNOWLEDGED alarm of type {action.target[1]}" if action.api == "ALARM" else \
            f"the EXECUTING or PENDING operation with {action.target[1]}"
        note = f"updates {what} with this"
    if action.response:
        note += f"; the answer comes on s/dc/{collection.xid} through the response templates"
    return LineCheck(line, action.msg_id, template, kind, document, "", note)


def describe_downstream(collection: TemplateCollection, line: str) -> str | None:
    """An `s/dc/<X-ID>` line in words through its response template (`801 c8y_Valve: position=40, …`), or None
    when no response template of the collection has its message id."""
    try:
        fields = parse_smartrest_line(line)
    except SmartRestSyntaxError:
        return None
    template = next((t for t in collection.responses if fields and t.msg_id == fields[0]), None)
    if template is None:
        return None
    values = fields[1:]
    names = list(template.patterns)
    parts = []
    if len(values) == len(names) + 1:  # an operation: the device's serial follows the message id
        parts.append(f"device={values[0]}")
        values = values[1:]
    parts.extend(f"{name}={value}" for name, value in zip(names, values, strict=False))
    parts.extend(values[len(names):])
    where = template.condition or template.base or "response"
    return f"{template.msg_id} {where}: {', '.join(parts)}"


def decode_lines(collections: Mapping[str, TemplateCollection], topic: str, text: str) -> list[str] | None:
    """Each line of an `s/uc/<X-ID>` or `s/dc/<X-ID>` message in words through the known collection of that X-ID;
    None when the topic is neither or its collection is not known."""
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] not in ("s", "t", "q", "c") or parts[1] not in ("uc", "dc"):
        return None
    collection = collections.get(parts[2])
    if collection is None:
        return None
    lines = [line for line in iter_smartrest_lines(text) if line.strip()]
    if parts[1] == "dc":
        return [describe_downstream(collection, line) or f"{line}  (no response template for it)" for line in lines]
    described = []
    for check in check_lines(collection, text):
        described.append(check.summary() + ("" if check.document is None else
                                            " " + json.dumps(check.document, separators=(",", ":"))))
    return described


def describe_templates(collection: TemplateCollection) -> Iterable[tuple[str, str, list[str]]]:
    """(message id, what it does, the values the device sends) for each request template: the console's helper."""
    for template in collection.requests.values():
        yield template.msg_id, f"{template.method} {template.api}", request_fields(template)


# --- REST ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushResult:
    """Where a pushed collection lives: its managed object, and whether it was new."""

    xid: str
    managed_object: str
    created: bool


def _status(exc: PlatformRequestError) -> int | None:
    match = _HTTP_STATUS.search(exc.summary)
    return int(match.group(1)) if match else None


async def _find(http: PlatformHttp, xid: str) -> str | None:
    """The managed object id of an X-ID, or None when no collection has it."""
    try:
        found = await http.json(api.find_by_external_id(TEMPLATE_XID_TYPE, xid))
    except PlatformRequestError as exc:
        if _status(exc) == 404:
            return None
        raise
    mo = found.get("managedObject") if isinstance(found, dict) else None
    if not isinstance(mo, dict) or not mo.get("id"):
        raise PlatformRequestError(f"The platform's answer for X-ID {xid} names no managed object",
                                   ("GET /identity/externalIds/c8y_SmartRest2DeviceIdentifier/<X-ID>",))
    return str(mo["id"])


async def push(http: PlatformHttp, collection: TemplateCollection, *, replace: bool = False) -> PushResult:
    """Create the collection as a managed object with its external id, or (with `replace`) change the existing one.

    Raises:
        InvalidInputError: the X-ID cannot be one.
        PlatformRequestError: the X-ID exists and `replace` is off, or the platform refused a call.
    """
    problem = xid_problem(collection.xid)
    if problem is not None:
        raise InvalidInputError(f"'{collection.xid}' cannot be an X-ID", (problem,))
    existing = await _find(http, collection.xid)
    body = {"name": collection.xid, "type": TEMPLATE_COLLECTION_TYPE,
            TEMPLATE_FRAGMENT: collection_fragment(collection)}
    if existing is not None:
        if not replace:
            raise PlatformRequestError(f"Template collection {collection.xid} exists already (managed object "
                                    f"{existing})", ("Replace it (--replace), or choose another X-ID.",))
        await http.send(api.update_managed_object(existing, body, f"update template collection {collection.xid}"))
        return PushResult(collection.xid, existing, False)
    created = await http.json(api.create_managed_object(body, f"create template collection {collection.xid}"))
    mo = str((created or {}).get("id", "")) if isinstance(created, dict) else ""
    if not mo:
        raise PlatformRequestError("The platform created the collection but did not say its id",
                                   ("Check that the request carries the Accept header.",))
    await http.send(api.bind_external_id(mo, TEMPLATE_XID_TYPE, collection.xid))
    return PushResult(collection.xid, mo, True)


async def pull(http: PlatformHttp, xid: str) -> TemplateCollection:
    """The collection of an X-ID as the platform keeps it.

    Raises:
        InvalidInputError: the stored collection is not readable.
        PlatformRequestError: no collection has this X-ID, or the platform refused a call.
    """
    mo = await _find(http, xid)
    if mo is None:
        raise PlatformRequestError(f"No template collection {xid} on {http.base_url}",
                                ("Check the X-ID (it is case sensitive) and the tenant.",))
    document = await http.json(api.get_managed_object(mo))
    if not isinstance(document, dict):
        raise PlatformRequestError(f"The platform sent no managed object for {xid}", (f"managed object {mo}",))
    return collection_from_document({**document, "__externalId": xid}, xid, f"managed object {mo}")


def status_line(line: str) -> str:
    """An `s/dt` answer in words: `20,<X-ID>,<id>` exists, `41,<X-ID>` does not."""
    try:
        fields = [*parse_smartrest_line(line), "", ""]
    except SmartRestSyntaxError:
        return line
    if fields[0] == "20":
        return f"template collection {fields[1]} exists (managed object {fields[2]})"
    if fields[0] == "41":
        return f"template collection {fields[1]} does not exist" + (f": {fields[2]}" if fields[2] else "")
    return line


def creation_text(collection: TemplateCollection) -> str:
    """The creation lines as text (the editor's preview, and the file form of a collection)."""
    return "\n".join(template_lines(collection))


def line_for(msg_id: str, values: Iterable[str]) -> str:
    """One device line, quoted as the platform reads it back."""
    return encode_smartrest_line([msg_id, *values])
