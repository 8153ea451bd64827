"""Bulk device issuance on every core: chunks of devices per worker, progress, cancellation, all-or-nothing output.

Workers get the fleet template once (the CA key is parsed once per worker), then whole chunks of devices, and
write each device folder themselves, so only small records travel back. Everything is written into a hidden
staging folder next to the target that is renamed into place when complete; cancelling or failing deletes it.
With a journal (the CA store), every certificate is recorded in one transaction BEFORE that rename, tagged with the
job, so the store and the published folder never disagree; a crash leaves a job the next run finishes
(``workbench.services.staged_output`` has the whole protocol). Workers die with the process that started them.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import datetime
import json
import math
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from workbench import errors
from workbench.core.files import write_atomic
from workbench.core.pki.fleet import DeviceMaker, DeviceRecord, FleetTemplate
from workbench.core.pki.fleet_ids import DeviceEntry, bulk_registration_csv, check_unique
from workbench.core.pki.keys import KeySpec
from workbench.core.pki.names import format_dn
from workbench.core.processes import process_alive
from workbench.errors import Cancelled, InvalidInputError, WorkbenchError
from workbench.services.device_bundle import fleet_spec, make_fleet_device
from workbench.services.staged_output import MANIFEST_NAME, OutputJournal, StagedOutput, new_job_id

CSV_NAME = "bulk-registration.csv"
MANIFEST_FORMAT = "workbench-fleet/1"
# Rough seconds per device, file creation included (about 0.5 ms per file on some VMs): sizes chunks so a cancel
# is noticed promptly, and keeps tiny fleets in-process where starting workers would cost more than it saves.
_COST = {KeySpec.EC_P256: 0.004, KeySpec.EC_P384: 0.005, KeySpec.ED25519: 0.004, KeySpec.RSA_2048: 0.06,
         KeySpec.RSA_3072: 0.25, KeySpec.RSA_4096: 0.8}
_CHUNK_SECONDS = 0.15
_INLINE_BELOW_SECONDS = 0.4
_POLL_SECONDS = 0.05

SerialAllocator = Callable[[int], Sequence[int]]


def random_serials(count: int) -> list[int]:
    """Unique random 159-bit serials, for a CA without a store (as `openssl x509 -req` users often do)."""
    serials: set[int] = set()
    while len(serials) < count:
        serials.add(x509.random_serial_number())
    return list(serials)


@dataclass(frozen=True)
class FleetProgress:
    """A progress report after each finished chunk."""

    done: int
    total: int
    rate: float  # devices per second so far


@dataclass(frozen=True)
class FleetRequest:
    """A whole fleet: the shared template, the devices, where to write, and how to run."""

    template: FleetTemplate
    devices: Sequence[DeviceEntry]
    out_dir: Path
    jobs: int | None = None  # None: every core, or in-process when the fleet is tiny; 1: always in-process
    serials: SerialAllocator = random_serials
    csv_separator: str = ";"
    device_type: str = ""
    id_type: str = ""
    journal: OutputJournal | None = None  # the CA store: certificates recorded before the folder is published


@dataclass
class FleetResult:
    """What was written: the folder, one record per device in input order, and how long it took."""

    out_dir: Path
    records: list[DeviceRecord]
    elapsed: float
    workers: int
    manifest: dict[str, object] = field(default_factory=dict)
    job_id: str = ""

    @property
    def csv_path(self) -> Path:
        """The bulk-registration file to upload to the platform."""
        return self.out_dir / CSV_NAME


# --- worker side -------------------------------------------------------------------------------------------------
_MAKER: DeviceMaker | None = None
_PR_SET_PDEATHSIG = 1
_WATCH_SECONDS = 0.25


def _init_worker(template: FleetTemplate, owner_pid: int | None = None) -> None:
    """Load the CA once per worker; Ctrl+C is the parent's to handle (it cancels and cleans up)."""
    global _MAKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if owner_pid is not None:
        _die_with_owner(owner_pid)
    _MAKER = DeviceMaker(template)


