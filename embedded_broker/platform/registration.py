"""Bulk device registration (§3): users, elementary managed objects and external ids from the CSV, row by row.

A bad row is reported with its reason and line; good rows still go in, each in its own transaction.
"""

from __future__ import annotations

from typing import Any

from embedded_broker.platform.bulk_csv import BulkCsvError, BulkRow, managed_object_fragments, parse_bulk_csv
from embedded_broker.platform.core import Platform, device_user
from embedded_broker.platform.errors import PlatformError


def _failure(device_id: str, reason: str, line: str) -> dict[str, Any]:
    return {"bulkNewDeviceStatus": "FAILED", "deviceId": device_id, "failureReason": reason, "line": line}


def register_bulk(platform: Platform, tenant: str, data: bytes) -> dict[str, Any]:
    """The `bulkNewDeviceRequest` response of §3.3 for one uploaded CSV.

    Raises:
        PlatformError: 422 when the file as a whole cannot be read (no ID column, empty, bad header).
    """
    try:
        parsed = parse_bulk_csv(data)
    except BulkCsvError as exc:
        raise PlatformError(422, "devicecontrol/Unprocessable Entity", f"Invalid CSV file: {exc}") from None
    failed = [_failure(f.device_id, f.reason, f.line) for f in parsed.failures]
    created: list[dict[str, Any]] = []
    updated: list[dict[str, Any]] = []
    for row in parsed.rows:
        try:
            status = _register(platform, tenant, row)
        except PlatformError as exc:
            failed.append(_failure(row.device_id, exc.message, f"line {row.line_number}"))
            continue
        entry = {"bulkNewDeviceStatus": status, "deviceId": row.device_id}
        (created if status == "CREATED" else updated).append(entry)
    platform.events.emit("bulk_registration", f"bulk registration: {len(created)} created, {len(updated)} updated, "
                         f"{len(failed)} failed", tenant=tenant)
    return {"numberOfAll": parsed.number_of_all, "numberOfCreated": len(created), "numberOfFailed": len(failed),
            "numberOfSuccessful": len(created) + len(updated), "credentialUpdatedList": updated,
            "failedCreationList": failed}


def _register(platform: Platform, tenant: str, row: BulkRow) -> str:
    """One row in one transaction: CREATED, or CREDENTIAL_UPDATED when the device user already existed."""
    if row.tenant and row.tenant != tenant:
        raise PlatformError(422, "devicecontrol/Unprocessable Entity",
                            f"TENANT {row.tenant} is only honoured for the management tenant")
    user = device_user(row.device_id)
    with platform.store.transaction():
        existed = platform.accounts.user(tenant, user) is not None
        platform.accounts.add_user(tenant, user, "device", password=row.credentials,
                                   auth_type=row.auth_type)
        mo = platform.inventory.lookup(tenant, row.id_type, row.device_id)
        if mo is None:
            body = managed_object_fragments(row)
            mo = platform.inventory.create_object(tenant, body, owner=user)["id"]
            platform.inventory.bind(tenant, mo, row.id_type, row.device_id)
            if row.id_type != "c8y_Serial" and platform.device_object(tenant, row.device_id) is None:
                platform.inventory.bind(tenant, mo, "c8y_Serial", row.device_id)
        for id_type, value in row.external_ids:
            platform.inventory.bind(tenant, mo, id_type, value)
    platform.events.emit("registered", f"device {row.device_id} bulk-registered ({row.auth_type})", tenant=tenant,
                         device=row.device_id, user=user)
    return "CREDENTIAL_UPDATED" if existed else "CREATED"
