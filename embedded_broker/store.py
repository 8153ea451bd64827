"""SQLite persistence of the local platform: every change in one transaction, an in-memory mode for tests.

The platform runs on one asyncio loop, so one connection serves it; statements are short (no query takes
more than a few milliseconds), which keeps the loop responsive without a thread pool.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from embedded_broker.errors import BrokerError
from embedded_broker.private_files import restrict, touch_private

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY, domain TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    tenant TEXT NOT NULL, name TEXT NOT NULL, password_hash TEXT, kind TEXT NOT NULL,
    auth_type TEXT NOT NULL DEFAULT 'BASIC', created REAL NOT NULL, PRIMARY KEY (tenant, name));
CREATE TABLE IF NOT EXISTS trusted_certs (
    tenant TEXT NOT NULL, fingerprint TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
    auto_registration INTEGER NOT NULL, der BLOB NOT NULL, pop_valid INTEGER NOT NULL DEFAULT 0,
    pop_code TEXT NOT NULL, pop_until REAL NOT NULL, created REAL NOT NULL, PRIMARY KEY (tenant, fingerprint));
CREATE TABLE IF NOT EXISTS managed_objects (
    id INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, owner TEXT, body TEXT NOT NULL,
    created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS external_ids (
    tenant TEXT NOT NULL, type TEXT NOT NULL, external_id TEXT NOT NULL, mo_id INTEGER NOT NULL,
    PRIMARY KEY (tenant, type, external_id));
CREATE INDEX IF NOT EXISTS external_ids_by_mo ON external_ids (tenant, mo_id);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, kind TEXT NOT NULL, source INTEGER NOT NULL,
    type TEXT NOT NULL, time TEXT NOT NULL, status TEXT, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_by_source ON records (tenant, kind, source, id);
CREATE TABLE IF NOT EXISTS operations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, device INTEGER NOT NULL, status TEXT NOT NULL,
    body TEXT NOT NULL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS operations_by_device ON operations (tenant, device, status, id);
CREATE TABLE IF NOT EXISTS options (
    tenant TEXT NOT NULL, category TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (tenant, category, key));
CREATE TABLE IF NOT EXISTS revoked_serials (
    tenant TEXT NOT NULL, serial_hex TEXT NOT NULL, revoked TEXT NOT NULL, PRIMARY KEY (tenant, serial_hex));
CREATE TABLE IF NOT EXISTS device_tokens (
    tenant TEXT NOT NULL, user TEXT NOT NULL, token TEXT NOT NULL, jti TEXT NOT NULL, iat INTEGER NOT NULL,
    exp INTEGER NOT NULL, PRIMARY KEY (tenant, user));
CREATE TABLE IF NOT EXISTS revoked_tokens (jti TEXT PRIMARY KEY, exp INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tenant_ca (tenant TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, created REAL NOT NULL);
"""


class Store:
    """One SQLite database (a file, or memory when `path` is None); use `with store.transaction():` to write."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        target = str(self.path) if self.path is not None else ":memory:"
        try:
            if self.path is not None:  # 0600 before SQLite opens it: its -wal, -shm and -journal copy the mode
                touch_private(self.path)
                for suffix in ("-wal", "-shm", "-journal"):  # left by a crash, maybe by an older, laxer version
                    restrict(self.path.with_name(self.path.name + suffix))
            self._db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        except OSError as exc:
            raise BrokerError(f"cannot create the local platform database {target}: {exc.strerror}") from exc
        except sqlite3.Error as exc:
            raise BrokerError(f"cannot open the local platform database {target}: {exc}") from exc
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._depth = 0
        if self.path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA secure_delete=ON")  # overwritten values (e.g. a key) leave no copy behind
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def _migrate(self) -> None:
        self._db.executescript("BEGIN;" + _SCHEMA + "COMMIT;")
        with self.transaction():
            found = self.get_meta("schema_version")
            if found is None:
                self.set_meta("schema_version", str(SCHEMA_VERSION))
            elif int(found) > SCHEMA_VERSION:
                raise BrokerError(f"the local platform data was written by a newer version (schema {found}); "
                                  "update the workbench or choose another data folder")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        """All statements inside commit together or not at all (nested uses join the outer transaction)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    def execute(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> sqlite3.Cursor:
        """Run one statement (writes belong inside `transaction()`)."""
        with self._lock:
            return self._db.execute(sql, params)

    def all(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        """Every row of a query."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def one(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> sqlite3.Row | None:
        """The first row of a query, or None."""
        with self._lock:
            return self._db.execute(sql, params).fetchone()

    def get_meta(self, key: str) -> str | None:
        """A platform-wide setting (signing key, server CA, schema version)."""
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else row["value"]

    def set_meta(self, key: str, value: str) -> None:
        """Write a platform-wide setting."""
        self.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def scrub(self) -> None:
        """Rewrite the database file and empty the WAL, so no deleted or overwritten value lingers in either."""
        if self.path is None:
            return
        with self._lock:
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        """Close the database (the WAL is checkpointed by SQLite)."""
        with self._lock:
            self._db.close()


def dumps(body: dict[str, Any]) -> str:
    """JSON for the document columns, compact and stable."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


def loads(text: str) -> dict[str, Any]:
    """The inverse of `dumps`."""
    return json.loads(text)