def _die_with_owner(owner_pid: int) -> None:
    """Make this worker exit when the process that owns the pool dies, even by SIGKILL.

    On Linux the kernel sends SIGKILL when the worker's parent dies (prctl PR_SET_PDEATHSIG). With the forkserver
    start method that parent is the fork server, which itself only exits once every worker is gone, so a watchdog
    thread also watches the owner: through a pidfd where Linux has one, else by polling whether the parent changed
    (the worker was re-parented) or the owner's pid is gone.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    parent = os.getppid()
    threading.Thread(target=_watch_owner, args=(owner_pid, parent), name="fleet-owner-watchdog", daemon=True).start()


def _watch_owner(owner_pid: int, parent_pid: int) -> None:
    pidfd = None
    try:
        pidfd = os.pidfd_open(owner_pid)  # Linux 5.3+
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        pidfd = None
    while True:
        if pidfd is not None:
            readable, _, _ = select.select([pidfd], [], [], _WATCH_SECONDS)
            if readable:  # the owner exited
                os._exit(1)
        else:
            time.sleep(_WATCH_SECONDS)
            if not process_alive(owner_pid):
                os._exit(1)
        if os.getppid() != parent_pid:
            os._exit(1)


def _run_chunk(folder: str,
               items: Sequence[tuple[DeviceEntry, int]]) -> list[DeviceRecord] | tuple[str, str, tuple[str, ...]]:
    """Make a chunk of devices; a user-facing error comes back as data so its causes survive the process hop."""
    assert _MAKER is not None
    try:
        return [make_fleet_device(_MAKER, entry, serial, Path(folder)) for entry, serial in items]
    except WorkbenchError as exc:
        return (type(exc).__name__, exc.summary, exc.causes)


def _reraise(error: tuple[str, str, tuple[str, ...]]) -> None:
    name, summary, causes = error
    cls = getattr(errors, name, WorkbenchError)
    raise (cls if isinstance(cls, type) and issubclass(cls, WorkbenchError) else WorkbenchError)(summary, causes)


# --- parent side -------------------------------------------------------------------------------------------------
def _mp_context() -> multiprocessing.context.BaseContext:
    """forkserver where it exists (safe beside GUI threads, cheap per worker), spawn elsewhere (Windows)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["workbench.core.pki.fleet"])
        return context
    return multiprocessing.get_context("spawn")


def _chunks(items: list[tuple[DeviceEntry, int]], spec: KeySpec, workers: int) -> list[list[tuple[DeviceEntry, int]]]:
    by_time = max(1, int(_CHUNK_SECONDS / _COST[spec]))
    by_balance = max(1, math.ceil(len(items) / (workers * 4)))
    size = min(by_time, by_balance)
    return [items[i:i + size] for i in range(0, len(items), size)]


def _allocate_serials(allocator: SerialAllocator, count: int) -> list[int]:
    serials = list(allocator(count))
    if len(serials) != count or len(set(serials)) != count or any(s <= 0 for s in serials):
        raise WorkbenchError("The serial number allocator returned unusable serials",
                             (f"Expected {count} unique positive numbers, got {len(serials)}.",))
    return serials


def _workers_for(request: FleetRequest) -> int:
    cores = os.cpu_count() or 1
    if request.jobs is not None:
        if request.jobs < 1:
            raise InvalidInputError(f"--jobs must be at least 1, not {request.jobs}", ())
        return request.jobs
    if len(request.devices) * _COST[request.template.key_spec] < _INLINE_BELOW_SECONDS:
        return 1
    return cores


def issue_fleet(request: FleetRequest, *, progress: Callable[[FleetProgress], None] | None = None,
                cancel: threading.Event | None = None) -> FleetResult:
    """Issue every device of the request into ``out_dir`` (created whole at the end), reporting progress per chunk.

    ``cancel`` is checked between chunks; when set, running chunks finish, the partial folder is deleted and
    Cancelled is raised. Any other failure also leaves nothing behind, in the folder or in the journal.

    Raises:
        Cancelled: the event was set.
        InvalidInputError: no devices, duplicate ids, or the output folder is not new or empty.
        WorkbenchError: a device could not be issued or written (the first failure, with its causes).
    """
    devices = list(request.devices)
    if not devices:
        raise InvalidInputError("There are no devices to issue", ("Give a count and pattern, or a CSV of ids.",))
    check_unique(devices)
    maker = DeviceMaker(request.template)  # validates the CA and profile before any work
    fleet_spec(maker).check()  # and a keystore nobody could open
    workers = _workers_for(request)
    started = time.perf_counter()
    journal = request.journal
    with StagedOutput.create(request.out_dir, workspace=journal.workspace if journal else None) as staged:
        job_id, recorded = "", False
        try:
            job_id = journal.begin(request.out_dir, staged.staging) if journal else new_job_id()
            staged.note_job(job_id)
            items = list(zip(devices, _allocate_serials(request.serials, len(devices)), strict=True))
            chunks = _chunks(items, request.template.key_spec, workers)
            report = _Reporter(len(items), started, progress, cancel)
            if workers == 1:
                results = _run_inline(maker, staged.staging, chunks, report)
            else:
                results = _run_pool(request.template, staged.staging, chunks, workers, report)
            records = [record for chunk in results for record in chunk]
            manifest = _finish(request, staged.staging, records, maker, job_id)
            if journal:  # one transaction, before the rename that publishes the folder
                journal.record(job_id, [x509.load_der_x509_certificate(r.certificate_der) for r in records])
                recorded = True
            staged.publish()
        except BaseException:
            if journal and job_id:
                with contextlib.suppress(WorkbenchError):  # if even this fails, the next run rolls it back
                    journal.fail(job_id)
            raise
        if journal and recorded:
            with contextlib.suppress(WorkbenchError):  # published and recorded; the next run marks it finished
                journal.finish(job_id)
    return FleetResult(request.out_dir, records, time.perf_counter() - started, workers, manifest, job_id)


