"""The CA store's SQLite schema and connection: one file per workspace, WAL, transactions for every change."""

from __future__ import annotations

import errno
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from workbench.errors import CAStoreError

SCHEMA_VERSION = 2
DB_NAME = "castore.sqlite"
# Below this much free space an SQLite "disk I/O error" is taken for a full disk (SQLite reports a full disk as
# SQLITE_FULL only for the database file itself; the WAL and shared-memory files fail as I/O errors).
LOW_SPACE_BYTES = 1 << 20

# Output jobs (crash-safe publishing of issued files), and certificates found by their job; new in version 2.
_OUTPUT_JOBS = """
CREATE TABLE IF NOT EXISTS output_jobs (
    id TEXT PRIMARY KEY,
    ca_id INTEGER NOT NULL REFERENCES cas(id),
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    staging TEXT NOT NULL,
    state TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    finished TEXT
);
CREATE INDEX IF NOT EXISTS certificates_job ON certificates(job_id);
"""
# key_pem is PKCS#8, AES-256 encrypted with the CA's password; next_serial starts at 0x1000 like the guide's
# `echo 1000 > serial`. Comments stay out of the SQL because the script is split on ';'.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cas (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    parent_id INTEGER REFERENCES cas(id),
    cert_der BLOB NOT NULL,
    key_pem BLOB NOT NULL,
    key_encrypted INTEGER NOT NULL,
    next_serial INTEGER NOT NULL DEFAULT 4096,
    next_crl_number INTEGER NOT NULL DEFAULT 1,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS certificates (
    id INTEGER PRIMARY KEY,
    ca_id INTEGER NOT NULL REFERENCES cas(id),
    serial_hex TEXT NOT NULL,
    kind TEXT NOT NULL,
    cn TEXT,
    subject TEXT NOT NULL,
    cert_der BLOB NOT NULL,
    sha1 TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    not_after TEXT NOT NULL,
    revoked_at TEXT,
    revocation_reason TEXT,
    job_id TEXT,
    UNIQUE (ca_id, serial_hex)
);
CREATE INDEX IF NOT EXISTS certificates_cn ON certificates(cn);
""" + _OUTPUT_JOBS
# Version 1 -> 2: certificates tagged with their job, and the output jobs table.
_MIGRATE_1_TO_2 = "ALTER TABLE certificates ADD COLUMN job_id TEXT;" + _OUTPUT_JOBS


def open_database(workspace: Path) -> sqlite3.Connection:
    """Open (creating if needed) the workspace's database, checking its schema version.

    Raises:
        CAStoreError: the folder cannot be created, the file is not a CA store, or it is from a newer version.
    """
    path = workspace / DB_NAME
    try:
        workspace.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=15, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        with transaction(db):
            if _is_new(db):
                _run_script(db, _SCHEMA)
            row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) > SCHEMA_VERSION:
                raise CAStoreError(f"The CA store '{path}' was written by a newer Workbench",
                                   ("Update the Workbench, or choose another workspace.",))
            elif int(row[0]) == 1:
                _run_script(db, _MIGRATE_1_TO_2)
                db.execute("UPDATE meta SET value = ? WHERE key='schema_version'", (str(SCHEMA_VERSION),))
    except CAStoreError:
        raise
    except sqlite3.DatabaseError as exc:
        full = disk_full_error(exc, workspace)
        if full is not None:
            raise full from exc
        raise CAStoreError(f"Cannot open the CA store '{path}'",
                           (str(exc), "The file may be damaged or not a CA store; choose another workspace.",
                            "Another program may hold a lock on it.")) from exc
    except OSError as exc:
        full = disk_full_error(exc, workspace)
        if full is not None:
            raise full from exc
        raise CAStoreError(f"Cannot create the workspace '{workspace}'", (exc.strerror or str(exc),)) from exc
    return db


def _run_script(db: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):  # not executescript: it would COMMIT mid-transaction
        if statement.strip():
            db.execute(statement)


def _free_bytes(folder: Path) -> int | None:
    for candidate in (folder, *folder.parents):
        try:
            return shutil.disk_usage(candidate).free
        except OSError:
            continue
    return None


def disk_full_error(exc: BaseException, folder: Path | None) -> CAStoreError | None:
    """A clear "the disk is full" error when ``exc`` means that, else None (then the caller reports it as it was).

    SQLite says "database or disk is full" (SQLITE_FULL) when the database file cannot grow, but a full disk while
    it creates or grows its WAL or shared-memory file comes back as a plain "disk I/O error"; that one counts as a
    full disk when the folder has (almost) no free space left.
    """
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    full = (name == "SQLITE_FULL" or "disk is full" in text
            or (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))))
    if not full and (name.startswith("SQLITE_IOERR") or "disk i/o error" in text) and folder is not None:
        free = _free_bytes(folder)
        full = free is not None and free < LOW_SPACE_BYTES
    if not full:
        return None
    where = f" '{folder}'" if folder is not None else ""
    free = _free_bytes(folder) if folder is not None else None
    left = f"{free // 1024} KiB" if free is not None else "almost nothing"
    return CAStoreError(f"The disk holding the CA store{where} is full",
                        (f"Only {left} is free there; the CA store needs room to record changes.",
                         "Free some space (or move the workspace to another disk) and try again.",
                         "Nothing was changed: the store is rolled back to its last complete state."))


def database_folder(db: sqlite3.Connection) -> Path | None:
    """The folder of the connection's main database file, for error messages (None for an in-memory database)."""
    try:
        row = db.execute("PRAGMA database_list").fetchone()
    except sqlite3.Error:
        return None
    return Path(row[2]).parent if row is not None and row[2] else None


def _is_new(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name='meta'").fetchone() is None


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error (a failed COMMIT too): a crash never leaves half a change.

    Raises:
        CAStoreError: the disk under the store is full (instead of SQLite's "disk I/O error").
    """
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                with suppress(sqlite3.Error):  # a failed ROLLBACK must not hide why the change failed
                    db.execute("ROLLBACK")
            raise
    except (sqlite3.OperationalError, OSError) as exc:
        full = disk_full_error(exc, database_folder(db))
        if full is not None:
            raise full from exc
        raise
