"""Managed objects, external ids, measurements, events, alarms and operations: the device data people look at.

Documents are stored as JSON with the cloud's field names, so REST returns them nearly as stored.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from embedded_broker.platform.errors import PlatformError, invalid, not_found
from embedded_broker.platform.formats import iso_ms, parse_time
from embedded_broker.store import Store, dumps, loads

MAX_ID = 2 ** 63 - 1  # the largest SQLite INTEGER
_ID = re.compile(r"[0-9]{1,19}")
RECORD_KINDS = {"measurement": "measurements", "event": "events", "alarm": "alarms"}
SEVERITIES = ("CRITICAL", "MAJOR", "MINOR", "WARNING")
OPERATION_STATUSES = ("PENDING", "EXECUTING", "SUCCESSFUL", "FAILED")
_RESERVED = {"id", "self", "creationTime", "lastUpdated", "owner", "source"}


class Inventory:
    """Device data of every tenant; every write is one transaction."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time, base_url: str = "") -> None:
        self.store = store
        self._clock = clock
        self.base_url = base_url

    # --- managed objects -----------------------------------------------------------------------------------
    def create_object(self, tenant: str, body: dict[str, Any], owner: str | None = None) -> dict[str, Any]:
        """A new managed object (201 on REST)."""
        if not isinstance(body, dict):
            raise invalid("inventory", "The managed object must be a JSON object.")
        now = self._clock()
        document = {k: v for k, v in body.items() if k not in _RESERVED}
        with self.store.transaction():
            cursor = self.store.execute(
                "INSERT INTO managed_objects (tenant, owner, body, created, updated) VALUES (?, ?, ?, ?, ?)",
                (tenant, owner, dumps(document), now, now))
        return self.get_object(tenant, str(cursor.lastrowid))

    def get_object(self, tenant: str, mo_id: str) -> dict[str, Any]:
        """One managed object as JSON.

        Raises:
            PlatformError: 404.
        """
        number = valid_id(mo_id)
        row = None if number is None else self.store.one("SELECT * FROM managed_objects WHERE tenant = ? AND id = ?",
                                                          (tenant, number))
        if row is None:
            raise not_found("inventory",
                            f"Finding device data from database failed : No managedObject for id '{mo_id}'!")
        return self._object(row)

    def _object(self, row: Any) -> dict[str, Any]:
        mo_id = str(row["id"])
        return {"id": mo_id, "self": f"{self.base_url}/inventory/managedObjects/{mo_id}",
                "creationTime": iso_ms(row["created"]), "lastUpdated": iso_ms(row["updated"]),
                **({"owner": row["owner"]} if row["owner"] else {}), **loads(row["body"])}

    def update_object(self, tenant: str, mo_id: str, fragments: dict[str, Any], *, only_missing: bool = False,
                      remove: tuple[str, ...] = ()) -> dict[str, Any]:
        """Merge top-level fragments (a null value removes one), as PUT does."""
        with self.store.transaction():
            current = self.get_object(tenant, mo_id)
            body = {k: v for k, v in current.items() if k not in _RESERVED | {"creationTime", "lastUpdated"}}
            for key, value in fragments.items():
                if key in _RESERVED or (only_missing and key in body):
                    continue
                if value is None:
                    body.pop(key, None)
                else:
                    body[key] = value
            for key in remove:
                body.pop(key, None)
            self.store.execute("UPDATE managed_objects SET body = ?, updated = ? WHERE tenant = ? AND id = ?",
                               (dumps(body), self._clock(), tenant, _int(mo_id)))
        return self.get_object(tenant, mo_id)

    def list_objects(self, tenant: str, query: dict[str, str]) -> list[dict[str, Any]]:
        """Managed objects, filtered by `type`, `owner` or `fragmentType`."""
        rows = self.store.all("SELECT * FROM managed_objects WHERE tenant = ? ORDER BY id", (tenant,))
        found = [self._object(r) for r in rows]
        if "type" in query:
            found = [m for m in found if m.get("type") == query["type"]]
        if "owner" in query:
            found = [m for m in found if m.get("owner") == query["owner"]]
        if "fragmentType" in query:
            found = [m for m in found if query["fragmentType"] in m]
        return found

    def delete_object(self, tenant: str, mo_id: str) -> None:
        """Remove a managed object, its external ids and data."""
        self.get_object(tenant, mo_id)
        with self.store.transaction():
            for table, column in (("managed_objects", "id"), ("external_ids", "mo_id"), ("records", "source"),
                                  ("operations", "device")):
                self.store.execute(f"DELETE FROM {table} WHERE tenant = ? AND {column} = ?", (tenant, _int(mo_id)))

    # --- external ids --------------------------------------------------------------------------------------
    def bind(self, tenant: str, mo_id: str, id_type: str, external_id: str) -> dict[str, Any]:
        """Attach an external id.

        Raises:
            PlatformError: 409 when it is bound to another object.
        """
        self.get_object(tenant, mo_id)
        with self.store.transaction():
            row = self.store.one("SELECT mo_id FROM external_ids WHERE tenant = ? AND type = ? AND external_id = ?",
                                 (tenant, id_type, external_id))
            if row is not None and str(row["mo_id"]) != str(mo_id):
                raise PlatformError(409, "identity/Conflict", "Identity already bound to a different Global ID.")
            self.store.execute("INSERT OR IGNORE INTO external_ids (tenant, type, external_id, mo_id) "
                               "VALUES (?, ?, ?, ?)", (tenant, id_type, external_id, _int(mo_id)))
        return self._external(id_type, external_id, str(mo_id))

    def lookup(self, tenant: str, id_type: str, external_id: str) -> str | None:
        """The managed object id of an external id, or None."""
        row = self.store.one("SELECT mo_id FROM external_ids WHERE tenant = ? AND type = ? AND external_id = ?",
                             (tenant, id_type, external_id))
        return None if row is None else str(row["mo_id"])

    def external(self, tenant: str, id_type: str, external_id: str) -> dict[str, Any]:
        """The external id JSON.

        Raises:
            PlatformError: 404 "External ID not found".
        """
        mo_id = self.lookup(tenant, id_type, external_id)
        if mo_id is None:
            raise not_found("identity", "External ID not found")
        return self._external(id_type, external_id, mo_id)

    def externals_of(self, tenant: str, mo_id: str) -> list[dict[str, Any]]:
        """Every external id of a managed object."""
        rows = self.store.all("SELECT type, external_id FROM external_ids WHERE tenant = ? AND mo_id = ?",
                              (tenant, _int(mo_id)))
        return [self._external(r["type"], r["external_id"], str(mo_id)) for r in rows]

    def add_child_reference(self, tenant: str, parent_id: str, reference: dict[str, Any]) -> None:
        """Append one entry to a managed object's `childDevices.references`, in SQL: the cost does not grow with the
        parent's JSON in Python, which matters to a device that creates children by the thousand (`101`).

        Raises:
            PlatformError: 404 when the parent does not exist.
        """
        ref = dumps(reference)
        with self.store.transaction():
            cursor = self.store.execute(
                "UPDATE managed_objects SET updated = ?, body = CASE "
                "WHEN json_type(body, '$.childDevices.references') = 'array' "
                "THEN json_insert(body, '$.childDevices.references[#]', json(?)) "
                "WHEN json_type(body, '$.childDevices') = 'object' "
                "THEN json_set(body, '$.childDevices.references', json_array(json(?))) "
                "ELSE json_set(body, '$.childDevices', json_object('references', json_array(json(?)))) END "
                "WHERE tenant = ? AND id = ?", (self._clock(), ref, ref, ref, tenant, _int(parent_id)))
            if cursor.rowcount != 1:
                raise not_found("inventory",
                                f"Finding device data from database failed : No managedObject for id '{parent_id}'!")

    def externals_of_many(self, tenant: str, mo_ids: list[str], id_type: str) -> dict[str, list[str]]:
        """External ids of one type for many managed objects in one indexed query (`105` for a device with many
        children), by managed object id; ids that cannot be row ids are skipped."""
        numbers = [int(m) for m in mo_ids if m.isascii() and m.isdigit() and len(m) <= 18]
        # `+type`: search by (tenant, mo_id), not by the primary key's (tenant, type) that spans the whole tenant
        rows = self.store.all("SELECT mo_id, external_id FROM external_ids WHERE tenant = ? "
                              "AND mo_id IN (SELECT value FROM json_each(?)) AND +type = ? ORDER BY mo_id, external_id",
                              (tenant, "[" + ",".join(map(str, numbers)) + "]", id_type))
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(str(row["mo_id"]), []).append(row["external_id"])
        return found

    def _external(self, id_type: str, external_id: str, mo_id: str) -> dict[str, Any]:
        return {"externalId": external_id, "type": id_type,
                "self": f"{self.base_url}/identity/externalIds/{id_type}/{external_id}",
                "managedObject": {"id": mo_id, "self": f"{self.base_url}/inventory/managedObjects/{mo_id}"}}

    # --- measurements, events, alarms ----------------------------------------------------------------------
    def add_record(self, tenant: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Store a measurement, event or alarm (alarms of an active type are counted, as in the cloud)."""
        if not isinstance(body, dict):
            raise invalid(RECORD_KINDS[kind], "The body must be a JSON object.")
        source = (body.get("source") or {}).get("id") if isinstance(body.get("source"), dict) else None
        if source is None:
            raise invalid(RECORD_KINDS[kind], "source.id is required.")
        self.get_object(tenant, str(source))
        record_type = body.get("type")
        if not isinstance(record_type, str) or not record_type:
            raise invalid(RECORD_KINDS[kind], "type is required.")
        when = body.get("time")
        try:
            stamp = iso_ms(parse_time(when)) if when else iso_ms(self._clock())
        except (TypeError, ValueError, OverflowError, OSError):
            raise invalid(RECORD_KINDS[kind], f"time {when!r} is not an ISO 8601 date-time (years 1 to 9999 UTC).") \
                from None
        document = {k: v for k, v in body.items() if k not in _RESERVED | {"time"}}
        if kind == "event" and not isinstance(document.get("text"), str):
            raise invalid("events", "text is required.")
        status = None
        if kind == "alarm":
            severity = str(document.get("severity", "")).upper()
            if severity not in SEVERITIES:
                raise invalid("alarms", f"severity must be one of {', '.join(SEVERITIES)}.")
            document["severity"] = severity
            status = str(document.get("status", "ACTIVE")).upper()
            document.setdefault("text", f"Alarm of type {record_type} raised")
            active = self.store.one("SELECT id, body FROM records WHERE tenant = ? AND kind = 'alarm' AND source = ? "
                                    "AND type = ? AND status != 'CLEARED'", (tenant, _int(source), record_type))
            if active is not None and status != "CLEARED":
                old = loads(active["body"])
                old.update(document, count=old.get("count", 1) + 1)
                self._write_record(tenant, active["id"], old, status)
                return self.get_record(tenant, kind, str(active["id"]))
            document["count"] = 1
        document["creationTime"] = iso_ms(self._clock())
        with self.store.transaction():
            cursor = self.store.execute(
                "INSERT INTO records (tenant, kind, source, type, time, status, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (tenant, kind, _int(source), record_type, stamp, status, dumps(document)))
        return self.get_record(tenant, kind, str(cursor.lastrowid))

    def _write_record(self, tenant: str, record_id: int, body: dict[str, Any], status: str | None) -> None:
        body = {k: v for k, v in body.items() if k not in _RESERVED | {"time", "status"}}
        with self.store.transaction():
            self.store.execute("UPDATE records SET body = ?, status = ? WHERE tenant = ? AND id = ?",
                               (dumps(body), status, tenant, record_id))

    def set_alarm(self, tenant: str, alarm_id: str, changes: dict[str, Any], status: str) -> dict[str, Any]:
        """Acknowledge, clear or re-word an alarm (REST `PUT /alarm/alarms/{id}`)."""
        alarm = self.get_record(tenant, "alarm", alarm_id)
        body = {k: v for k, v in alarm.items() if k not in ("id", "self", "source", "time", "type", "status")}
        body.update(changes)
        self._write_record(tenant, int(alarm["id"]), body, status)
        return self.get_record(tenant, "alarm", alarm_id)

    def get_record(self, tenant: str, kind: str, record_id: str) -> dict[str, Any]:
        """One measurement, event or alarm.

        Raises:
            PlatformError: 404.
        """
        number = valid_id(record_id)
        row = None if number is None else self.store.one("SELECT * FROM records WHERE tenant = ? AND kind = ? "
                                                          "AND id = ?", (tenant, kind, number))
        if row is None:
            raise not_found(RECORD_KINDS[kind], f"Could not find {kind} with id {record_id}.")
        return self._record(row)

    def _record(self, row: Any) -> dict[str, Any]:
        kind, source = row["kind"], str(row["source"])
        body = {"id": str(row["id"]), "self": f"{self.base_url}/{_path(kind)}/{row['id']}",
                "source": {"id": source, "self": f"{self.base_url}/inventory/managedObjects/{source}"},
                "time": row["time"], "type": row["type"], **loads(row["body"])}
        if row["status"] is not None:
            body["status"] = row["status"]
        return body

    def update_record(self, tenant: str, kind: str, record_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Merge top-level fields into a stored event (JSON via MQTT `event/events/update/<id>`; a null removes one).

        Raises:
            PlatformError: 404 for an unknown record, 422 for a change of its source, type or time.
        """
        record = self.get_record(tenant, kind, record_id)
        if any(key in changes for key in ("source", "type", "time", "id", "self")):
            raise invalid(RECORD_KINDS[kind], "source, type, time and id of a stored record cannot be changed.")
        body = {k: v for k, v in record.items() if k not in ("id", "self", "source", "time", "type", "status")}
        for key, value in changes.items():
            if value is None:
                body.pop(key, None)
            else:
                body[key] = value
        if kind == "event" and not isinstance(body.get("text"), str):
            raise invalid("events", "text must be a string.")
        self._write_record(tenant, int(record["id"]), body, record.get("status"))
        return self.get_record(tenant, kind, record_id)

    def delete_record(self, tenant: str, kind: str, record_id: str) -> None:
        """Remove one measurement, event or alarm.

        Raises:
            PlatformError: 404 for an unknown record.
        """
        record = self.get_record(tenant, kind, record_id)
        with self.store.transaction():
            self.store.execute("DELETE FROM records WHERE tenant = ? AND kind = ? AND id = ?",
                               (tenant, kind, int(record["id"])))

    def update_alarms(self, tenant: str, source: str, alarm_type: str, *, severity: str | None = None,
                      clear: bool = False, remove: tuple[str, ...] = ()) -> int:
        """Change the open alarms of one type on one device; returns how many changed."""
        rows = self.store.all("SELECT * FROM records WHERE tenant = ? AND kind = 'alarm' AND source = ? AND type = ? "
                              "AND status != 'CLEARED'", (tenant, _int(source), alarm_type))
        for row in rows:
            body = loads(row["body"])
            if severity is not None:
                body["severity"] = severity
            for name in remove:
                body.pop(name, None)
            self._write_record(tenant, row["id"], body, "CLEARED" if clear else row["status"])
        return len(rows)

    def list_records(self, tenant: str, kind: str, query: dict[str, str]) -> list[dict[str, Any]]:
        """Records filtered by `source`, `type`, `status`, `dateFrom`/`dateTo`; newest first with `revert=true`."""
        sql = "SELECT * FROM records WHERE tenant = ? AND kind = ?"
        params: list[Any] = [tenant, kind]
        for name, column in (("source", "source"), ("type", "type"), ("status", "status")):
            if name in query:
                sql += f" AND {column} = ?"
                params.append(_int(query[name]) if name == "source" else query[name])
        order = "DESC" if query.get("revert", "false").lower() == "true" else "ASC"
        found = [self._record(r) for r in self.store.all(f"{sql} ORDER BY time {order}, id {order}", tuple(params))]
        try:
            if "dateFrom" in query:
                start = parse_time(query["dateFrom"])
                found = [r for r in found if parse_time(r["time"]) >= start]
            if "dateTo" in query:
                end = parse_time(query["dateTo"])
                found = [r for r in found if parse_time(r["time"]) < end]
        except ValueError:
            raise invalid(RECORD_KINDS[kind], "dateFrom/dateTo must be ISO 8601 date-times.") from None
        return found

    # --- operations ----------------------------------------------------------------------------------------
    def create_operation(self, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
        """A PENDING operation for a device (delivered on `s/ds` by the MQTT side)."""
        device = body.get("deviceId") if isinstance(body, dict) else None
        if device is None:
            raise invalid("devicecontrol", "deviceId is required.")
        self.get_object(tenant, str(device))
        document = {k: v for k, v in body.items() if k not in _RESERVED | {"deviceId", "status"}}
        with self.store.transaction():
            cursor = self.store.execute(
                "INSERT INTO operations (tenant, device, status, body, created) VALUES (?, ?, 'PENDING', ?, ?)",
                (tenant, _int(device), dumps(document), self._clock()))
        return self.get_operation(tenant, str(cursor.lastrowid))

    def get_operation(self, tenant: str, op_id: str) -> dict[str, Any]:
        """One operation.

        Raises:
            PlatformError: 404.
        """
        number = valid_id(op_id)
        row = None if number is None else self.store.one("SELECT * FROM operations WHERE tenant = ? AND id = ?",
                                                          (tenant, number))
        if row is None:
            raise not_found("devicecontrol", f"Could not find operation with id {op_id}.")
        return self._operation(row)

    def _operation(self, row: Any) -> dict[str, Any]:
        return {"id": str(row["id"]), "self": f"{self.base_url}/devicecontrol/operations/{row['id']}",
                "deviceId": str(row["device"]), "status": row["status"], "creationTime": iso_ms(row["created"]),
                **loads(row["body"])}

    def list_operations(self, tenant: str, query: dict[str, str]) -> list[dict[str, Any]]:
        """Operations filtered by `deviceId`, `status` and `fragmentType`, oldest first."""
        sql = "SELECT * FROM operations WHERE tenant = ?"
        params: list[Any] = [tenant]
        if "deviceId" in query:
            sql, params = sql + " AND device = ?", [*params, _int(query["deviceId"])]
        if "status" in query:
            sql, params = sql + " AND status = ?", [*params, query["status"].upper()]
        found = [self._operation(r) for r in self.store.all(sql + " ORDER BY id", tuple(params))]
        if "fragmentType" in query:
            found = [o for o in found if query["fragmentType"] in o]
        return found

    def set_operation_status(self, tenant: str, op_id: str, status: str, extra: dict[str, Any] | None = None) -> dict:
        """Move an operation to a new status, merging result fragments (failureReason, c8y_Command.result)."""
        status = status.upper()
        if status not in OPERATION_STATUSES:
            raise invalid("devicecontrol", f"status must be one of {', '.join(OPERATION_STATUSES)}.")
        current = self.get_operation(tenant, op_id)
        body = {k: v for k, v in current.items() if k not in _RESERVED | {"deviceId", "status", "creationTime"}}
        for key, value in (extra or {}).items():
            if isinstance(value, dict) and isinstance(body.get(key), dict):
                body[key] = {**body[key], **value}
            else:
                body[key] = value
        with self.store.transaction():
            self.store.execute("UPDATE operations SET status = ?, body = ? WHERE tenant = ? AND id = ?",
                               (status, dumps(body), tenant, _int(op_id)))
        return self.get_operation(tenant, op_id)


def _path(kind: str) -> str:
    return {"measurement": "measurement/measurements", "event": "event/events", "alarm": "alarm/alarms"}[kind]


def valid_id(value: Any) -> int | None:
    """The row id a client's id stands for, or None when it cannot be one (SQLite ids are 0..MAX_ID).

    Accepts a non-negative whole number or a string of 1 to 19 ASCII digits; not `int()`'s wider syntax (signs,
    spaces, underscores, other scripts' digits), and nothing an SQLite INTEGER cannot hold.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _ID.fullmatch(value):
        number = int(value)
    else:
        return None
    return number if 0 <= number <= MAX_ID else None


def _int(value: Any, resource: str = "inventory", what: str = "object") -> int:
    """A client's id as the row id.

    Raises:
        PlatformError: 404 for anything that cannot be an id (it names no stored row).
    """
    number = valid_id(value)
    if number is None:
        shown = str(value) if len(str(value)) <= 40 else f"{str(value)[:20]}…"
        raise not_found(resource, f"No {what} with id '{shown}'.")
    return number
