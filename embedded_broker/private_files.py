"""Owner-only files of the local platform's data folder: a 0700 folder, 0600 files from their first byte.

The umask cannot be trusted when the platform runs inside another process (tests, an embedding application), so
every file is created with an explicit mode and the folder is tightened when it is too open. On Windows the modes
are mostly ignored by the OS (the user profile's ACLs protect the folder there); the calls stay harmless.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from embedded_broker.errors import BrokerError

FOLDER_MODE = 0o700
FILE_MODE = 0o600
PUBLIC_MODE = 0o644  # only for files meant to be handed out, e.g. the server CA certificate
_BINARY = getattr(os, "O_BINARY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def private_folder(folder: Path, public: tuple[str, ...] = ()) -> list[str]:
    """Create `folder` 0700 (its parents keep the default mode), or tighten an existing one and its files.

    Files named in `public` are left readable. Returns warnings for what could not be tightened (e.g. a folder
    owned by someone else), so the caller can show them; raises BrokerError when `folder` is not a folder.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=FOLDER_MODE)
    if not folder.is_dir():
        raise BrokerError(f"the local platform's data folder {folder} is not a folder")
    if os.name != "posix":
        return []
    warnings: list[str] = []
    try:
        if stat.S_IMODE(folder.stat().st_mode) != FOLDER_MODE:
            os.chmod(folder, FOLDER_MODE)
        for entry in os.scandir(folder):
            if entry.name in public or not entry.is_file(follow_symlinks=False):
                continue
            if stat.S_IMODE(entry.stat(follow_symlinks=False).st_mode) & 0o077:
                os.chmod(entry.path, FILE_MODE)
    except OSError as exc:
        warnings.append(f"cannot make the data folder {folder} private (mode 0700, files 0600): {exc.strerror}")
    return warnings


def restrict(path: Path) -> None:
    """Make an existing file 0600 (no-op when it does not exist)."""
    with contextlib.suppress(FileNotFoundError):
        if os.name == "posix" and stat.S_IMODE(os.stat(path).st_mode) != FILE_MODE:
            os.chmod(path, FILE_MODE)


def touch_private(path: Path) -> None:
    """Create `path` empty with mode 0600 unless it exists, and make it 0600 if it does (before SQLite opens it)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, FILE_MODE)
    except FileExistsError:
        restrict(path)
        return
    os.close(fd)
    restrict(path)  # the mode given to open() passed through the umask; a umask can only remove bits


def _write_new(path: Path, data: bytes, mode: int, durable: bool = False) -> None:
    """Write a file that must not exist yet, with `mode` from its first byte (`durable`: flushed to disk)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, mode)
    try:
        if os.name == "posix":
            os.fchmod(fd, mode)  # exact mode whatever the umask (e.g. 0644 for a public file under umask 077)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Replace `path` atomically with `data`; the file has `mode` from its first byte (0600 unless told).

    Not fsynced (start-up speed): meant for files the platform rewrites on every start, like running.json.
    """
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    try:
        _write_new(temp, data, mode)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def create_exclusive(path: Path, data: bytes) -> bool:
    """Create `path` (0600) with `data` unless it exists; True if this call created it.

    Readers never see a partial file: the data is written to a temporary file that is then hard-linked into place,
    which fails when another process won the race (then its file is used).
    """
    temp = path.with_name(f".{path.name}.{os.getpid()}.new")
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    _write_new(temp, data, FILE_MODE, durable=True)
    try:
        os.link(temp, path)
    except FileExistsError:
        return False
    except OSError:  # no hard links on this file system: O_EXCL on the final name instead
        try:
            _write_new(path, data, FILE_MODE, durable=True)
        except FileExistsError:
            return False
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()
    _sync_folder(path.parent)  # the new name survives a crash too (the data it protects is written after it)
    return True


def _sync_folder(folder: Path) -> None:
    """fsync a folder's entries (POSIX; elsewhere the file system journals them)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
