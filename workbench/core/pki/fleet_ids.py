"""Fleet device ids: from a name pattern or a CSV of ids, checked up front, and the platform's bulk-registration CSV."""

from __future__ import annotations

import csv
import io
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from workbench.errors import InvalidInputError

MAX_ID_LENGTH = 64  # X.520 ub-common-name: the id becomes the certificate's CN
MAX_REPORTED_LINES = 20
CSV_SEPARATORS = {";": ";", ",": ",", "tab": "\t", "\t": "\t"}
# The platform auto-detects tab, ';' or ',' (docs/platform-reference.md §3.1); an id containing one would break that
# detection.
_FORBIDDEN_CHARS = {":": "':' (it separates fields in the MQTT client id d:<id>)",
                    ";": "';' (a CSV separator)", ",": "',' (a CSV separator)", "\t": "a tab (a CSV separator)",
                    '"': "'\"' (CSV quoting)", "/": "'/' (the id names a folder)", "\\": "'\\' (the id names a folder)"}
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
AGENT_COLUMN = "com_cumulocity_model_Agent.active"


@dataclass(frozen=True)
class DeviceEntry:
    """One device to issue: its id (the certificate CN and MQTT client id) and optional registration columns."""

    device_id: str
    device_type: str = ""
    name: str = ""
    id_type: str = ""


def id_problem(device_id: str) -> str | None:
    """Say why an id cannot be a device CN and folder name, or None when it is fine."""
    if not device_id:
        return "the id is empty"
    if device_id != device_id.strip():
        return f"id '{device_id}' has leading or trailing spaces"
    if len(device_id) > MAX_ID_LENGTH:
        return f"id '{device_id[:20]}...' is {len(device_id)} characters long; a CN allows at most {MAX_ID_LENGTH}"
    for char, why in _FORBIDDEN_CHARS.items():
        if char in device_id:
            return f"id '{device_id}' contains {why}"
    if any(ord(c) < 32 or ord(c) == 127 for c in device_id):
        return f"id {device_id!r} contains a control character"
    if device_id.startswith("."):
        return f"id '{device_id}' starts with '.' (the id names a folder; it would be hidden or special)"
    if device_id.split(".")[0].upper() in _WINDOWS_RESERVED:
        return f"id '{device_id}' is a reserved file name on Windows"
    return None


def _raise_line_errors(problems: Sequence[str], source: str) -> None:
    shown = list(problems[:MAX_REPORTED_LINES])
    if len(problems) > MAX_REPORTED_LINES:
        shown.append(f"... and {len(problems) - MAX_REPORTED_LINES} more")
    raise InvalidInputError(f"{len(problems)} problem(s) in the device ids from {source}", shown)


def check_unique(entries: Sequence[DeviceEntry], lines: Sequence[int] | None = None, source: str = "the list") -> None:
    """Refuse duplicate ids, also those differing only in case (they collide as folders on macOS and Windows).

    Raises:
        InvalidInputError: one cause per duplicate, naming both lines.
    """
    seen: dict[str, int] = {}
    problems = []
    for index, entry in enumerate(entries):
        line = lines[index] if lines else index + 1
        key = entry.device_id.casefold()
        if key in seen:
            first = seen[key]
            what = "repeats" if entries[first].device_id == entry.device_id else "differs only in case from"
            first_line = lines[first] if lines else first + 1
            problems.append(f"line {line}: id '{entry.device_id}' {what} line {first_line}; ids must be unique")
        else:
            seen[key] = index
    if problems:
        _raise_line_errors(problems, source)


def ids_from_pattern(pattern: str, count: int, start: int = 1) -> list[DeviceEntry]:
    """Expand a pattern such as 'wb-dev-{n:04d}' for n = start .. start+count-1.

    Raises:
        InvalidInputError: the pattern has no {n}, uses other fields, or yields invalid or duplicate ids.
    """
    if count < 1:
        raise InvalidInputError(f"The device count must be at least 1, not {count}", ())
    if start < 0:
        raise InvalidInputError(f"The first number must not be negative, not {start}", ())
    hint = "Write the number as {n}, e.g. 'wb-dev-{n:04d}' gives wb-dev-0001, wb-dev-0002, ..."
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None]
    except ValueError as exc:
        raise InvalidInputError(f"The pattern '{pattern}' is not valid", (str(exc), hint)) from exc
    if any(f != "n" for f in fields):
        raise InvalidInputError(f"The pattern '{pattern}' may only use {{n}}", (hint,))
    if "n" not in fields:
        raise InvalidInputError(f"The pattern '{pattern}' has no {{n}} for the device number", (hint,))
    entries = []
    for n in range(start, start + count):
        try:
            device_id = pattern.format(n=n)
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(f"The pattern '{pattern}' cannot format a number", (str(exc), hint)) from exc
        problem = id_problem(device_id)
        if problem:
            raise InvalidInputError(f"The pattern '{pattern}' gives an invalid id for n={n}", (problem,))
        entries.append(DeviceEntry(device_id))
    check_unique(entries, source=f"pattern '{pattern}'")
    return entries


