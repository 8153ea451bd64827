"""Bulk device registration (docs/platform-reference.md §3): users, elementary managed objects and external ids from
the CSV, row by row.

A bad row is reported with its reason and line; good rows still go in. The work never freezes the event loop:
the CSV is parsed in a worker thread, BASIC passwords are stored sealed with the platform's data key (microseconds
a row; `sealed_passwords` hashes them with full-strength PBKDF2 in the background, so the answer does not wait for
a hash a row), and the database writes run on the loop in short transactions (at most `CHUNK_ROWS` rows and about
`CHUNK_SECONDS` each) with a `PAUSE_SECONDS` break for the loop between them.
SQLite's automatic WAL checkpoint (an fsync of the database file, tens of milliseconds) would run inside one of
those commits on the loop, so during an upload it is replaced by a PASSIVE checkpoint on a worker thread with its
own connection (it never blocks the loop's writer). Each row sits in its own savepoint, so a refused row never
undoes its neighbours. Rows of a committed chunk survive a crash; posting the same CSV again reports them as
`CREDENTIAL_UPDATED` (successful), so a re-post finishes an interrupted job.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator
from typing import Any

from embedded_broker.platform.bulk_csv import BulkCsvError, BulkRow, managed_object_fragments, parse_bulk_csv
from embedded_broker.platform.core import Platform, device_user
from embedded_broker.platform.device_requests import requests_of
from embedded_broker.platform.errors import PlatformError
from embedded_broker.store import Store

CHUNK_ROWS = 250  # rows per transaction at most: a crash loses at most this many rows (a re-post redoes them)
CHUNK_SECONDS = 0.005  # and a transaction stops taking rows after this long, so the loop is never held longer
PAUSE_SECONDS = 0.005  # then the loop runs freely for this long: a request needs several loop turns to be answered
CHECKPOINT_SECONDS = 1.0  # how often a long upload checkpoints the WAL in the background
_AUTO_CHECKPOINT = 1000  # SQLite's default `wal_autocheckpoint`, restored when the last upload ends
_SAVEPOINT = "bulk_row"
_uploads: dict[int, int] = {}  # id(store) -> uploads (and background hashing passes) checkpointing it
_registering: dict[int, int] = {}  # id(store) -> bulk registrations running on it


def uploads_running(store: Store) -> bool:
    """Whether a bulk registration is writing to this store now (the background hasher waits for it to end)."""
    return bool(_registering.get(id(store)))


def _failure(device_id: str, reason: str, line: str) -> dict[str, Any]:
    return {"bulkNewDeviceStatus": "FAILED", "deviceId": device_id, "failureReason": reason, "line": line}


class _Outcome:
    """The lists and counters of the platform reference §3.3 response, filled chunk by chunk."""

    def __init__(self, failed: list[dict[str, Any]]) -> None:
        self.failed = failed
        self.created = 0
        self.updated: list[dict[str, Any]] = []


async def register_bulk(platform: Platform, tenant: str, data: bytes) -> dict[str, Any]:
    """The `bulkNewDeviceRequest` response (platform reference §3.3) for one uploaded CSV, computed without
    blocking the loop.

    Raises:
        PlatformError: 422 when the file as a whole cannot be read (no ID column, empty, bad header).
    """
    try:
        parsed = await asyncio.to_thread(parse_bulk_csv, data)
    except BulkCsvError as exc:
        raise PlatformError(422, "devicecontrol/Unprocessable Entity", f"Invalid CSV file: {exc}") from None
    outcome = _Outcome([_failure(f.device_id, f.reason, f.line) for f in parsed.failures])
    key = id(platform.store)
    _registering[key] = _registering.get(key, 0) + 1
    try:
        async with background_checkpoints(platform.store) as checkpoint:
            await _write_rows(platform, tenant, parsed.rows, outcome, checkpoint)
    finally:
        _registering[key] -= 1
        if not _registering[key]:
            del _registering[key]
    failed, updated = outcome.failed, outcome.updated
    platform.events.emit("bulk_registration", f"bulk registration: {outcome.created} created, {len(updated)} "
                         f"updated, {len(failed)} failed", tenant=tenant)
    return {"numberOfAll": parsed.number_of_all, "numberOfCreated": outcome.created, "numberOfFailed": len(failed),
            "numberOfSuccessful": outcome.created + len(updated), "credentialUpdatedList": updated,
            "failedCreationList": failed}


async def _write_rows(platform: Platform, tenant: str, rows: tuple[BulkRow, ...], outcome: _Outcome,
                      checkpoint: Checkpoints) -> None:
    """Every row, chunk by chunk, with a pause for the loop between chunks."""
    start = 0
    while start < len(rows):
        start = _write_chunk(platform, tenant, rows, start, min(start + CHUNK_ROWS, len(rows)), outcome)
        checkpoint.maybe()
        await asyncio.sleep(PAUSE_SECONDS)  # let the broker and other requests run between transactions


class Checkpoints:
    """PASSIVE WAL checkpoints on a worker thread, at most one at a time and one per `CHECKPOINT_SECONDS`."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.running: asyncio.Future[None] | None = None
        self.last = time.monotonic()

    def maybe(self) -> None:
        """Start a checkpoint when it is time and none is running (never waits)."""
        if self.path is None or (self.running is not None and not self.running.done()):
            return
        if time.monotonic() - self.last >= CHECKPOINT_SECONDS:
            self.last = time.monotonic()
            self.running = asyncio.ensure_future(asyncio.to_thread(_checkpoint, self.path))

    async def finish(self) -> None:
        """Wait for a running checkpoint, then run a last one, so the WAL does not stay large."""
        if self.path is None:
            return
        if self.running is not None:
            await asyncio.gather(self.running, return_exceptions=True)
        await asyncio.to_thread(_checkpoint, self.path)


