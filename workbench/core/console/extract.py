"""Numbers picked from payloads for the charts: a JSON path, a SmartREST 200/201/211 measurement, a plain number,
or a decoded Protobuf field / Sparkplug B metric. A payload without the value gives no point, never an error."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from workbench.core.platform_client.smartrest import parse_line
from workbench.errors import InvalidInputError

from .decoders import Decoded

_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\[\"((?:[^\"\\]|\\.)*)\"\]")


class SourceKind(Enum):
    """Where in a payload a chart's value is."""

    JSON = "json"  # a JSON path in the payload (or in a decoded CBOR/MessagePack/Protobuf value)
    SMARTREST = "smartrest"  # a measurement line 200/201/211: 'fragment.series', or empty for the first value
    NUMBER = "number"  # the whole payload is a number
    METRIC = "metric"  # a Sparkplug B metric by name (or alias number)


@dataclass(frozen=True)
class ValueSource:
    """What to plot from a payload; `expression` is the JSON path, 'fragment.series' or the metric name."""

    kind: SourceKind
    expression: str = ""

    def __post_init__(self) -> None:
        if self.kind is SourceKind.JSON:
            json_path(self.expression)  # raises on a path that cannot be read
        if self.kind is SourceKind.METRIC and not self.expression.strip():
            raise InvalidInputError("A Sparkplug metric source needs the metric's name or alias", ())

    @property
    def label(self) -> str:
        """How the legend names it."""
        return self.kind.value if not self.expression else f"{self.expression}"

    @classmethod
    def parse(cls, text: str) -> ValueSource:
        """'json:$.a.b[0]', 'smartrest:c8y_Temperature.T', 'number', 'metric:Temperature'; a bare '$.x' is JSON.

        Raises:
            InvalidInputError: an unknown kind or a JSON path that cannot be read.
        """
        text = text.strip()
        if text.startswith("$"):
            return cls(SourceKind.JSON, text)
        word, _, rest = text.partition(":")
        try:
            kind = SourceKind(word.lower())
        except ValueError:
            raise InvalidInputError(f"'{word}' is not a value source",
                                    ("Use json:<path>, smartrest:<fragment.series>, number or metric:<name>.",)) \
                from None
        return cls(kind, rest.strip())


def json_path(expression: str) -> list[str | int]:
    """The steps of '$.a.b[0]["x y"]' (also 'a.b.0'); an empty path is the whole value.

    Raises:
        InvalidInputError: the path has text that is not a step.
    """
    text = expression.strip()
    if text in ("", "$"):
        return []
    if not text.startswith("$"):
        text = "$." + text
    steps: list[str | int] = []
    position = 1
    while position < len(text):
        match = _STEP.match(text, position)
        if match is None:
            raise InvalidInputError(f"'{expression}' is not a JSON path",
                                    (f"Cannot read it from '{text[position:]}'. Use $.field.sub[0] or field.sub.0.",))
        name, index, quoted = match.groups()
        if index is not None:
            steps.append(int(index))
        elif quoted is not None:
            steps.append(json.loads(f'"{quoted}"'))
        else:
            steps.append(int(name) if name.isdigit() else name)
        position = match.end()
    return steps


def as_number(value: Any) -> float | None:
    """A plottable number: ints, floats, booleans (0/1) and numeric strings (Protobuf's 64-bit ints); else None."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def walk(value: Any, steps: list[str | int]) -> Any:
    """Follow path steps into JSON-like data; None when a step is missing."""
    for step in steps:
        if isinstance(value, dict):
            value = value.get(step if isinstance(step, str) else str(step))
            if value is None and isinstance(step, int):
                return None
        elif isinstance(value, list) and isinstance(step, int) and -len(value) <= step < len(value):
            value = value[step]
        else:
            return None
    return value


def _smartrest_values(text: str, wanted: str) -> list[float]:
    """Values of measurement lines: 200 (fragment, series, value), 201 (type, time, then groups of fragment,
    series, value, unit) and 211 (temperature: c8y_TemperatureMeasurement.T)."""
    fragment, _, series = wanted.partition(".")
    out: list[float] = []
    for line in text.splitlines():
        fields = parse_line(line)
        if not fields:
            continue
        triples: list[tuple[str, str, str]] = []
        if fields[0] == "200" and len(fields) >= 4:
            triples.append((fields[1], fields[2], fields[3]))
        elif fields[0] == "201" and len(fields) >= 6:
            rest = fields[3:]
            triples += [(rest[i], rest[i + 1], rest[i + 2]) for i in range(0, len(rest) - 2, 4)]
        elif fields[0] == "211" and len(fields) >= 2:
            triples.append(("c8y_TemperatureMeasurement", "T", fields[1]))
        for frag, ser, value in triples:
            if (not fragment or frag == fragment) and (not series or ser == series):
                number = as_number(value)
                if number is not None:
                    out.append(number)
                    if not wanted:
                        return out  # no choice made: the first value of the first line
    return out


def extract(source: ValueSource, payload: bytes, decoded: Decoded | None = None) -> list[float]:
    """The numbers the source finds in one payload (usually one; a SmartREST payload may hold several lines)."""
    if source.kind is SourceKind.METRIC:
        if decoded is None or not decoded.metrics:
            return []
        wanted = source.expression.strip()
        hits = [m.value for m in decoded.metrics
                if m.name == wanted or (m.alias is not None and str(m.alias) == wanted)]
        return [n for n in (as_number(v) for v in hits) if n is not None]
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if source.kind is SourceKind.NUMBER:
        if text is not None:
            number = as_number(text)
            return [number] if number is not None else []
        if decoded is not None and decoded.ok:
            number = as_number(decoded.value)
            return [number] if number is not None else []
        return []
    if source.kind is SourceKind.SMARTREST:
        return _smartrest_values(text, source.expression.strip()) if text is not None else []
    steps = json_path(source.expression)
    if decoded is not None and decoded.ok and isinstance(decoded.value, (dict, list)):
        data: Any = decoded.value
    elif text is not None:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return []
    else:
        return []
    number = as_number(walk(data, steps))
    return [number] if number is not None else []
