"""The app's log: a rotated file per front end (GUI, CLI) in the platform's log folder, stderr by verbosity, and
no secret in either, so a user can attach the log to a bug report without leaking a password."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO, Any

import platformdirs

from workbench.paths import APP_AUTHOR, APP_NAME

LOG_DIR_ENV = "WORKBENCH_LOG_DIR"  # tests and development point the log folder elsewhere
LEVEL_ENV = "WORKBENCH_LOG_LEVEL"  # the GUI has no options: `debug` or `verbose` (`info`) here
MAX_BYTES = 1 << 20  # 1 MiB per file, the current one plus BACKUP_COUNT older ones
BACKUP_COUNT = 3
FILE_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
FILE_ONLY = {"file_only": True}  # `extra=` for a record that stderr already shows another way (a traceback)

# A JSON Web Token starts with the base64url of `{"`; device tokens are bearer credentials, never logged.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_MIN_SECRET = 4  # shorter values would blank out ordinary words
_secrets: tuple[str, ...] = ()  # longest first, so a secret that contains another is replaced whole
_secrets_lock = threading.Lock()  # for writers; a reader takes the tuple as it is


def log_dir() -> Path:
    """The platform's per-user log folder (platformdirs), or WORKBENCH_LOG_DIR."""
    value = os.environ.get(LOG_DIR_ENV)
    return Path(value) if value else Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR))


def log_file(front_end: str) -> Path:
    """The current log file of `cli` or `gui` (older ones have .1, .2, .3 appended)."""
    return log_dir() / f"{front_end}.log"


def keep_out_of_logs(secret: str | bytes) -> None:
    """Remember a password or token of this process, so any log line that would contain it shows *** instead."""
    text = secret.decode("utf-8", "replace") if isinstance(secret, bytes) else secret
    global _secrets
    if len(text) >= _MIN_SECRET:
        with _secrets_lock:
            if text not in _secrets:
                _secrets = tuple(sorted((*_secrets, text), key=len, reverse=True))


def scrub(text: str) -> str:
    """The text with every remembered secret and every JSON Web Token replaced."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return _JWT.sub("<token>", text)


class SecretFilter(logging.Filter):
    """Rewrites a record's message and traceback text before any handler formats it (a second line of defence:
    the code logs no secret on purpose)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub the record in place (once, however many handlers share this filter); never drops it."""
        if getattr(record, "_scrubbed", False):
            return True
        record._scrubbed = True
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


class _NotFileOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "file_only", False)


class _StderrHandler(logging.StreamHandler[IO[str]]):
    """Writes to whatever sys.stderr is at the time (pytest's capture swaps it between tests)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class _StderrFormatter(logging.Formatter):
    """`warning: ...` like the CLI's own `error: ...` and `note: ...` lines; with the logger's name when verbose."""

    def __init__(self, named: bool) -> None:
        super().__init__("%(levelname_lower)s: %(name)s: %(message)s" if named else "%(levelname_lower)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """Add the lower-case level name the format uses."""
        record.levelname_lower = record.levelname.lower()
        return super().format(record)


class _PrivateRotatingFileHandler(RotatingFileHandler):
    """A RotatingFileHandler whose files are 0600 from their first byte (device ids and paths are nobody else's)."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


@dataclass
class LogSetup:
    """What `start` installed, so `stop` can take exactly that away again."""

    path: Path | None
    level: int
    handlers: list[logging.Handler] = field(default_factory=list)
    previous_root_level: int = logging.WARNING


def start(front_end: str, *, verbose: bool = False, debug: bool = False) -> LogSetup:
    """Log to `log_file(front_end)` (INFO, or DEBUG with debug) and to stderr (WARNING, INFO with verbose, DEBUG
    with debug). A log folder that cannot be made costs a warning, never the command."""
    stderr_level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    file_level = logging.DEBUG if debug else logging.INFO
    root = logging.getLogger()
    setup = LogSetup(None, min(stderr_level, file_level), previous_root_level=root.level)
    secret_filter = SecretFilter()
    stderr = _StderrHandler()
    stderr.setLevel(stderr_level)
    stderr.setFormatter(_StderrFormatter(named=verbose or debug))
    stderr.addFilter(secret_filter)
    stderr.addFilter(_NotFileOnly())
    setup.handlers.append(stderr)
    path = log_file(front_end)
    problem = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        to_file = _PrivateRotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8")
    except OSError as exc:
        problem = exc
    else:
        to_file.setLevel(file_level)
        to_file.setFormatter(logging.Formatter(FILE_FORMAT))
        to_file.addFilter(secret_filter)
        setup.handlers.append(to_file)
        setup.path = path
    for handler in setup.handlers:
        root.addHandler(handler)
    root.setLevel(setup.level)
    if problem is not None:
        logging.getLogger("workbench").warning("no log file in %s (%s)", path.parent,
                                               problem.strerror or type(problem).__name__)
    return setup


def stop(setup: LogSetup) -> None:
    """Remove and close what `start` installed (in-process callers such as tests run many commands)."""
    root = logging.getLogger()
    for handler in setup.handlers:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(setup.previous_root_level)


@contextlib.contextmanager
def logging_to(front_end: str, *, verbose: bool = False, debug: bool = False) -> Iterator[LogSetup]:
    """`start` for the length of a block: one CLI command."""
    setup = start(front_end, verbose=verbose, debug=debug)
    try:
        yield setup
    finally:
        stop(setup)


def level_from_env() -> tuple[bool, bool]:
    """(verbose, debug) from WORKBENCH_LOG_LEVEL, for the GUI, which takes no options."""
    value = os.environ.get(LEVEL_ENV, "").strip().lower()
    return value in ("verbose", "info"), value == "debug"
