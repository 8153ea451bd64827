"""The SmartREST 2.0 static template table, kept apart so `smartrest` stays about lines, fields and effects.

Value rules: a number must be finite and within a double's range (no NaN, no infinity, no `1e999`, no integer
beyond about 1.8e308); types, fragment and series names, operation names and child ids must be printable
(`name_problem`). Anything else is error 45 and nothing of the line is stored.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from typing import Any

from embedded_broker.platform.smartrest import (
    SEVERITIES,
    CreateAlarm,
    CreateChild,
    CreateDevice,
    CreateEvent,
    CreateMeasurement,
    Effect,
    OperationUpdate,
    Query,
    RemoveFragments,
    SmartRestError,
    UpdateAlarm,
    UpdateDevice,
)

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Keys of a measurement body that a fragment must not overwrite.
_RESERVED = frozenset({"id", "self", "source", "time", "type"})


def name_problem(name: str) -> str | None:
    """Why text cannot be a type, fragment, series or child name, or None when it can.

    Names become JSON keys, types and external ids that people read and other programs match, so they must be
    printable: no control, format or line/paragraph separator characters (e.g. NUL, ESC, U+200B, U+2028), no
    spacing other than the ASCII space, no private-use or unassigned code points.
    """
    if name.isprintable():
        return None
    bad = next(c for c in name if not c.isprintable())
    return f"contains the unprintable character U+{ord(bad):04X}"


class Args:
    """A line's arguments (template id removed) whose misuse always ends as the platform's error 45."""

    __slots__ = ("now", "template", "values")

    def __init__(self, template: str, values: list[str], now: str | None) -> None:
        self.template = template
        self.values = values
        self.now = now

    def fail(self, text: str) -> SmartRestError:
        """Error 45 for this line's template."""
        return SmartRestError(45, self.template, text)

    def opt(self, i: int) -> str | None:
        """Argument `i`, None when omitted or empty."""
        return self.values[i] if i < len(self.values) and self.values[i] != "" else None

    def req(self, i: int, name: str) -> str:
        """Argument `i`, which the template cannot do without."""
        value = self.opt(i)
        if value is None:
            raise self.fail(f"Wrong number of arguments: {name} is missing")
        return value

    def name(self, i: int, what: str) -> str:
        """Argument `i` as a required type or fragment name (printable, see `name_problem`)."""
        return self.check_name(self.req(i, what), what)

    def check_name(self, value: str, what: str) -> str:
        """`value` if it may be a name, else error 45 saying why."""
        problem = name_problem(value)
        if problem is not None:
            raise self.fail(f"Invalid {what}: {problem}")
        return value

    def num(self, i: int, name: str, required: bool = True, integer: bool = False) -> int | float | None:
        """Argument `i` as JSON number: int when the text is an integer, so 25 stays 25 and not 25.0.

        Only finite values a double can hold are numbers: `1e999`, NaN and infinity are refused.
        """
        text = self.req(i, name) if required else self.opt(i)
        if text is None:
            return None
        try:
            if _INT.fullmatch(text):
                whole = int(text)
                if abs(whole) <= sys.float_info.max:
                    return whole
            elif not integer and _FLOAT.fullmatch(text) and math.isfinite(number := float(text)):
                return number
        except ValueError:  # an integer too long for int()
            pass
        raise self.fail(f"Value is not a number: {text}")  # (a double's range, and never NaN or infinity)

    def time(self, i: int) -> str | None:
        """Argument `i` as time, passed through for the applier to check; absent means `now`."""
        value = self.opt(i)
        return self.now if value is None else value

    def rest(self, i: int) -> list[str]:
        """The non-empty arguments from `i` on, for templates that take lists."""
        return [value for value in self.values[i:] if value]

    def names(self, i: int, what: str) -> list[str]:
        """The non-empty arguments from `i` on, each a name (fragment or operation names)."""
        return [self.check_name(value, what) for value in self.rest(i)]


Handler = Callable[[Args], list[Effect]]


def _body(type_: str, time: str | None, series: list[tuple[str, str, Any, str | None]], a: Args) -> dict[str, Any]:
    body: dict[str, Any] = {"type": type_, "time": time}
    for fragment, name, value, unit in series:
        if fragment in _RESERVED:
            raise a.fail(f"Invalid fragment name: {fragment}")
        entry: dict[str, Any] = {"value": value}
        if unit is not None:
            entry["unit"] = unit
        body.setdefault(fragment, {})[name] = entry
    return body