def _checkpoint(path: str) -> None:
    """A PASSIVE checkpoint through its own connection: it copies what it can and never blocks the writer."""
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=1.0)) as db:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error:
        pass  # the next checkpoint (or SQLite's automatic one, restored after the upload) catches up


@contextlib.asynccontextmanager
async def background_checkpoints(store: Store) -> AsyncIterator[Checkpoints]:
    """Automatic checkpoints off while an upload (or the background hasher) writes to a file database; background
    ones instead (call `maybe()` between transactions)."""
    path = str(store.path) if store.path is not None else None
    checkpoints = Checkpoints(path)
    if path is None:
        yield checkpoints
        return
    key = id(store)
    _uploads[key] = _uploads.get(key, 0) + 1
    store.execute("PRAGMA wal_autocheckpoint=0")
    try:
        yield checkpoints
        await checkpoints.finish()  # before SQLite's own checkpoint is back: it would do this work on the loop
    finally:
        _uploads[key] -= 1
        if not _uploads[key]:
            del _uploads[key]
            with contextlib.suppress(sqlite3.Error):  # the store may already be closed when the server stops
                store.execute(f"PRAGMA wal_autocheckpoint={_AUTO_CHECKPOINT}")


def _write_chunk(platform: Platform, tenant: str, rows: tuple[BulkRow, ...], start: int, end: int,
                 outcome: _Outcome) -> int:
    """Rows `start`.. in one transaction until `end` or `CHUNK_SECONDS`; returns the first row not written."""
    deadline = time.monotonic() + CHUNK_SECONDS
    written: list[tuple[BulkRow, str]] = []
    index = start
    with platform.store.transaction():
        while index < end and (index == start or time.monotonic() < deadline):
            row = rows[index]
            index += 1
            try:
                status = _register(platform, tenant, row)
            except PlatformError as exc:
                outcome.failed.append(_failure(row.device_id, exc.message, f"line {row.line_number}"))
                continue
            written.append((row, status))
    for row, status in written:  # only after the commit: the event log never reports a row that was rolled back
        if status == "CREATED":
            outcome.created += 1
        else:
            outcome.updated.append({"bulkNewDeviceStatus": status, "deviceId": row.device_id})
        platform.events.emit("registered", f"device {row.device_id} bulk-registered ({row.auth_type})",
                             tenant=tenant, device=row.device_id, user=device_user(row.device_id))
    return index


def _tenant_refusal(row: BulkRow, tenant: str) -> PlatformError | None:
    if row.tenant and row.tenant != tenant:
        return PlatformError(422, "devicecontrol/Unprocessable Entity",
                             f"TENANT {row.tenant} is only honoured for the management tenant")
    return None


def _register(platform: Platform, tenant: str, row: BulkRow) -> str:
    """One row in its own savepoint: CREATED, or CREDENTIAL_UPDATED when the device user already existed."""
    refusal = _tenant_refusal(row, tenant)
    if refusal is not None:
        raise refusal
    store = platform.store
    user = device_user(row.device_id)
    store.execute(f"SAVEPOINT {_SAVEPOINT}")
    try:
        existed = platform.accounts.user(tenant, user) is not None
        platform.accounts.add_user(tenant, user, "device", sealed_password=row.credentials or None,
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
        if row.enrollment_otp:  # EST (§3.4): the OTP becomes an ACCEPTED new device request, the temporary login
            requests_of(platform).add_enrollment(tenant, row.device_id, row.enrollment_otp)
    except BaseException:
        store.execute(f"ROLLBACK TO {_SAVEPOINT}")
        store.execute(f"RELEASE {_SAVEPOINT}")
        raise
    store.execute(f"RELEASE {_SAVEPOINT}")
    return "CREDENTIAL_UPDATED" if existed else "CREATED"
