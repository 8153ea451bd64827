"""Crash-safe output folders for issued keys and certificates, and the next run's repair of an interrupted one.

The protocol (fleets and `ca issue` alike):

1. An owner lock file ``.<name>.partial-<token>.lock`` is created and locked beside the target, then the staging
   folder ``.<name>.partial-<token>`` (mode 0700). The OS drops the lock when the process dies, however it dies,
   which is how a later run tells a leftover from a run still going on.
2. With a CA store, the job is noted (state *started*, with the staging and target paths).
3. Every file is written into the staging folder and synced.
4. The certificates are recorded in the store in ONE transaction, tagged with the job (state *recorded*).
5. The staging folder is renamed to the target (one rename; ``ca issue`` into an existing folder moves its files).
6. The job is marked *published* and the lock file deleted.

A failure (not a crash) between 4 and 5 rolls the records back. After a crash, ``recover_jobs`` finds a job whose
lock is no longer held and finishes it: *started* -> the partial folder is deleted (nothing was recorded);
*recorded* -> the complete staging folder is renamed into place (to ``<target>-recovered-<job>`` if the target was
taken meanwhile), or, when the folder is already in place, the job is just marked published; when the staged files
are gone, the job's certificates are revoked (cessationOfOperation) so the store never lists certificates whose keys
nobody has. ``find_leftovers``/``clean_leftovers`` do the same for a folder's stray partial folders, including ones
from runs without a store and from older versions (those have no lock file and count as stale after 10 minutes).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from workbench.core.files import fsync_dir
from workbench.core.pki.issuance import issue_certificate
from workbench.core.pki.keys import PublicKey
from workbench.core.pki.profiles import CertificateProfile, ProfileKind
from workbench.core.pki.store import JOB_RECORDED, JOB_STARTED, CAStore, IssuedRecord, OutputJob
from workbench.errors import InvalidInputError, WorkbenchError
from workbench.services.device_bundle import DEVICE, KEYSTORE_PASSWORD_FILE, SERVER

PARTIAL_MARK = ".partial-"
LOCK_SUFFIX = ".lock"
LEGACY_GRACE_SECONDS = 600.0  # a partial folder without a lock file (older versions) is stale after this long
MANIFEST_NAME = "manifest.json"
KEY_FILE_NAMES = (*(name for n in (DEVICE, SERVER) for name in (n.key, n.keystore("pkcs12"), n.keystore("jks"))),
                  KEYSTORE_PASSWORD_FILE)
JOB_FLEET, JOB_ISSUE = "fleet", "issue"


# --- the owner lock ----------------------------------------------------------------------------------------------
def _try_lock(handle: IO[bytes]) -> bool:
    """Take the exclusive lock without waiting; False when another open file (any process) holds it."""
    try:
        if sys.platform == "win32":  # pragma: no cover - Windows
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(handle: IO[bytes]) -> None:
    with contextlib.suppress(OSError):
        if sys.platform == "win32":  # pragma: no cover - Windows
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class OwnerLock:
    """A locked file that says which run owns a staging folder; the OS releases it when that process dies."""

    def __init__(self, path: Path, handle: IO[bytes], info: dict[str, object]) -> None:
        self.path, self._handle, self.info = path, handle, info

    @classmethod
    def acquire(cls, path: Path, info: dict[str, object]) -> OwnerLock:
        """Create ``path`` (it must be new), lock it and write ``info`` into it."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        handle = os.fdopen(fd, "r+b", buffering=0)  # unbuffered: nothing left to flush (and fail) on close
        if not _try_lock(handle):  # pragma: no cover - a new file nobody else has opened
            handle.close()
            raise OSError(f"cannot lock {path}")
        lock = cls(path, handle, dict(info))
        lock.update()
        return lock

    def update(self, **info: object) -> None:
        """Rewrite the owner information (e.g. once the job id is known)."""
        self.info.update(info)
        data = json.dumps(self.info).encode()
        with contextlib.suppress(OSError):  # the information is a courtesy; the lock itself is what counts
            self._handle.seek(0)
            self._handle.truncate()
            self._handle.write(data)

    def release(self) -> None:
        """Delete the lock file and let go of the lock."""
        with contextlib.suppress(OSError):
            self.path.unlink()
        _unlock(self._handle)
        with contextlib.suppress(OSError):
            self._handle.close()

    @staticmethod
    def held(path: Path) -> bool:
        """Whether a live process holds the lock at ``path`` (False when the file is missing)."""
        try:
            handle = open(path, "r+b")  # noqa: SIM115 - closed below on every path
        except OSError:
            return False
        try:
            if _try_lock(handle):
                _unlock(handle)
                return False
            return True
        finally:
            handle.close()

    @staticmethod
    def read(path: Path) -> dict[str, object]:
        """The owner information of a lock file, or {} when it is missing or unreadable."""
        try:
            data = json.loads(path.read_bytes() or b"{}")
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


