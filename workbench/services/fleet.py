"""Bulk device issuance on every core: chunks of devices per worker, progress, cancellation, all-or-nothing output.

Workers get the fleet template once (the CA key is parsed once per worker), then whole chunks of devices, and
write each device folder themselves, so only small records travel back. Everything is written into a hidden
staging folder next to the target that is renamed into place when complete; cancelling or failing deletes it.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime
import json
import math
import multiprocessing
import os
import shutil
import signal
import tempfile
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
from workbench.errors import Cancelled, InvalidInputError, WorkbenchError

CSV_NAME = "bulk-registration.csv"
MANIFEST_NAME = "manifest.json"
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


@dataclass
class FleetResult:
    """What was written: the folder, one record per device in input order, and how long it took."""

    out_dir: Path
    records: list[DeviceRecord]
    elapsed: float
    workers: int
    manifest: dict[str, object] = field(default_factory=dict)

    @property
    def csv_path(self) -> Path:
        """The bulk-registration file to upload to the platform."""
        return self.out_dir / CSV_NAME


# --- worker side -------------------------------------------------------------------------------------------------
_MAKER: DeviceMaker | None = None


def _init_worker(template: FleetTemplate) -> None:
    """Load the CA once per worker; Ctrl+C is the parent's to handle (it cancels and cleans up)."""
    global _MAKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _MAKER = DeviceMaker(template)


def _run_chunk(folder: str, items: Sequence[tuple[DeviceEntry, int]]) -> list[DeviceRecord] | tuple[str, str, tuple]:
    """Make a chunk of devices; a user-facing error comes back as data so its causes survive the process hop."""
    assert _MAKER is not None
    try:
        return [_MAKER.make(entry, serial, Path(folder)) for entry, serial in items]
    except WorkbenchError as exc:
        return (type(exc).__name__, exc.summary, exc.causes)


def _reraise(error: tuple[str, str, tuple]) -> None:
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


def _prepare_staging(out_dir: Path) -> Path:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InvalidInputError(f"The output folder '{out_dir}' already exists and is not empty",
                                ("Choose a new folder; a fleet is written as a whole, never mixed into old files.",))
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    except OSError as exc:
        raise WorkbenchError(f"Cannot create the output folder '{out_dir}'",
                             (exc.strerror or str(exc), "Check the parent folder exists and is writable.")) from exc


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
    Cancelled is raised. Any other failure also leaves nothing behind.

    Raises:
        Cancelled: the event was set.
        InvalidInputError: no devices, duplicate ids, or the output folder is not new or empty.
        WorkbenchError: a device could not be issued or written (the first failure, with its causes).
    """
    devices = list(request.devices)
    if not devices:
        raise InvalidInputError("There are no devices to issue", ("Give a count and pattern, or a CSV of ids.",))
    check_unique(devices)
    maker = DeviceMaker(request.template)  # validates the CA, profile and keystore options before any work
    workers = _workers_for(request)
    started = time.perf_counter()
    staging = _prepare_staging(request.out_dir)
    try:
        items = list(zip(devices, _allocate_serials(request.serials, len(devices)), strict=True))
        chunks = _chunks(items, request.template.key_spec, workers)
        report = _Reporter(len(items), started, progress, cancel)
        if workers == 1:
            results = _run_inline(maker, staging, chunks, report)
        else:
            results = _run_pool(request.template, staging, chunks, workers, report)
        records = [record for chunk in results for record in chunk]
        manifest = _finish(request, staging, records, maker)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return FleetResult(request.out_dir, records, time.perf_counter() - started, workers, manifest)


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
        results.append([maker.make(entry, serial, staging) for entry, serial in chunk])
        report.add(len(chunk))
    report.check_cancel()
    return results


def _run_pool(template: FleetTemplate, staging: Path, chunks: list[list[tuple[DeviceEntry, int]]], workers: int,
              report: _Reporter) -> list[list[DeviceRecord]]:
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(), initializer=_init_worker,
                                  initargs=(template,))
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


def _finish(request: FleetRequest, staging: Path, records: list[DeviceRecord], maker: DeviceMaker) -> dict:
    """Write the registration CSV and manifest, then move the complete fleet into place in one rename."""
    template = request.template
    _sync_files(staging, records)
    csv_bytes = bulk_registration_csv(request.devices, separator=request.csv_separator,
                                      device_type=request.device_type, id_type=request.id_type)
    write_atomic(staging / CSV_NAME, csv_bytes)
    chain = maker.chain
    manifest = {
        "format": MANIFEST_FORMAT,
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
    out_dir = request.out_dir
    try:
        if out_dir.exists():
            out_dir.rmdir()  # checked empty before we started
        os.rename(staging, out_dir)
    except OSError as exc:
        raise WorkbenchError(f"Cannot move the finished fleet to '{out_dir}'",
                             (exc.strerror or str(exc), "Something else wrote to that folder meanwhile.")) from exc
    return manifest
