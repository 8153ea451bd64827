"""Where a simulated fleet comes from: N devices issued from a CA of the store (through the one home of fleet
issuance), N devices enrolled over EST with the tenant CA, an existing fleet folder, or a bulk-registration CSV; every
unusable device is named before any runs."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from workbench.core.files import read_input_file
from workbench.core.pki.fleet import FleetTemplate
from workbench.core.pki.fleet_ids import DeviceEntry, bulk_registration_csv, ids_from_pattern, parse_ids_csv
from workbench.core.pki.keys import KeySpec
from workbench.core.pki.profiles import device_profile
from workbench.core.tls import ClientIdentity, identity_from_pem
from workbench.errors import InvalidInputError, WorkbenchError
from workbench.services import est
from workbench.services.ca_passwords import CAPasswords
from workbench.services.fleet import FleetRequest
from workbench.services.platform_http import PlatformHttp
from workbench.services.staged_output import MANIFEST_NAME
from workbench.services.store_fleet import issuer_template, run_store_fleet

KEY_FILE = "deviceKey.pem"
CHAIN_FILE = "deviceCertChain.pem"
_SHOWN_PROBLEMS = 20  # problems listed one by one; the rest are counted


@dataclass(frozen=True)
class FleetDevice:
    """One simulated device: its id (CN, client id `d:<id>`), for mutual TLS its key and chain, and the folder
    holding its files (certificate renewal rewrites them there)."""

    device_id: str
    identity: ClientIdentity | None = field(default=None, repr=False)
    entry: DeviceEntry | None = None
    folder: Path | None = None


@dataclass(frozen=True)
class Fleet:
    """The devices of one run and where they came from."""

    devices: tuple[FleetDevice, ...]
    origin: str

    def __len__(self) -> int:
        return len(self.devices)

    @property
    def ca_chain(self) -> tuple[x509.Certificate, ...]:
        """The certificates above the devices (the issuing CA first), from the first device with a chain."""
        for device in self.devices:
            if device.identity is not None:
                return tuple(device.identity.chain[1:])
        return ()

    def registration_csv(self) -> bytes:
        """The bulk-registration file for exactly these devices (a slice registers only its own)."""
        return bulk_registration_csv([d.entry or DeviceEntry(d.device_id) for d in self.devices])

    def slice(self, index: int, count: int) -> Fleet:
        """The ``index``-th of ``count`` disjoint slices (every count-th device): no certificate is used twice."""
        if count < 1 or not 0 <= index < count:
            raise InvalidInputError(f"slice {index} of {count} does not exist",
                                    ("The slice index runs from 0 to the number of slices minus one.",))
        return Fleet(self.devices[index::count], f"{self.origin} (slice {index + 1} of {count})")

    def first(self, count: int | None) -> Fleet:
        """Only the first ``count`` devices (all when None)."""
        return self if count is None else Fleet(self.devices[:count], self.origin)


def _raise_problems(summary: str, problems: Sequence[str]) -> None:
    shown = list(problems[:_SHOWN_PROBLEMS])
    if len(problems) > _SHOWN_PROBLEMS:
        shown.append(f"... and {len(problems) - _SHOWN_PROBLEMS} more")
    raise InvalidInputError(summary, (*shown, "Nothing was started: fix or remove these devices, or reissue them."))


def _identity(folder: Path, device_id: str, password: bytes | None) -> ClientIdentity:
    key_path, chain_path = folder / device_id / KEY_FILE, folder / device_id / CHAIN_FILE
    key = read_input_file(key_path, f"key of device '{device_id}'")
    chain = read_input_file(chain_path, f"certificate chain of device '{device_id}'")
    identity = identity_from_pem(key, chain, password)
    names = identity.chain[0].subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    cn = str(names[0].value) if names else ""
    if cn != device_id:
        raise InvalidInputError(f"the certificate of '{device_id}' is for CN '{cn}'",
                                ("A device connects as d:<CN>; the folder name must be the CN.",))
    return identity


def _load(folder: Path, entries: Sequence[DeviceEntry], password: bytes | None, with_keys: bool,
          origin: str) -> Fleet:
    devices, problems = [], []
    for entry in entries:
        try:
            identity = _identity(folder, entry.device_id, password) if with_keys else None
        except WorkbenchError as exc:
            problems.append(f"{entry.device_id}: {exc.summary}" + (f" ({exc.causes[0]})" if exc.causes else ""))
            continue
        devices.append(FleetDevice(entry.device_id, identity, entry, folder / entry.device_id if with_keys else None))
    if problems:
        _raise_problems(f"{len(problems)} of {len(entries)} devices of {origin} cannot be used", problems)
    return Fleet(tuple(devices), origin)


def _manifest_ids(folder: Path) -> list[DeviceEntry] | None:
    path = folder / MANIFEST_NAME
    if not path.exists():
        return None
    try:
        manifest = json.loads(read_input_file(path, "fleet manifest"))
        ids = [str(d["id"]) for d in manifest["devices"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(f"The fleet manifest '{path}' cannot be read",
                                (f"{type(exc).__name__}: {exc}", "It is written by `workbench fleet issue`.")) from exc
    return [DeviceEntry(device_id) for device_id in ids]


def fleet_from_folder(folder: Path, key_password: bytes | None = None, *, with_keys: bool = True) -> Fleet:
    """A fleet folder of `workbench fleet issue` (its manifest, else every subfolder with a device key).

    Raises:
        InvalidInputError: the folder is missing or empty, or devices have missing, unreadable or wrong keys (each
            named).
    """
    if not folder.is_dir():
        raise InvalidInputError(f"The fleet folder '{folder}' does not exist", ("Check the path.",))
    entries = _manifest_ids(folder)
    if entries is None:
        entries = [DeviceEntry(p.name) for p in sorted(folder.iterdir()) if (p / KEY_FILE).exists()]
    if not entries:
        raise InvalidInputError(f"The folder '{folder}' holds no fleet",
                                (f"Expected manifest.json or subfolders with {KEY_FILE} and {CHAIN_FILE}.",))
    return _load(folder, entries, key_password, with_keys, f"'{folder}'")


def fleet_from_csv(csv_path: Path, key_folder: Path | None = None, key_password: bytes | None = None, *,
                   with_keys: bool = True) -> Fleet:
    """The devices of a bulk-registration (or ids) CSV; keys from ``key_folder/<id>/`` (default: the CSV's folder).

    Raises:
        InvalidInputError: bad rows (each named by line), or devices whose keys cannot be used.
    """
    entries = parse_ids_csv(read_input_file(csv_path, "fleet CSV"), f"'{csv_path}'")
    return _load(key_folder or csv_path.parent, entries, key_password, with_keys, f"'{csv_path}'")


def fleet_from_ids(count: int, pattern: str = "sim-{n:04d}") -> Fleet:
    """Ids only, for a standards broker without client certificates (plain MQTT)."""
    return Fleet(tuple(FleetDevice(e.device_id, None, e) for e in ids_from_pattern(pattern, count)), "generated ids")


def issue_from_store(workspace: Path, ca: str, count: int, out_dir: Path, passwords: CAPasswords, *,
                     pattern: str = "sim-{n:04d}", key_spec: KeySpec = KeySpec.EC_P256) -> Fleet:
    """Issue ``count`` devices from a CA of the store into ``out_dir`` (or reuse it when a run already made it).

    The issuance is the store fleet's: serials and records in the store, the folder published whole; an
    interrupted run is finished by the repair first, so a killed simulator's next run continues.
    """
    if not (out_dir / MANIFEST_NAME).exists():
        template: FleetTemplate = issuer_template(workspace, ca, passwords, key_spec=key_spec,
                                                  profile=device_profile())
        request = FleetRequest(template, ids_from_pattern(pattern, count), out_dir)
        run_store_fleet(workspace, ca, request)
    fleet = fleet_from_folder(out_dir)
    if len(fleet) < count:
        raise InvalidInputError(f"'{out_dir}' holds {len(fleet)} devices, fewer than the {count} asked for",
                                ("Choose a new folder, or simulate the devices it has.",))
    return fleet.first(count)


async def enroll_over_est(http: PlatformHttp, count: int, out_dir: Path,
                          server_trust: tuple[x509.Certificate, ...] = (), *, pattern: str = "sim-{n:04d}",
                          validity_seconds: int | None = None) -> Fleet:
    """Enroll ``count`` devices over EST with the tenant CA into ``out_dir/<id>/`` (register with a one-time
    password, key and CSR on the device, `simpleenroll`): the platform-CA fleet, whose certificates the simulator
    can renew. Devices already enrolled there are reused, so a second run continues the first.

    ``http``: an admin session (the tenant CA is created or found). ``validity_seconds``: local platform only, the
    tenant option that shortens the certificates' validity (to rehearse renewal in minutes).

    Raises:
        PlatformRequestError: the platform refused (no admin rights, EST unavailable, a device id taken).
        InvalidInputError: bad ids, or the folder's devices cannot be read back.
    """
    if count < 1:
        raise InvalidInputError("--enroll needs at least one device", ("Give N >= 1.",))
    entries = ids_from_pattern(pattern, count)
    await est.prepare_tenant_ca(http)
    if validity_seconds is not None:
        await est.set_certificate_validity(http, validity_seconds)
    for entry in entries:
        folder = out_dir / entry.device_id
        if (folder / KEY_FILE).is_file() and (folder / CHAIN_FILE).is_file():
            continue  # enrolled by an earlier run
        otp = await est.register(http, entry.device_id)
        password = secrets.token_urlsafe(18).encode()  # per device, in its keystorePassword.txt (0600)
        await est.enroll(http, entry.device_id, otp, est.KeySource(),
                         est.DeviceFolder(folder, password, "pkcs12", server_trust, replace=True))
    return _load(out_dir, entries, None, True, f"'{out_dir}' (enrolled over EST)")