def lock_path(staging: Path) -> Path:
    """The owner lock file that belongs to a staging folder."""
    return staging.with_name(staging.name + LOCK_SUFFIX)


# --- staging and publishing --------------------------------------------------------------------------------------
def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def publish_folder(staging: Path, target: Path, *, merge: bool = False) -> Path:
    """Put a complete staging folder in place: one rename onto a missing or empty target; with ``merge``, each
    entry moved into an existing folder (replacing files of the same name).

    Raises:
        OSError: the rename failed, or the target is taken and ``merge`` is off.
    """
    if target.exists() and not _is_empty_dir(target) and not merge:
        raise FileExistsError(f"'{target}' already exists and is not empty")
    if not target.exists() or _is_empty_dir(target):
        if target.exists():
            target.rmdir()
        os.rename(staging, target)
    else:
        for entry in sorted(staging.iterdir()):
            os.replace(entry, target / entry.name)
        fsync_dir(target)
        staging.rmdir()
    fsync_dir(target.parent)
    return target


class StagedOutput:
    """A hidden staging folder beside ``target``, owned through a lock file, renamed into place when complete.

    Use as a context manager: leaving it without ``publish()`` deletes the staging folder; the lock is always
    released.
    """

    def __init__(self, target: Path, staging: Path, lock: OwnerLock, merge: bool) -> None:
        self.target, self.staging, self.lock, self.merge = target, staging, lock, merge
        self.published = False

    @classmethod
    def create(cls, target: Path, *, merge: bool = False, workspace: Path | None = None) -> StagedOutput:
        """Stage output for ``target``: a new or empty folder, or with ``merge`` any folder (files get replaced).

        Raises:
            InvalidInputError: the target exists and is not an empty folder (without ``merge``), or is a file.
            WorkbenchError: the parent folder cannot be written.
        """
        target = Path(target)
        if target.exists() and not target.is_dir():
            raise InvalidInputError(f"'{target}' exists and is not a folder", ("Choose a folder for the output.",))
        if not merge and target.exists() and any(target.iterdir()):
            raise InvalidInputError(f"The output folder '{target}' already exists and is not empty",
                                    ("Choose a new folder; a fleet is written as a whole, never mixed into old "
                                     "files.",))
        info = {"pid": os.getpid(), "host": socket.gethostname(), "target": str(target),
                "workspace": str(workspace) if workspace is not None else None, "job": None,
                "started": time.time()}
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            for _ in range(100):
                staging = target.parent / f".{target.name}{PARTIAL_MARK}{secrets.token_hex(4)}"
                try:
                    lock = OwnerLock.acquire(lock_path(staging), info)
                except FileExistsError:
                    continue
                break
            else:  # pragma: no cover - 100 random collisions
                raise FileExistsError("no free staging name")
            try:
                staging.mkdir(mode=0o700)
            except OSError:
                lock.release()
                raise
        except OSError as exc:
            raise WorkbenchError(f"Cannot create the output folder '{target}'",
                                 (exc.strerror or str(exc), "Check the parent folder exists, is writable and has "
                                  "free space.")) from exc
        return cls(target, staging, lock, merge)

    def note_job(self, job_id: str) -> None:
        """Write the job id into the lock file, so a later clean-up can find the job in its store."""
        self.lock.update(job=job_id)

    def publish(self) -> Path:
        """Rename the complete staging folder to the target.

        Raises:
            WorkbenchError: the rename failed (the staging folder is still there for ``discard``).
        """
        try:
            publish_folder(self.staging, self.target, merge=self.merge)
        except OSError as exc:
            raise WorkbenchError(f"Cannot move the finished output to '{self.target}'",
                                 (exc.strerror or str(exc), "Something else may have written to that folder "
                                  "meanwhile; nothing was recorded.")) from exc
        self.published = True
        return self.target

    def discard(self) -> None:
        """Delete the staging folder and everything in it."""
        shutil.rmtree(self.staging, ignore_errors=True)

    def __enter__(self) -> StagedOutput:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.published:
            self.discard()
        self.lock.release()