def _position(a: Args) -> dict[str, Any]:
    position = {"lat": a.num(0, "lat"), "lng": a.num(1, "lng")}
    for i, key in ((2, "alt"), (3, "accuracy")):
        if (value := a.num(i, key, required=False)) is not None:
            position[key] = value
    return position


def _keyed(fragment: str, keys: tuple[str, ...], required: int = 0) -> Handler:
    def handler(a: Args) -> list[Effect]:
        for i in range(required):
            a.req(i, keys[i])
        return [UpdateDevice({fragment: {key: a.values[i] for i, key in enumerate(keys) if a.opt(i) is not None}})]

    return handler


def _listed(fragment: str) -> Handler:
    return lambda a: [UpdateDevice({fragment: a.names(0, "name")})]


def _agent(a: Args) -> list[Effect]:
    count = len(a.values)  # 122,name,version[,url],maintainer: the maintainer is always last, the url needs four
    agent = {"name": a.req(0, "name"), "version": a.req(1, "version")}
    if count == 4 and (url := a.opt(2)) is not None:
        agent["url"] = url
    agent["maintainer"] = a.req(max(count - 1, 2), "maintainer")
    return [UpdateDevice({"c8y_Agent": agent})]


def _availability(a: Args) -> list[Effect]:
    minutes = a.num(0, "minutes", integer=True)
    return [UpdateDevice({"c8y_RequiredAvailability": {"responseInterval": minutes}}, only_if_missing=True)]


def _remove_fragments(a: Args) -> list[Effect]:
    names = a.names(0, "fragment name")
    if not names:
        raise a.fail("Wrong number of arguments: a fragment name is missing")
    return [RemoveFragments(tuple(names))]


def _measurement(a: Args) -> list[Effect]:
    fragment, series = a.name(0, "fragment"), a.name(1, "series")
    value = a.num(2, "value")
    return [CreateMeasurement(_body(fragment, a.time(4), [(fragment, series, value, a.opt(3))], a))]


def _measurements(a: Args) -> list[Effect]:
    type_ = a.name(0, "type")
    count = len(a.values) - 2  # the last group may leave its unit out
    if count <= 0 or count % 4 in (1, 2):
        raise a.fail("Wrong number of arguments: series come as fragment,series,value,unit")
    series = [
        (a.name(g, "fragment"), a.name(g + 1, "series"), a.num(g + 2, "value"), a.opt(g + 3))
        for g in range(2, len(a.values), 4)
    ]
    return [CreateMeasurement(_body(type_, a.time(1), series, a))]


def _signal(a: Args) -> list[Effect]:
    rssi, ber = a.num(0, "rssi", required=False), a.num(1, "ber", required=False)
    if rssi is None and ber is None:
        raise a.fail("Wrong number of arguments: rssi or ber is missing")
    given = [("rssi", rssi, "dBm"), ("ber", ber, "%")]
    series: list[tuple[str, str, Any, str | None]] = [
        ("c8y_SignalStrength", name, value, unit) for name, value, unit in given if value is not None]
    return [CreateMeasurement(_body("c8y_SignalStrength", a.time(2), series, a))]


def _single(type_: str, name: str, unit: str, what: str) -> Handler:
    return lambda a: [CreateMeasurement(_body(type_, a.time(1), [(type_, name, a.num(0, what), unit)], a))]


def _alarm(severity: str) -> Handler:
    def handler(a: Args) -> list[Effect]:
        type_ = a.name(0, "type")
        return [CreateAlarm(type_, severity, a.opt(1) or f"Alarm of type {type_} raised", a.time(2))]

    return handler


def _alarm_severity(a: Args) -> list[Effect]:
    type_, severity = a.name(0, "type"), a.req(1, "severity")
    if severity.upper() not in SEVERITIES:
        raise a.fail(f"Invalid severity: {severity}")
    return [UpdateAlarm(type_, severity=severity.upper())]


def _alarm_fragments(a: Args) -> list[Effect]:
    type_, names = a.name(0, "type"), a.names(1, "fragment name")
    if not names:
        raise a.fail("Wrong number of arguments: a fragment name is missing")
    return [UpdateAlarm(type_, remove_fragments=tuple(names))]


