"""A fleet signed by a CA of the store (`workbench fleet issue --ca` and the fleet dialog): serials from the store,
every device recorded there before its folder is published, interrupted runs finished first."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from workbench.core.files import read_input_file
from workbench.core.pki.fleet import FleetTemplate, KeystoreOptions
from workbench.core.pki.fleet_ids import DeviceEntry, ids_from_pattern, parse_ids_csv
from workbench.core.pki.keys import KeySpec
from workbench.core.pki.profiles import device_profile
from workbench.core.pki.store import CAStore
from workbench.errors import InvalidInputError
from workbench.services.ca_passwords import CAPasswords
from workbench.services.fleet import CSV_NAME, FleetProgress, FleetRequest, FleetResult, issue_fleet
from workbench.services.staged_output import MANIFEST_NAME, StoreJournal, clean_leftovers, recover_jobs


def fleet_devices(count: int, pattern: str, csv_path: Path | None, start: int | None = None) -> list[DeviceEntry]:
    """The fleet's ids: from a CSV when one is given, else ``count`` ids from the pattern."""
    if csv_path is not None:
        return parse_ids_csv(read_input_file(csv_path, "CSV of ids"), f"'{csv_path.name}'")
    return ids_from_pattern(pattern, count) if start is None else ids_from_pattern(pattern, count, start)


@dataclass(frozen=True)
class FleetOrder:
    """A fleet of a store CA: the devices, the key and keystore choices, the folder (the CA password is asked)."""

    ca: str
    devices: Sequence[DeviceEntry]
    key_spec: KeySpec
    key_password: bytes | None = field(repr=False)
    out_dir: Path
    keystore: str | None = None
    keystore_password: bytes | None = field(default=None, repr=False)
    jobs: int | None = None


@dataclass(frozen=True)
class FleetRun:
    """What a store fleet run did: the fleet, or the summary of an interrupted run the repair finished instead."""

    result: FleetResult | None
    recovered: dict[str, object] | None = None  # the summary of an interrupted run that the repair finished
    notes: tuple[str, ...] = ()


def order_template(store: CAStore, order: FleetOrder, password: bytes | None) -> FleetTemplate:
    """The template every device of the order shares, with the CA's key unlocked."""
    keystore = None
    if order.keystore:
        keystore = KeystoreOptions(kind=order.keystore, password=order.keystore_password or order.key_password)
    return FleetTemplate.for_issuer(store.issuer(order.ca, password), store.chain(order.ca)[1:],
                                    key_spec=order.key_spec, profile=device_profile(),
                                    key_password=order.key_password, keystore=keystore)


def issuer_template(workspace: Path, ca: str, passwords: CAPasswords, **options: object) -> FleetTemplate:
    """A template for a store CA with the CLI's options (profile, subject extras, keystores, truststore)."""
    password = passwords(ca)
    with CAStore(workspace) as store:
        template = FleetTemplate.for_issuer(store.issuer(ca, password), store.chain(ca)[1:], **options)
    passwords.worked(ca, password)
    return template


def _finished_by_repair(out: Path, interrupted: set[str]) -> dict[str, object] | None:
    """The summary of ``out`` when it is the output of an interrupted job that the repair just finished."""
    try:
        manifest = json.loads((out / MANIFEST_NAME).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("job") not in interrupted:
        return None
    return {"out_dir": str(out), "count": manifest.get("count"), "recovered_job": manifest.get("job"),
            "bulk_registration_csv": str(out / CSV_NAME), "manifest": str(out / MANIFEST_NAME)}


def run_store_fleet(workspace: Path, ca: str, request: FleetRequest,
                    progress: Callable[[FleetProgress], None] | None = None,
                    cancel: threading.Event | None = None) -> FleetRun:
    """Repair what interrupted runs left, then issue the request with the store's serials and journal."""
    with CAStore(workspace) as store:
        interrupted = {job.id for job in store.open_jobs()}
        notes = tuple(recover_jobs(store)) + tuple(clean_leftovers(request.out_dir.absolute().parent, stores=[store]))
        finished = _finished_by_repair(request.out_dir, interrupted)
        if finished is not None:
            return FleetRun(None, finished, notes)
        request = replace(request, serials=lambda n: store.reserve_serials(ca, n), journal=StoreJournal(store, ca))
        return FleetRun(issue_fleet(request, progress=progress, cancel=cancel), None, notes)


def run_fleet(workspace: Path, order: FleetOrder, passwords: CAPasswords,
              progress: Callable[[FleetProgress], None] | None = None,
              cancel: threading.Event | None = None) -> FleetResult:
    """The fleet dialog's run: `workbench fleet issue --ca` with the order's choices."""
    password = passwords(order.ca)
    with CAStore(workspace) as store:
        template = order_template(store, order, password)
    run = run_store_fleet(workspace, order.ca, FleetRequest(template, order.devices, order.out_dir, jobs=order.jobs),
                          progress, cancel)
    passwords.worked(order.ca, password)
    if run.result is None:
        raise InvalidInputError(f"The interrupted run into '{order.out_dir}' was finished; nothing more to issue",
                                ("Open that folder, or choose a new one for another fleet.",))
    return run.result