def _sniff_separator(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in ("\t", ";", ",")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ";"


def parse_ids_csv(data: bytes | str, source: str = "the CSV file") -> list[DeviceEntry]:
    """Read device ids from a CSV: one id per line, or a table with an ID column (as the bulk-registration file).

    The separator (tab, ';' or ',') is detected as the platform does. With an ID header, TYPE, NAME and IDTYPE
    columns are kept for the registration file. Blank lines and lines starting with '#' are skipped.

    Raises:
        InvalidInputError: the file is not text, has no ids, or has bad rows; each bad row is named by line.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"{source} is not UTF-8 text",
                                    (f"Byte {exc.start} cannot be decoded.", "Save the file as UTF-8 CSV.")) from exc
    else:
        text = data.removeprefix("\ufeff")
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise InvalidInputError(f"{source} contains no device ids", ("Put one id per line, or an ID column.",))
    separator = _sniff_separator(lines[0][1])
    rows = [_row(line, number, separator, source) for number, line in lines]  # a quote never spans lines
    header = [cell.strip().upper() for cell in rows[0]]
    columns = {"ID": 0}
    if "ID" in header:
        columns = {name: header.index(name) for name in ("ID", "TYPE", "NAME", "IDTYPE") if name in header}
        lines, rows = lines[1:], rows[1:]
        if not rows:
            raise InvalidInputError(f"{source} has a header but no device rows", ())
    elif len(rows[0]) > 1 and any(cell.strip().upper() in {"AUTH_TYPE", "CREDENTIALS"} for cell in rows[0]):
        raise InvalidInputError(f"{source} has a header without an ID column", ("Name the id column 'ID'.",))
    entries, problems, numbers = [], [], []
    for (number, _), row in zip(lines, rows, strict=True):
        cells = {name: row[index].strip() if index < len(row) else "" for name, index in columns.items()}
        device_id = cells["ID"]
        problem = id_problem(device_id)
        if problem:
            problems.append(f"line {number}: {problem}")
            continue
        entries.append(DeviceEntry(device_id, cells.get("TYPE", ""), cells.get("NAME", ""),
                                   cells.get("IDTYPE", "")))
        numbers.append(number)
    if problems:
        _raise_line_errors(problems, source)
    check_unique(entries, numbers, source)
    return entries


def _row(line: str, number: int, separator: str, source: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=separator), [])
    except csv.Error as exc:
        raise InvalidInputError(f"{source}, line {number}: {exc}", ("Check the quotes on that line.",)) from exc


def _registration_columns(entries: Iterable[DeviceEntry], device_type: str, id_type: str) -> list[str]:
    entries = list(entries)
    columns = ["ID", "AUTH_TYPE", "CREDENTIALS"]
    if device_type or any(e.device_type for e in entries):
        columns.append("TYPE")
    if any(e.name for e in entries):
        columns.append("NAME")
    if id_type or any(e.id_type for e in entries):
        columns.append("IDTYPE")
    return [*columns, AGENT_COLUMN]


def bulk_registration_csv(entries: Sequence[DeviceEntry], *, separator: str = ";", device_type: str = "",
                          id_type: str = "") -> bytes:
    """The platform's bulk-registration file (platform reference §3): certificate devices, no password, agent active.

    Columns: ID, AUTH_TYPE=CERTIFICATES, empty CREDENTIALS, then TYPE / NAME / IDTYPE only when some device has
    one (or a default is given), and com_cumulocity_model_Agent.active=true last. UTF-8, '\\n' line ends.

    Raises:
        InvalidInputError: an unknown separator.
    """
    if separator not in CSV_SEPARATORS:
        raise InvalidInputError(f"Unknown CSV separator {separator!r}", ("Use ';', ',' or 'tab'.",))
    delimiter = CSV_SEPARATORS[separator]
    columns = _registration_columns(entries, device_type, id_type)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for entry in entries:
        values = {"ID": entry.device_id, "AUTH_TYPE": "CERTIFICATES", "CREDENTIALS": "",
                  "TYPE": entry.device_type or device_type, "NAME": entry.name, "IDTYPE": entry.id_type or id_type,
                  AGENT_COLUMN: "true"}
        writer.writerow([values[c] for c in columns])
    return buffer.getvalue().encode("utf-8")