# --- journals: the CA store's side of the protocol ---------------------------------------------------------------
class OutputJournal(Protocol):
    """Where a job's certificates are recorded before its files are published (the CA store, or nothing)."""

    workspace: Path | None

    def begin(self, target: Path, staging: Path) -> str:
        """Note a new job; returns its id."""

    def record(self, job_id: str, certificates: Sequence[x509.Certificate]) -> None:
        """Record every certificate of the job in one transaction (before the files are published)."""

    def finish(self, job_id: str) -> None:
        """The files are in place."""

    def fail(self, job_id: str) -> None:
        """Nothing was published: roll back whatever the job recorded."""


class StoreJournal:
    """Jobs of one CA in a CA store."""

    def __init__(self, store: CAStore, ca_name: str, job_kind: str = JOB_FLEET,
                 profile_kind: ProfileKind = ProfileKind.DEVICE) -> None:
        self.store, self.ca_name, self.job_kind, self.profile_kind = store, ca_name, job_kind, profile_kind
        self.workspace: Path | None = store.workspace

    def begin(self, target: Path, staging: Path) -> str:
        """Note the job as started in the store."""
        return self.store.begin_job(self.ca_name, self.job_kind, Path(target).absolute(), Path(staging).absolute())

    def record(self, job_id: str, certificates: Sequence[x509.Certificate]) -> None:
        """All certificates in one transaction."""
        self.store.record_job(job_id, certificates, self.profile_kind)

    def finish(self, job_id: str) -> None:
        """Mark the job published."""
        self.store.finish_job(job_id)

    def fail(self, job_id: str) -> None:
        """Delete the job's records."""
        self.store.fail_job(job_id)


def new_job_id() -> str:
    """An id for a job without a store (it still goes into the manifest)."""
    return secrets.token_hex(8)