class _Reporter:
    """Counts finished devices, calls the progress callback, and turns a set cancel event into Cancelled."""

    def __init__(self, total: int, started: float, callback: Callable[[FleetProgress], None] | None,
                 cancel: threading.Event | None) -> None:
        self.total, self.started, self.callback, self.cancel, self.done = total, started, callback, cancel, 0

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("Fleet issuance was cancelled",
                            (f"{self.done} of {self.total} devices had been issued; the partial output was deleted.",
                             "Issued serial numbers stay used; run the fleet again to issue new certificates."))

    def add(self, count: int) -> None:
        self.done += count
        if self.callback is not None:
            elapsed = max(time.perf_counter() - self.started, 1e-9)
            self.callback(FleetProgress(self.done, self.total, self.done / elapsed))


def _run_inline(maker: DeviceMaker, staging: Path, chunks: list[list[tuple[DeviceEntry, int]]],
                report: _Reporter) -> list[list[DeviceRecord]]:
    results = []
    for chunk in chunks:
        report.check_cancel()
        results.append([make_fleet_device(maker, entry, serial, staging) for entry, serial in chunk])
        report.add(len(chunk))
    report.check_cancel()
    return results


def _run_pool(template: FleetTemplate, staging: Path, chunks: list[list[tuple[DeviceEntry, int]]], workers: int,
              report: _Reporter) -> list[list[DeviceRecord]]:
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(), initializer=_init_worker,
                                  initargs=(template, os.getpid()))
    results: list[list[DeviceRecord] | None] = [None] * len(chunks)
    try:
        pending = {pool.submit(_run_chunk, str(staging), chunk): index for index, chunk in enumerate(chunks)}
        while pending:
            report.check_cancel()
            finished, _ = cf.wait(pending, timeout=_POLL_SECONDS, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                index = pending.pop(future)
                outcome = future.result()
                if isinstance(outcome, tuple):
                    _reraise(outcome)
                results[index] = outcome  # type: ignore[assignment]
                report.add(len(chunks[index]))
        report.check_cancel()
    except cf.process.BrokenProcessPool as exc:
        raise WorkbenchError("A fleet worker process stopped unexpectedly",
                             ("The machine may be out of memory; try fewer --jobs.",)) from exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return [r or [] for r in results]


def _sync_files(staging: Path, records: list[DeviceRecord]) -> None:
    """Make the device files durable before the rename publishes them: one sync call instead of one per file."""
    if hasattr(os, "sync"):
        os.sync()
        return
    for record in records:  # pragma: no cover - Windows has no os.sync
        for name in record.files:
            with open(staging / record.device_id / name, "rb+") as handle:
                os.fsync(handle.fileno())


def _finish(request: FleetRequest, staging: Path, records: list[DeviceRecord], maker: DeviceMaker,
            job_id: str) -> dict[str, object]:
    """Write the registration CSV and manifest (with the job id) and make the whole staging folder durable."""
    template = request.template
    csv_bytes = bulk_registration_csv(request.devices, separator=request.csv_separator,
                                      device_type=request.device_type, id_type=request.id_type)
    write_atomic(staging / CSV_NAME, csv_bytes)
    chain = maker.chain
    manifest: dict[str, object] = {
        "format": MANIFEST_FORMAT,
        "job": job_id,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "issuer": {"subject": format_dn(chain[0].subject), "sha1": chain[0].fingerprint(hashes.SHA1()).hex().upper(),
                   "sha256": chain[0].fingerprint(hashes.SHA256()).hex().upper()},
        "chain_to_root": chain[-1].subject == chain[-1].issuer,
        "key_type": template.key_spec.value,
        "key_encrypted": template.key_password is not None,
        "profile": {"kind": template.profile.kind.value, "validity_days": template.profile.validity_days,
                    "client_auth": template.profile.client_auth},
        "keystore": None if template.keystore is None else {"kind": template.keystore.kind,
                                                            "alias": template.keystore.alias},
        "truststore": template.truststore_kind if template.truststore else None,
        "bulk_registration_csv": CSV_NAME,
        "count": len(records),
        "devices": [r.to_manifest() for r in records],
    }
    write_atomic(staging / MANIFEST_NAME, json.dumps(manifest, indent=2).encode() + b"\n")
    _sync_files(staging, records)
    return manifest
