"""SmartREST 2.0 static templates as plain data, so the `s/us` handler applies effects without knowing line rules.

Parsing: fields are comma separated; a field that starts with `"` is quoted and runs to the next unescaped `"`,
which must end the field. Inside quotes `\\"` is a quote and `\\\\` a backslash (any other backslash is literal),
so every list of strings survives `parse_line(encode_line(fields))`. Unquoted fields are taken as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from embedded_broker.errors import BrokerError

__all__ = [
    "DOWNSTREAM_IDS",
    "SEVERITIES",
    "TEMPLATE_IDS",
    "CreateAlarm",
    "CreateChild",
    "CreateDevice",
    "CreateEvent",
    "CreateMeasurement",
    "Effect",
    "OperationUpdate",
    "Query",
    "RemoveFragments",
    "SmartRestError",
    "SmartRestSyntaxError",
    "UpdateAlarm",
    "UpdateDevice",
    "encode_line",
    "iter_lines",
    "parse_line",
    "split_lines",
    "translate",
    "translate_payload",
]

SEVERITIES = ("CRITICAL", "MAJOR", "MINOR", "WARNING")

#: Lines the platform sends on `s/ds`: children (106), own id (124), operations (510-530), version (601, 603).
DOWNSTREAM_IDS: frozenset[str] = frozenset({"106", "124", "601", "603", *(str(i) for i in range(510, 531))})


class SmartRestSyntaxError(BrokerError, ValueError):
    """A line that cannot be cut into fields; `template` keeps the first field, if it could be read, for error 42."""

    def __init__(self, message: str, template: str = "") -> None:
        super().__init__(message)
        self.template = template


class SmartRestError(BrokerError):
    """A refusal the platform reports to the device as `<code>,<template>,<text>`."""

    def __init__(self, code: int, template: str, text: str) -> None:
        super().__init__(f"{code},{template},{text}")
        self.code = code
        self.template = template
        self.text = text

    def line(self) -> str:
        """The error line, quoted where needed so the device can read it back."""
        return encode_line((str(self.code), self.template, self.text))


# --- effects -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateDevice:
    """Register the publishing client as a device (100); None leaves the platform default to the applier."""

    name: str | None = None
    type: str | None = None


@dataclass(frozen=True, slots=True)
class CreateChild:
    """Register a child device under the publishing device (101)."""

    child_id: str
    name: str | None = None
    type: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateDevice:
    """Merge fragments into the device's managed object; empty fragments only touch it (heartbeat)."""

    fragments: dict[str, Any]
    only_if_missing: bool = False


@dataclass(frozen=True, slots=True)
class RemoveFragments:
    """Drop fragments from the device's managed object (107)."""

    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CreateMeasurement:
    """Store one measurement; `body` is the platform's JSON minus `source`, which only the applier knows."""

    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CreateAlarm:
    """Raise an alarm (301-304); the applier de-duplicates by type like the platform does."""

    type: str
    severity: str
    text: str
    time: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateAlarm:
    """Change the active alarm of a type: new severity (305), clear (306) or drop fragments (307)."""

    type: str
    severity: str | None = None
    clear: bool = False
    remove_fragments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CreateEvent:
    """Store one event (400-402)."""

    type: str
    text: str
    time: str | None = None
    fragments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OperationUpdate:
    """Move operations on: the oldest matching by `fragment`, one by `operation_id`, or all EXECUTING (507)."""

    to_status: str
    fragment: str | None = None
    operation_id: str | None = None
    reason: str | None = None
    params: tuple[str, ...] = ()
    all_executing: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    """A request the applier answers on `s/ds`: children, own_id, pending_operations, version or templates."""

    kind: str


Effect = (
    CreateDevice | CreateChild | UpdateDevice | RemoveFragments | CreateMeasurement | CreateAlarm | UpdateAlarm
    | CreateEvent | OperationUpdate | Query
)

#: Every upstream static template understood (the table itself lives in `smartrest_templates`).
TEMPLATE_IDS: frozenset[str] = frozenset(
    {"100", "101", "105", "107", "110", "111", "112", "113", "114", "115", "117", "118", "119", "122", "123", "125"}
    | {"200", "201", "210", "211", "212", "301", "302", "303", "304", "305", "306", "307", "400", "401", "402"}
    | {"500", "501", "502", "503", "504", "505", "506", "507", "600", "602"}
)


# --- lines and fields ----------------------------------------------------------------------------------------------


