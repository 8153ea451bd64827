"""SmartREST 2.0 lines: build the static templates a device sends and read what the platform sends back."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

# The static templates the console's helper offers, with their fields (D-TPL).
STATIC_TEMPLATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "100": ("Device creation", ("device name", "device type")),
    "110": ("Configure hardware", ("serial number", "model", "revision")),
    "114": ("Set supported operations", ("operation, ...",)),
    "117": ("Set required availability", ("interval minutes",)),
    "200": ("Create custom measurement", ("fragment", "series", "value", "unit", "time")),
    "201": ("Create a measurement with multiple fragments and series", ("type", "time", "fragment", "series",
                                                                         "value", "unit", "...")),
    "211": ("Create temperature measurement", ("temperature", "time")),
    "301": ("Create CRITICAL alarm", ("type", "text", "time")),
    "302": ("Create MAJOR alarm", ("type", "text", "time")),
    "303": ("Create MINOR alarm", ("type", "text", "time")),
    "304": ("Create WARNING alarm", ("type", "text", "time")),
    "400": ("Create basic event", ("type", "text", "time")),
    "501": ("Set operation to EXECUTING", ("fragment",)),
    "502": ("Set operation to FAILED", ("fragment", "failure reason")),
    "503": ("Set operation to SUCCESSFUL", ("fragment", "parameters")),
}


def format_line(template: str, *fields: object) -> str:
    """One SmartREST line, quoting fields with commas or quotes as the platform's CSV expects."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([template, *("" if f is None else f for f in fields)])
    return buffer.getvalue()


def parse_line(line: str) -> list[str]:
    """Split one SmartREST line into fields (CSV with double-quote escaping)."""
    rows = list(csv.reader([line.strip()]))
    return rows[0] if rows else []


@dataclass(frozen=True)
class ErrorLine:
    """A line from `s/e`: `<code>,<template>,<text>` (41 = device already existing, 40 = unknown template, ...)."""

    code: str
    template: str
    text: str

    def describe(self) -> str:
        """Words for the console and the onboarding report."""
        return f"platform error {self.code} for template {self.template}: {self.text}"


def parse_error_line(line: str) -> ErrorLine:
    """Read an `s/e` line, tolerating missing fields."""
    fields = [*parse_line(line), "", "", ""]
    return ErrorLine(fields[0], fields[1], ",".join(f for f in fields[2:] if f))


def parse_token_line(line: str) -> str | None:
    """The JWT from `71,<jwt>` on `s/dat`, or None for any other line."""
    fields = parse_line(line)
    return fields[1] if len(fields) >= 2 and fields[0] == "71" and fields[1] else None
