"""Bulk device-credentials CSV parsing, kept pure so the REST handler only has to apply rows and report failures."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from embedded_broker.errors import BrokerError

DEFAULT_ID_TYPE = "c8y_Serial"
AUTH_TYPES = ("BASIC", "CERTIFICATES")
_KNOWN = ("ID", "CREDENTIALS", "AUTH_TYPE", "ENROLLMENT_OTP", "TENANT", "TYPE", "NAME", "ICCID", "IDTYPE", "PATH",
          "SHELL")
_EXTERNAL_PREFIX = "external-"
_SEPARATORS = ("\t", ";", ",")
_TRUE = ("1", "true", "yes")
_MASK = "****"


class BulkCsvError(BrokerError, ValueError):
    """The file as a whole cannot be read, so no row can be trusted: the request fails instead of reporting rows."""


@dataclass(frozen=True, slots=True)
class BulkRow:
    """One accepted line, typed so the database side never has to look at CSV text again."""

    line_number: int
    device_id: str
    auth_type: str
    credentials: str | None
    enrollment_otp: str | None
    tenant: str | None
    type: str | None
    name: str | None
    id_type: str
    iccid: str | None
    path: str | None
    shell: bool
    external_ids: tuple[tuple[str, str], ...]
    properties: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class RowFailure:
    """One refused line, as the cloud reports it back: where, which device, why, and the line without its secret."""

    line_number: int
    device_id: str
    reason: str
    line: str


@dataclass(frozen=True, slots=True)
class BulkCsv:
    """The parse result: good rows go in, failures are reported, and the counters match the cloud's response."""

    separator: str
    rows: tuple[BulkRow, ...]
    failures: tuple[RowFailure, ...]

    @property
    def number_of_all(self) -> int:
        """The cloud's `numberOfAll`: every non-empty data line, whether it went in or not."""
        return len(self.rows) + len(self.failures)


@dataclass(frozen=True, slots=True)
class _Column:
    kind: str  # a known column name, "external", "property" or "ignored"
    key: str = ""  # the external id type or the property name
    path: tuple[str, ...] = ()


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _columns(names: list[str]) -> list[_Column]:
    columns: list[_Column] = []
    seen: set[str] = set()
    for raw in names:
        name = raw.strip()
        if not name:
            columns.append(_Column("ignored"))
            continue
        if name.upper() in _KNOWN:
            column, unique = _Column(name.upper()), name.upper()
        elif name.lower().startswith(_EXTERNAL_PREFIX) and len(name) > len(_EXTERNAL_PREFIX):
            key = name[len(_EXTERNAL_PREFIX):]
            column, unique = _Column("external", key), _EXTERNAL_PREFIX + key
        else:
            path = tuple(name.split("."))
            if not all(part.strip() for part in path):
                raise BulkCsvError(f"the CSV header has an invalid property name {name!r}")
            column, unique = _Column("property", name, path), name
        if unique in seen:
            raise BulkCsvError(f"the CSV header names the column {name!r} twice")
        seen.add(unique)
        columns.append(column)
    if not any(column.kind == "ID" for column in columns):
        found = ", ".join(repr(name.strip()) for name in names)
        raise BulkCsvError(f"the CSV header has no ID column (found {found}); the ID column is required")
    paths = [column.path for column in columns if column.kind == "property"]
    for path in paths:
        for other in paths:
            if len(other) > len(path) and other[: len(path)] == path:
                raise BulkCsvError(f"the CSV property {'.'.join(path)!r} clashes with {'.'.join(other)!r}")
    return columns


def _line_text(fields: list[str], raw: str, columns: list[_Column], separator: str) -> str:
    index = next((i for i, column in enumerate(columns) if column.kind == "CREDENTIALS"), None)
    if index is None or index >= len(fields) or not fields[index].strip():
        return raw
    masked = [_MASK if i == index else value for i, value in enumerate(fields)]
    out = io.StringIO()
    csv.writer(out, delimiter=separator, lineterminator="").writerow(masked)
    return out.getvalue()