# --- repair after a crash ----------------------------------------------------------------------------------------
def _key_files(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    return sum(1 for p in folder.rglob("*") if p.name in KEY_FILE_NAMES)


def _already_published(store: CAStore, job: OutputJob) -> bool:
    """Whether the job's output is in its target (a crash after the rename, before the job was marked)."""
    target = job.target
    if job.kind == JOB_FLEET:
        try:
            manifest = json.loads((target / MANIFEST_NAME).read_bytes())
        except (OSError, ValueError):
            return False
        return isinstance(manifest, dict) and manifest.get("job") == job.id
    records = store.job_certificates(job.id)
    if not records:
        return False
    try:
        naming = SERVER if records[0].kind == ProfileKind.SERVER.value else DEVICE
        on_disk = (target / naming.certificate).read_bytes()
    except OSError:
        return False
    return records[0].certificate.public_bytes(serialization.Encoding.PEM) == on_disk


def recover_jobs(store: CAStore, *, only: str | None = None) -> list[str]:
    """Finish or roll back every interrupted job of the store (lock no longer held); one line per action.

    Jobs whose owner is still running are left alone. See the module docstring for what happens to each state.
    """
    lines: list[str] = []
    for job in store.open_jobs():
        if (only is not None and job.id != only) or OwnerLock.held(lock_path(job.staging)):
            continue
        what = "fleet" if job.kind == JOB_FLEET else "certificate"
        if job.state == JOB_STARTED:
            keys = _key_files(job.staging)
            shutil.rmtree(job.staging, ignore_errors=True)
            store.fail_job(job.id)
            lines.append(f"Removed the partial output of an interrupted {what} job ({keys} private key file(s)) "
                         f"at '{job.staging}'; nothing of it had been recorded.")
        elif job.state == JOB_RECORDED:
            lines.append(_recover_recorded(store, job, what))
        with contextlib.suppress(OSError):
            lock_path(job.staging).unlink()
    return lines


def _recover_recorded(store: CAStore, job: OutputJob, what: str) -> str:
    if _already_published(store, job):
        store.finish_job(job.id)
        shutil.rmtree(job.staging, ignore_errors=True)
        return (f"The interrupted {what} job {job.id} had already put its {job.count} certificate(s) in "
                f"'{job.target}'; it is now marked finished.")
    if job.staging.is_dir():
        target = job.target
        merge = job.kind == JOB_ISSUE
        if not merge and target.exists() and not _is_empty_dir(target):
            target = target.with_name(f"{target.name}-recovered-{job.id}")
        try:
            publish_folder(job.staging, target, merge=merge)
        except OSError as exc:
            raise WorkbenchError(f"Cannot finish the interrupted {what} job {job.id}",
                                 (f"Its files are complete in '{job.staging}' but cannot be moved to '{target}': "
                                  f"{exc.strerror or exc}.", "Free the target or fix its permissions and run again.")
                                 ) from exc
        store.finish_job(job.id)
        return (f"Finished an interrupted {what} job: its {job.count} recorded certificate(s) were complete in "
                f"the staging folder and are now in '{target}'.")
    revoked = store.abandon_job(job.id)
    return (f"The output of the interrupted {what} job {job.id} for '{job.target}' is gone; its {revoked} recorded "
            f"certificate(s) were revoked (cessationOfOperation) so the store lists none whose key nobody has.")


@dataclass(frozen=True)
class Leftover:
    """A partial folder an interrupted run left beside its target."""

    path: Path
    key_files: int
    job: str | None
    workspace: Path | None
    locked: bool  # its run is still going on: never touched
    legacy: bool  # no lock file (an older version, or the very start of a run)
    age_seconds: float


def _newest_mtime(folder: Path) -> float:
    newest = folder.stat().st_mtime
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            newest = max(newest, entry.stat().st_mtime)
    return newest


def find_leftovers(folder: Path) -> list[Leftover]:
    """The partial folders in ``folder`` (``.<name>.partial-*``), with whether their run is still alive."""
    folder = Path(folder)
    result = []
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(".") or PARTIAL_MARK not in entry.name or entry.name.endswith(LOCK_SUFFIX):
            continue
        if not entry.is_dir() or entry.is_symlink():
            continue
        lock = lock_path(entry)
        info = OwnerLock.read(lock)
        workspace, job = info.get("workspace"), info.get("job")
        try:
            age = now - _newest_mtime(entry)
        except OSError:
            continue
        result.append(Leftover(entry, _key_files(entry), job if isinstance(job, str) else None,
                               Path(workspace) if isinstance(workspace, str) else None, OwnerLock.held(lock),
                               not lock.exists(), age))
    return result


def _stale(leftover: Leftover, grace: float) -> bool:
    if leftover.locked:
        return False
    return not leftover.legacy or leftover.age_seconds >= grace


def clean_leftovers(folder: Path, *, stores: Iterable[CAStore] = (),
                    legacy_grace: float = LEGACY_GRACE_SECONDS) -> list[str]:
    """Repair or delete what interrupted runs left in ``folder``; one line per action.

    A leftover whose job is recorded in a CA store (one of ``stores``, or the workspace its lock file names) is
    finished through ``recover_jobs``; any other stale one is deleted with its keys. Lone lock files are removed.
    """
    lines: list[str] = []
    known = {s.workspace.absolute(): s for s in stores}
    for leftover in find_leftovers(folder):
        if not _stale(leftover, legacy_grace):
            continue
        if leftover.job and leftover.workspace is not None:
            recovered = _recover_in_workspace(leftover, known)
            if recovered is None:
                lines.append(f"Left '{leftover.path}' alone: it belongs to job {leftover.job} of the CA store in "
                             f"'{leftover.workspace}', which cannot be opened now; run again with that workspace.")
                continue
            lines.extend(recovered)
        if leftover.path.exists():
            shutil.rmtree(leftover.path, ignore_errors=True)
            lines.append(f"Removed '{leftover.path}', left by an interrupted run "
                         f"({leftover.key_files} private key file(s) deleted).")
        with contextlib.suppress(OSError):
            lock_path(leftover.path).unlink()
    with contextlib.suppress(OSError):
        for lock in Path(folder).glob(f".*{PARTIAL_MARK}*{LOCK_SUFFIX}"):
            staging = lock.with_name(lock.name[: -len(LOCK_SUFFIX)])
            if not staging.exists() and not OwnerLock.held(lock):
                lock.unlink()
    return lines


def _recover_in_workspace(leftover: Leftover, known: dict[Path, CAStore]) -> list[str] | None:
    """Recover the leftover's job in its own store; None when that store cannot be opened."""
    workspace = leftover.workspace
    assert workspace is not None and leftover.job is not None
    store = known.get(workspace.absolute())
    if store is not None:
        return recover_jobs(store, only=leftover.job)
    if not (workspace / "castore.sqlite").is_file():
        return []  # the store is gone: nothing can disagree with it any more
    try:
        with CAStore(workspace) as other:
            return recover_jobs(other, only=leftover.job)
    except WorkbenchError:
        return None


# --- one certificate into a folder (`ca issue`) ------------------------------------------------------------------
FileSet = Mapping[str, tuple[bytes, int]]  # file name -> (content, mode)


def _write_files(folder: Path, files: FileSet) -> None:
    for name, (data, mode) in files.items():
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    fsync_dir(folder)


def issue_to_folder(store: CAStore, ca_name: str, ca_password: bytes | None, subject: x509.Name,
                    public_key: PublicKey, profile: CertificateProfile, out: Path,
                    files: Callable[[x509.Certificate, list[x509.Certificate]], FileSet]) -> tuple[IssuedRecord,
                                                                                                dict[str, Path]]:
    """Sign one certificate and publish its files atomically with respect to the store.

    The files (from ``files(certificate, chain leaf-first)``) are written and synced in a staging folder beside
    ``out``, the certificate is recorded, then the files are moved into ``out`` (created, or an existing folder whose
    files of the same names are replaced). A failure anywhere rolls the record back and deletes the staged files,
    so the store never lists a certificate whose files were not written, and ``out`` is never left empty or half
    written.

    Raises:
        WorkbenchError: signing, writing (e.g. a full disk or read-only folder) or recording failed.
    """
    issuer = store.issuer(ca_name, ca_password)
    journal = StoreJournal(store, ca_name, JOB_ISSUE, profile.kind)
    with StagedOutput.create(out, merge=True, workspace=store.workspace) as staged:
        job_id = ""
        try:
            job_id = journal.begin(out, staged.staging)
            staged.note_job(job_id)
            serial = store.reserve_serials(ca_name, 1).start
            cert = issue_certificate(subject, public_key, profile, issuer, serial=serial)
            content = files(cert, [cert, *store.chain(ca_name)])
            try:
                _write_files(staged.staging, content)
            except OSError as exc:
                raise WorkbenchError(f"Cannot write the files for '{out}'",
                                     (exc.strerror or str(exc), "Check free disk space and permissions; nothing was "
                                      "recorded in the CA store.")) from exc
            journal.record(job_id, [cert])
            staged.publish()
        except BaseException:
            if job_id:
                with contextlib.suppress(WorkbenchError):
                    journal.fail(job_id)
            raise
        with contextlib.suppress(WorkbenchError):
            journal.finish(job_id)
    return store.find_serial(ca_name, cert.serial_number), {name: out / name for name in content}