# A quoted field's rest after its opening quote: `\\"` and `\\\\` are escapes (any other backslash is literal and
# cannot hide a quote), so it ends at the first other `"`. Possessive, so a long field is one C-level scan.
_QUOTED_REST = re.compile(r'(?:[^"\\]++|\\.)*+"', re.DOTALL)
# Outside quotes, only a line break or a quote that opens a field (at the start, or after `,` or a line break) matter.
_UNQUOTED_STOP = re.compile(r'\n|(?:^|(?<=[,\n]))"')
_ESCAPE = re.compile(r'\\([\\"])')


def iter_lines(payload: str) -> Iterator[str]:
    """The non-empty lines of a payload, one at a time, without breaking quoted fields that carry line breaks.

    Lazy, so a caller that stops after its limit of lines never scans the rest of a large payload.
    """
    start = pos = 0
    while True:
        stop = _UNQUOTED_STOP.search(payload, pos)
        if stop is not None and stop.group() == '"':
            rest = _QUOTED_REST.match(payload, stop.end())
            if rest is not None:
                pos = rest.end()
                continue
            stop = None  # an unterminated quote runs to the end of the payload
        end = len(payload) if stop is None else stop.start()
        line = payload[start:end].removesuffix("\r")
        if line:
            yield line
        if stop is None:
            return
        start = pos = stop.end()


def split_lines(payload: str) -> list[str]:
    """Cut a payload into lines without breaking quoted fields that carry line breaks."""
    return list(iter_lines(payload))


def parse_line(line: str) -> list[str]:
    """Cut one line into fields so templates can read them by position."""
    line = line.removesuffix("\r")
    fields: list[str] = []
    i, n = 0, len(line)
    while True:
        if i < n and line[i] == '"':
            rest = _QUOTED_REST.match(line, i + 1)
            if rest is None:
                raise SmartRestSyntaxError("Malformed line: unterminated quote", fields[0] if fields else "")
            fields.append(_ESCAPE.sub(r"\1", line[i + 1 : rest.end() - 1]))
            i = rest.end()
            if i == n:
                return fields
            if line[i] != ",":
                raise SmartRestSyntaxError("Malformed line: text after a closing quote", fields[0])
            i += 1
        else:
            end = line.find(",", i)
            if end < 0:
                fields.append(line[i:])
                return fields
            fields.append(line[i:end])
            i = end + 1


_NEEDS_QUOTES = re.compile(r'[",\n\r\t]|^\s|\s\Z')


def _encode_field(value: str) -> str:
    if value and _NEEDS_QUOTES.search(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def encode_line(fields: Iterable[str]) -> str:
    """Build a line (downstream or error) that any SmartREST client, and `parse_line`, reads back field for field.

    An empty list has no line of its own: it encodes like `[""]`.
    """
    return ",".join(_encode_field(value) for value in fields)


# --- templates -----------------------------------------------------------------------------------------------------


def translate(fields: list[str], now_iso: str | None = None) -> list[Effect]:
    """Turn one parsed line into effects, or the error the platform would answer; `now_iso` fills absent times."""
    # Deferred: the table builds on the effect classes above, and importing it here keeps the import one-way.
    from embedded_broker.platform.smartrest_templates import TEMPLATES, Args

    template = fields[0] if fields else ""
    if template == "":
        raise SmartRestError(42, "", "Malformed line: empty template id")
    if not (template.isascii() and template.isdigit()):
        raise SmartRestError(42, template, "Malformed line: template id is not a number")
    entry = TEMPLATES.get(template)
    if entry is None:
        raise SmartRestError(40, template, f"Unknown template {template}")
    max_args, handler = entry
    args = list(fields[1:])
    while args and args[-1] == "":  # omitted and empty trailing fields mean the same
        args.pop()
    if max_args is not None and len(args) > max_args:
        raise SmartRestError(45, template, f"Wrong number of arguments: at most {max_args} expected, got {len(args)}")
    return handler(Args(template, args, now_iso))


def translate_payload(payload: str, now_iso: str | None = None) -> list[tuple[list[Effect] | SmartRestError, str]]:
    """Translate every line of one `s/us` publish on its own, so one bad line does not cost the others."""
    results: list[tuple[list[Effect] | SmartRestError, str]] = []
    for line in split_lines(payload):
        try:
            results.append((translate(parse_line(line), now_iso), line))
        except SmartRestSyntaxError as exc:
            results.append((SmartRestError(42, exc.template, str(exc)), line))
        except SmartRestError as exc:
            results.append((exc, line))
    return results