def _location(update_device: bool) -> Handler:
    def handler(a: Args) -> list[Effect]:
        position = _position(a)
        effects: list[Effect] = [
            CreateEvent("c8y_LocationUpdate", "Location updated", a.time(4), {"c8y_Position": dict(position)})
        ]
        if update_device:
            effects.append(UpdateDevice({"c8y_Position": position}))
        return effects

    return handler


def _operation(status: str, by: str) -> Handler:
    def handler(a: Args) -> list[Effect]:
        key = a.name(0, "fragment") if by == "fragment" else a.req(0, "operation id")
        target: dict[str, Any] = {"fragment": key} if by == "fragment" else {"operation_id": key}
        if status == "FAILED":
            return [OperationUpdate(status, reason=a.opt(1), **target)]
        if status == "SUCCESSFUL":
            return [OperationUpdate(status, params=tuple(a.values[1:]), **target)]
        return [OperationUpdate(status, **target)]

    return handler


def _type(a: Args, i: int) -> str | None:
    return _optional_name(a, i, "type")


def _optional_name(a: Args, i: int, what: str) -> str | None:
    value = a.opt(i)
    return None if value is None else a.check_name(value, what)


def _query(kind: str) -> Handler:
    return lambda a: [Query(kind)]


#: template id -> (most arguments after the id, or None for lists; handler)
TEMPLATES: dict[str, tuple[int | None, Handler]] = {
    "100": (2, lambda a: [CreateDevice(a.opt(0), _type(a, 1))]),
    "101": (3, lambda a: [CreateChild(a.name(0, "child id"), a.opt(1), _type(a, 2))]),
    "105": (0, _query("children")),
    "107": (None, _remove_fragments),
    "110": (3, _keyed("c8y_Hardware", ("serialNumber", "model", "revision"))),
    "111": (7, _keyed("c8y_Mobile", ("imei", "iccid", "imsi", "mcc", "mnc", "lac", "cellId"), required=1)),
    "112": (4, lambda a: [UpdateDevice({"c8y_Position": _position(a)})]),
    "113": (1, _keyed("c8y_Configuration", ("config",), required=1)),
    "114": (None, _listed("c8y_SupportedOperations")),
    "115": (3, _keyed("c8y_Firmware", ("name", "version", "url"), required=2)),
    "117": (1, _availability),
    "118": (None, _listed("c8y_SupportedLogs")),
    "119": (None, _listed("c8y_SupportedConfigurations")),
    "122": (4, _agent),
    "123": (0, _query("own_id")),
    "125": (0, lambda a: [UpdateDevice({})]),
    "200": (5, _measurement),
    "201": (None, _measurements),
    "210": (3, _signal),
    "211": (2, _single("c8y_TemperatureMeasurement", "T", "C", "temperature")),
    "212": (2, _single("c8y_Battery", "level", "%", "battery")),
    "301": (3, _alarm("CRITICAL")),
    "302": (3, _alarm("MAJOR")),
    "303": (3, _alarm("MINOR")),
    "304": (3, _alarm("WARNING")),
    "305": (2, _alarm_severity),
    "306": (1, lambda a: [UpdateAlarm(a.name(0, "type"), clear=True)]),
    "307": (None, _alarm_fragments),
    "400": (3, lambda a: [CreateEvent(a.name(0, "type"), a.req(1, "text"), a.time(2))]),
    "401": (5, _location(update_device=False)),
    "402": (5, _location(update_device=True)),
    "500": (0, _query("pending_operations")),
    "501": (1, _operation("EXECUTING", "fragment")),
    "502": (2, _operation("FAILED", "fragment")),
    "503": (None, _operation("SUCCESSFUL", "fragment")),
    "504": (1, _operation("EXECUTING", "operation_id")),
    "505": (2, _operation("FAILED", "operation_id")),
    "506": (None, _operation("SUCCESSFUL", "operation_id")),
    "507": (2, lambda a: [OperationUpdate("FAILED", fragment=_optional_name(a, 0, "fragment"), reason=a.opt(1),
                                          all_executing=True)]),
    "600": (0, _query("version")),
    "602": (0, _query("templates")),
}
