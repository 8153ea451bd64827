"""Atomic file writes and private temporary files: nothing the user owns is ever left half-written."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from workbench.errors import InvalidInputError, WorkbenchError

PRIVATE_MODE = 0o600


def read_input_file(path: str | Path, what: str) -> bytes:
    """An input file's bytes, or a message naming the file and what it should have been (never an OSError).

    Raises:
        InvalidInputError: the file is missing or unreadable.
    """
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"Cannot read the {what} '{path}'", (exc.strerror or str(exc), "Check the path.")) \
            from exc


def write_atomic(path: str | Path, data: bytes, *, mode: int = 0o644, keep_backup: bool = False) -> Path:
    """Replace a file in one step (temp file in the same folder, fsync, rename), optionally keeping `.bak` once.

    Raises:
        WorkbenchError: the folder is missing or not writable, or the disk is full; the old file is untouched.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise WorkbenchError(
            f"Cannot write '{target}'", (exc.strerror or str(exc), "Check the folder exists and is writable.")
        ) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if keep_backup and target.exists():
            backup = target.with_name(target.name + ".bak")
            if not backup.exists():
                shutil.copy2(target, backup)
        os.replace(tmp, target)
        fsync_dir(folder)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WorkbenchError(
            f"Cannot write '{target}'",
            (exc.strerror or str(exc), "Check free disk space and permissions; the previous file is unchanged."),
        ) from exc
    return target


def fsync_dir(folder: Path) -> None:
    """Make the rename itself durable where the OS allows it (POSIX)."""
    with contextlib.suppress(OSError, AttributeError):
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def private_temp_file(data: bytes, suffix: str = ".pem") -> Iterator[Path]:
    """Hand key material to an API that needs a path: mode 0600, deleted on exit whatever happens."""
    fd, name = tempfile.mkstemp(suffix=suffix)
    path = Path(name)
    try:
        os.fchmod(fd, PRIVATE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        yield path
    finally:
        path.unlink(missing_ok=True)
