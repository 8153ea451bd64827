"""The CA store's SQLite schema and connection: one file per workspace, WAL, transactions for every change."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from workbench.errors import CAStoreError

SCHEMA_VERSION = 1
DB_NAME = "castore.sqlite"

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
    UNIQUE (ca_id, serial_hex)
);
CREATE INDEX IF NOT EXISTS certificates_cn ON certificates(cn);
"""


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
                for statement in _SCHEMA.split(";"):  # not executescript: it would COMMIT mid-transaction
                    if statement.strip():
                        db.execute(statement)
            row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) > SCHEMA_VERSION:
                raise CAStoreError(f"The CA store '{path}' was written by a newer Workbench",
                                   ("Update the Workbench, or choose another workspace.",))
    except sqlite3.DatabaseError as exc:
        raise CAStoreError(f"Cannot open the CA store '{path}'",
                           (str(exc), "The file may be damaged or not a CA store; choose another workspace.",
                            "Another program may hold a lock on it.")) from exc
    except OSError as exc:
        raise CAStoreError(f"Cannot create the workspace '{workspace}'", (exc.strerror or str(exc),)) from exc
    return db


def _is_new(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name='meta'").fetchone() is None


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error: a crash never leaves half a change."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