def _row(line_number: int, fields: list[str], columns: list[_Column]) -> BulkRow | str:
    """Build the row, or return the reason it is refused."""
    values: dict[str, str] = {}
    external: list[tuple[str, str]] = []
    properties: dict[str, Any] = {}
    for column, raw in zip(columns, fields, strict=False):
        value = raw.strip()
        if column.kind == "external":
            if value:
                external.append((column.key, value))
        elif column.kind == "property":
            if value:
                node = properties
                for part in column.path[:-1]:
                    node = node.setdefault(part, {})
                node[column.path[-1]] = value
        elif column.kind != "ignored":
            values[column.kind] = value
    device_id = values.get("ID", "")
    if len(fields) != len(columns):
        return f"line has {len(fields)} fields, the header has {len(columns)}"
    if not device_id:
        return "ID is empty"
    if ":" in device_id:
        return "ID must not contain ':' (it becomes the certificate CN and MQTT client id)"
    auth_type = values.get("AUTH_TYPE", "").upper() or "BASIC"
    if auth_type not in AUTH_TYPES:
        return f"AUTH_TYPE {values['AUTH_TYPE']!r} is not BASIC or CERTIFICATES"
    certificates = auth_type == "CERTIFICATES"
    if not certificates and not values.get("CREDENTIALS"):
        return "CREDENTIALS is required unless AUTH_TYPE is CERTIFICATES"
    if values.get("ENROLLMENT_OTP") and not certificates:
        return "ENROLLMENT_OTP is only allowed when AUTH_TYPE is CERTIFICATES"
    return BulkRow(
        line_number=line_number,
        device_id=device_id,
        auth_type=auth_type,
        credentials=None if certificates else values["CREDENTIALS"],
        enrollment_otp=values.get("ENROLLMENT_OTP") or None,
        tenant=values.get("TENANT") or None,
        type=values.get("TYPE") or None,
        name=values.get("NAME") or None,
        id_type=values.get("IDTYPE") or DEFAULT_ID_TYPE,
        iccid=values.get("ICCID") or None,
        path=values.get("PATH") or None,
        shell=values.get("SHELL", "").lower() in _TRUE,
        external_ids=tuple(external),
        properties=properties,
    )


def parse_bulk_csv(data: bytes) -> BulkCsv:
    """Read an uploaded bulk registration file like the cloud: bad lines are reported, good lines still count."""
    lines = [line.rstrip("\r\n") for line in io.StringIO(_decode(data), newline="")]
    header_text = next((line for line in lines if line.strip()), None)
    if header_text is None:
        raise BulkCsvError("the CSV file is empty")
    separator = next((sep for sep in _SEPARATORS if sep in header_text), ",")
    reader = csv.reader(lines, delimiter=separator)
    rows: list[BulkRow] = []
    failures: list[RowFailure] = []
    columns: list[_Column] | None = None
    seen_ids: set[str] = set()
    previous_end = 0
    try:
        for fields in reader:
            first, previous_end = previous_end + 1, reader.line_num
            raw = "\n".join(lines[first - 1 : reader.line_num])
            if not raw.strip():
                continue
            if columns is None:
                columns = _columns(fields)
                continue
            result = _row(first, fields, columns)
            if isinstance(result, BulkRow) and result.device_id in seen_ids:
                result = "duplicate ID in this file"
            if isinstance(result, BulkRow):
                seen_ids.add(result.device_id)
                rows.append(result)
                continue
            id_index = next(i for i, column in enumerate(columns) if column.kind == "ID")
            device_id = fields[id_index].strip() if id_index < len(fields) else ""
            failures.append(RowFailure(first, device_id, result, _line_text(fields, raw, columns, separator)))
    except csv.Error as exc:
        raise BulkCsvError(f"the CSV file cannot be read at line {reader.line_num}: {exc}") from exc
    return BulkCsv(separator, tuple(rows), tuple(failures))


def _merge(target: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def _copy(tree: dict[str, Any]) -> dict[str, Any]:
    return {key: _copy(value) if isinstance(value, dict) else value for key, value in tree.items()}


def managed_object_fragments(row: BulkRow) -> dict[str, Any]:
    """The device managed object the cloud creates for a row, so the emulator's inventory looks like the real one."""
    fragments = _copy(row.properties)
    explicit: dict[str, Any] = {"name": row.name or row.device_id, "c8y_IsDevice": {}}
    if row.type:
        explicit["type"] = row.type
    if row.iccid:
        explicit["c8y_Mobile"] = {"iccid": row.iccid}
    if row.shell:
        explicit["c8y_SupportedOperations"] = ["c8y_Command"]
    _merge(fragments, explicit)
    return fragments
