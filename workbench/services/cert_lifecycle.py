"""Certificate lifecycle in one home: every device certificate the workbench knows (the CA store's issued
certificates, the folders its jobs wrote, fleet folders, enrolled device folders) with its expiry, the "expires
within N days" filter, and renewal: re-issue from the CA store, or re-enrollment over EST with the tenant CA, then the
device folder's keystores rewritten through the one bundle writer.

Why: renewal is what breaks fleets a year after rollout. `workbench cert expiring|renew`, the Certificates page's
Lifecycle tab, the demo's simulated device and the fleet simulator all call these functions (issue #17).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from workbench import paths
from workbench.core.files import write_atomic
from workbench.core.keystore.operations import read_store
from workbench.core.pki.fleet import KeystoreOptions
from workbench.core.pki.keys import PrivateKey, load_private_key, public_key_matches
from workbench.core.pki.profiles import device_profile
from workbench.core.pki.store import CAStore
from workbench.core.tls import ClientIdentity, identity_from_store, server_context
from workbench.errors import InvalidInputError, PasswordError, WorkbenchError
from workbench.services import certificates, est
from workbench.services.ca_passwords import CAPasswords
from workbench.services.device_bundle import (
    DEVICE,
    KEYSTORE_PASSWORD_FILE,
    ONBOARDING,
    BundleSpec,
    Naming,
    bundle_files,
    write_files,
)
from workbench.services.platform_http import PlatformHttp

SOURCE_STORE = "CA store"  # a store record whose device folder is not known
SOURCE_FOLDER = "device folder"
SOURCE_FLEET = "fleet"
REISSUE = "re-issue"  # the CA is in the store: a new certificate for the same key
REENROLL = "re-enroll"  # another CA (the tenant CA): simplereenroll with the device token
MAX_FOLDERS = 20_000  # a scan stops here: a fleet folder of this size is already slow to list
REMEMBERED_FILE = "lifecycle-folders.json"
_CHAIN_FILES = ("deviceCertChain.pem", "deviceCert.pem")
_KEYSTORES = ("deviceKeystore.p12", "deviceKeystore.pkcs12", "deviceKeystore.jks")


@dataclass(frozen=True)
class KnownCertificate(est.CertificateFacts):
    """One device certificate: where the workbench knows it from, and how it can be renewed."""

    device_id: str
    certificate: x509.Certificate
    source: str
    folder: Path | None = None
    ca: str | None = None  # the store's CA that issued it
    revoked: bool = False

    @property
    def issuer(self) -> str:
        """The issuer DN (the tenant CA is CN=<tenant>,O=Cumulocity)."""
        return self.certificate.issuer.rfc4514_string()

    def days_left(self, now: dt.datetime | None = None) -> float:
        """Days until expiry (negative once expired)."""
        return est.days_left(self.certificate, now)

    @property
    def method(self) -> str | None:
        """How it is renewed: REISSUE, REENROLL, or None (see `why_not`)."""
        if self.revoked:
            return None
        if self.ca is not None:
            return REISSUE if self.folder is not None else None
        return REENROLL if self.folder is not None else None

    @property
    def why_not(self) -> str:
        """Why it cannot be renewed ("" when it can)."""
        if self.revoked:
            return "revoked: issue a new device instead"
        if self.folder is None:
            return "no device folder known: add the folder holding its key"
        return ""

    def to_dict(self, now: dt.datetime | None = None) -> dict[str, object]:
        """For `--json`."""
        return {"deviceId": self.device_id, "serialHex": self.serial_hex, "issuer": self.issuer,
                "notAfter": self.not_after.isoformat(), "daysLeft": round(self.days_left(now), 3),
                "source": self.source, "folder": str(self.folder) if self.folder else None, "ca": self.ca,
                "revoked": self.revoked, "renewal": self.method, "whyNot": self.why_not or None}


# --- what the workbench knows -------------------------------------------------------------------------------
def default_folders() -> list[Path]:
    """The folders looked at without being asked: the onboarding page's devices and the remembered folders."""
    return [paths.data_dir() / "onboarding", *remembered_folders()]


def remembered_folders() -> list[Path]:
    """Folders the user added to the lifecycle view (kept in the config folder)."""
    try:
        data = json.loads((paths.config_dir() / REMEMBERED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [Path(p) for p in data.get("folders", []) if isinstance(p, str)] if isinstance(data, dict) else []


def remember_folder(folder: Path) -> list[Path]:
    """Add a folder to the remembered ones (atomically); the new list."""
    folder = folder.expanduser().absolute()
    if not folder.is_dir():
        raise InvalidInputError(f"'{folder}' is not a folder", ("Choose a device folder or a fleet folder.",))
    known = remembered_folders()
    if folder not in known:
        known.append(folder)
        write_atomic(paths.config_dir() / REMEMBERED_FILE,
                     json.dumps({"folders": [str(p) for p in known]}, indent=2).encode(), mode=0o644)
    return known


def is_device_folder(folder: Path) -> bool:
    """A folder holding a device bundle (the chain PEM is in every bundle the workbench writes)."""
    return any((folder / name).is_file() for name in _CHAIN_FILES)


def device_folders(roots: Iterable[Path]) -> list[tuple[Path, bool]]:
    """Each device folder under the roots: (folder, part of a fleet). A root is a device folder itself, or holds
    device folders one level down (a fleet: `<fleet>/<id>/`)."""
    found: dict[Path, bool] = {}
    for root in roots:
        if len(found) >= MAX_FOLDERS:
            break
        if is_device_folder(root):
            found.setdefault(root.absolute(), False)
            continue
        try:
            children = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        except OSError:
            continue  # a folder that is gone or unreadable is simply not listed
        devices = [c for c in children if is_device_folder(c)]
        for child in devices[:MAX_FOLDERS - len(found)]:
            found.setdefault(child.absolute(), len(devices) > 1 or (root / "bulk-registration.csv").exists())
    return list(found.items())


def folder_certificate(folder: Path) -> x509.Certificate:
    """The device certificate of a folder (first of deviceCertChain.pem, else deviceCert.pem).

    Raises:
        InvalidInputError: no readable certificate in it.
    """
    for name in _CHAIN_FILES:
        try:
            return x509.load_pem_x509_certificates((folder / name).read_bytes())[0]
        except FileNotFoundError:
            continue
        except (OSError, ValueError, IndexError) as exc:
            raise InvalidInputError(f"Cannot read '{folder / name}'", (str(exc)[:200],)) from exc
    raise InvalidInputError(f"'{folder}' holds no device certificate", ("Expected deviceCertChain.pem.",))


def _cn(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else certificate.subject.rfc4514_string()


def find_certificates(workspace: Path, folders: Sequence[Path] = (), *,
                      include_defaults: bool = True) -> list[KnownCertificate]:
    """Every device certificate the workbench knows, soonest expiry first: the folders given, the default and
    remembered folders, the folders the store's jobs wrote, and the store's newest certificate per CA and CN (a
    store certificate whose folder is found shows once, with its folder).

    Raises:
        CAStoreError: the store cannot be read.
    """
    with CAStore(workspace) as store:
        issued = [r for r in store.certificates() if r.kind == "device"]
        targets = store.published_targets()
        ca_records = store.cas()
    by_serial = {(r.certificate.issuer, r.serial): r for r in issued}
    ca_fingerprints = {r.certificate.fingerprint(hashes.SHA256()) for r in ca_records}
    roots = [*folders, *(default_folders() if include_defaults else []), *targets]
    known: list[KnownCertificate] = []
    seen: set[tuple[x509.Name, int]] = set()
    for folder, in_fleet in device_folders(roots):
        try:
            cert = folder_certificate(folder)
        except InvalidInputError:
            continue  # a half-written or foreign folder: not a device the workbench can speak for
        key = (cert.issuer, cert.serial_number)
        if key in seen:
            continue
        seen.add(key)
        record = by_serial.get(key)
        known.append(KnownCertificate(_cn(cert), cert, SOURCE_FLEET if in_fleet else SOURCE_FOLDER, folder,
                                      record.ca if record else _store_ca(cert, ca_records),
                                      bool(record and record.revoked_at)))
    newest: dict[tuple[str, str], certificates.IssuedRecord] = {}
    for record in issued:  # the store lists by issuance: a later one for the same CN supersedes
        if record.certificate.fingerprint(hashes.SHA256()) in ca_fingerprints or record.unpublished:
            continue
        newest[(record.ca, record.cn or "")] = record
    covered = {(k.ca, k.device_id) for k in known}
    for record in newest.values():
        if (record.certificate.issuer, record.serial) in seen or (record.ca, record.cn or "") in covered:
            continue
        known.append(KnownCertificate(record.cn or _cn(record.certificate), record.certificate, SOURCE_STORE,
                                      None, record.ca, record.revoked_at is not None))
    return sorted(known, key=lambda k: (k.not_after, k.device_id))


def _store_ca(cert: x509.Certificate, cas: Sequence[certificates.CARecord]) -> str | None:
    """The store CA that signed a certificate found in a folder (a copy the store does not list, e.g. made before
    the store recorded folders), by subject and signature."""
    for record in cas:
        if record.certificate.subject == cert.issuer:
            try:
                cert.verify_directly_issued_by(record.certificate)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return record.name
    return None


def expiring(known: Iterable[KnownCertificate], days: float,
             now: dt.datetime | None = None) -> list[KnownCertificate]:
    """Those that expire within `days` (expired ones included); revoked ones are left out."""
    return [k for k in known if not k.revoked and k.days_left(now) <= days]


# --- renewal ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EstTarget:
    """The platform a device re-enrolls with: its REST URL and the server CA the device trusts (none: system)."""

    rest_url: str
    server_trust: tuple[x509.Certificate, ...] = ()

    def http(self) -> PlatformHttp:
        """A session without credentials: the device authenticates with its token."""
        return PlatformHttp(self.rest_url, None, trust=server_context(list(self.server_trust)))


@dataclass(frozen=True)
class RenewRequest:
    """What renewal may need besides the certificate: the CA password (re-issue), the platform (re-enroll), and
    passwords of a folder without keystorePassword.txt (a fleet's shared keystore password, an encrypted key)."""

    workspace: Path
    passwords: CAPasswords | None = None
    platform: EstTarget | None = None
    keystore_password: bytes | None = field(default=None, repr=False)
    key_password: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Renewed(est.CertificateFacts):
    """One renewal: the certificate before and after (`serial_hex`, `not_after`: the new one's), and the files."""

    before: KnownCertificate
    certificate: x509.Certificate
    files: dict[str, Path]
    method: str

    def to_dict(self) -> dict[str, object]:
        """For `--json`."""
        return {"deviceId": self.before.device_id, "method": self.method, "previousSerialHex": self.before.serial_hex,
                "serialHex": self.serial_hex, "notAfter": self.not_after.isoformat(),
                "folder": str(self.before.folder), "files": sorted(p.name for p in self.files.values())}


def _keystore_file(folder: Path) -> Path | None:
    return next((folder / n for n in _KEYSTORES if (folder / n).is_file()), None)


def _keystore_password(folder: Path, given: bytes | None) -> bytes | None:
    file = folder / KEYSTORE_PASSWORD_FILE
    if file.is_file():
        return file.read_text(encoding="utf-8").strip().encode()
    return given


def folder_identity(folder: Path, *, keystore_password: bytes | None = None,
                    key_password: bytes | None = None) -> tuple[ClientIdentity, str]:
    """The device's key and chain from its folder, and the keystore's alias ("" without a keystore): deviceKey.pem
    with deviceCertChain.pem, else the keystore (password from keystorePassword.txt or given).

    Raises:
        InvalidInputError: no key in the folder; PasswordError: a password is needed and was not given.
    """
    chain = tuple(x509.load_pem_x509_certificates((folder / "deviceCertChain.pem").read_bytes())) \
        if (folder / "deviceCertChain.pem").is_file() else (folder_certificate(folder),)
    store_file = _keystore_file(folder)
    alias = ""
    store_password = _keystore_password(folder, keystore_password)
    if store_file is not None and store_password is not None:
        store = read_store(store_file, store_password)
        entry = store.key_entries()[0] if store.key_entries() else None
        alias = entry.alias if entry is not None else ""
        if not (folder / "deviceKey.pem").is_file():
            return identity_from_store(store, alias or None), alias
    if (folder / "deviceKey.pem").is_file():
        key = load_private_key((folder / "deviceKey.pem").read_bytes(), key_password)
        return ClientIdentity(key, chain), alias
    if store_file is not None:
        raise PasswordError(f"The keystore '{store_file.name}' in '{folder}' needs its password",
                            ("There is no keystorePassword.txt beside it: give the keystore password (a fleet's "
                             "shared one).",))
    raise InvalidInputError(f"'{folder}' holds no device key", ("Expected deviceKey.pem or deviceKeystore.*.",))


def _naming(folder: Path) -> tuple[Naming, str | None]:
    store = _keystore_file(folder)
    if store is None:
        return DEVICE, None
    kind = "jks" if store.suffix == ".jks" else "pkcs12"
    return (ONBOARDING if store.name == "deviceKeystore.p12" else DEVICE), kind


def rewrite_folder(folder: Path, key: PrivateKey, chain: Sequence[x509.Certificate], *, alias: str = "",
                   keystore_password: bytes | None = None, key_password: bytes | None = None) -> dict[str, Path]:
    """Put a renewed chain into a device folder: the files it has (key PEM, certificate, chain, keystore) are
    rewritten atomically by the one bundle writer; the truststore and the password file stay as they are.

    Raises:
        PasswordError: the keystore's password is unknown.
    """
    naming, kind = _naming(folder)
    store_password = _keystore_password(folder, keystore_password)
    if kind is not None and store_password is None:
        raise PasswordError(f"The keystore in '{folder}' needs its password",
                            ("Give the keystore password (no keystorePassword.txt beside it).",))
    key_file = folder / naming.key
    encrypted = key_file.is_file() and b"ENCRYPTED" in key_file.read_bytes()[:200]
    spec = BundleSpec(naming, key_pem=key_file.is_file(), certificate_pem=(folder / naming.certificate).is_file(),
                      key_password=key_password if encrypted else None,
                      keystore=KeystoreOptions(kind, store_password, alias or "devicekeyentry") if kind else None)
    files = bundle_files(spec, key, chain)
    return write_files(folder, files)


def renew(item: KnownCertificate, request: RenewRequest) -> Renewed:
    """Renew one certificate by re-issue from the store (synchronous: the store and files are local).

    Re-enrollment talks to a platform: use `renew_async` (it handles both).

    Raises:
        InvalidInputError: it cannot be renewed (see `KnownCertificate.why_not`) or needs the platform.
        PasswordError: a CA, keystore or key password is missing or wrong.
    """
    if item.method != REISSUE:
        raise InvalidInputError(f"{item.device_id} ({item.serial_hex}) cannot be re-issued from the store",
                                (item.why_not or "It was issued by another CA: re-enroll it over EST.",))
    assert item.folder is not None and item.ca is not None
    if request.passwords is None:
        raise PasswordError(f"Re-issuing {item.device_id} needs the password of CA '{item.ca}'", ())
    identity, alias = folder_identity(item.folder, keystore_password=request.keystore_password,
                                      key_password=request.key_password)
    if not public_key_matches(identity.key, item.certificate.public_key()):  # type: ignore[arg-type]
        raise InvalidInputError(f"The key in '{item.folder}' does not belong to its certificate",
                                ("The folder was changed by hand; re-issue a new device instead.",))
    cert = item.certificate
    days = max(1, round((cert.not_valid_after_utc - cert.not_valid_before_utc).total_seconds() / 86400))
    _record, chain = certificates.issue_for_key(request.workspace, item.ca, item.device_id,
                                                identity.key.public_key(),  # type: ignore[arg-type]
                                                device_profile(validity_days=days), request.passwords)
    files = rewrite_folder(item.folder, identity.key, chain, alias=alias,  # type: ignore[arg-type]
                           keystore_password=request.keystore_password, key_password=request.key_password)
    return Renewed(item, chain[0], files, REISSUE)


async def reenroll(target: EstTarget, folder: Path, identity: ClientIdentity, *, token: str | None = None,
                   keystore_password: bytes | None = None) -> est.Enrolled:
    """Re-enroll a device over EST with its current key and refresh its folder: the one renewal step shared by
    `renew_async`, the demo's simulated device and the fleet simulator (`token`: a device token it already holds;
    without one it gets one over mTLS with the current certificate).

    Raises:
        PlatformRequestError / TlsError: the platform refused; PasswordError: the keystore password is unknown.
    """
    kind = _naming(folder)[1]
    password = _keystore_password(folder, keystore_password)
    if password is None:
        raise PasswordError(f"The keystore in '{folder}' needs its password",
                            ("Give the keystore password (no keystorePassword.txt beside it).",))
    output = est.DeviceFolder(folder, password, kind or "pkcs12", target.server_trust, replace=True)
    async with target.http() as http:
        return await est.reenroll(http, identity, output, token=token)


async def renew_async(item: KnownCertificate, request: RenewRequest) -> Renewed:
    """Renew one certificate: re-issue from the store, or re-enroll with the platform (EST).

    Raises:
        InvalidInputError: it cannot be renewed, or an EST device and no platform was given.
        PlatformRequestError / TlsError / PasswordError: as `renew` and `reenroll`.
    """
    if item.method == REISSUE:
        return renew(item, request)
    if item.method != REENROLL:
        raise InvalidInputError(f"{item.device_id} ({item.serial_hex}) cannot be renewed", (item.why_not,))
    if request.platform is None:
        raise InvalidInputError(f"{item.device_id} was issued by {item.issuer}, not by a CA of the store",
                                ("Re-enrollment needs the platform: --local or --url (GUI: start the local "
                                 "platform).",))
    assert item.folder is not None
    identity, _alias = folder_identity(item.folder, keystore_password=request.keystore_password,
                                      key_password=request.key_password)
    enrolled = await reenroll(request.platform, item.folder, identity, keystore_password=request.keystore_password)
    return Renewed(item, enrolled.certificate, enrolled.files, REENROLL)


async def renew_many(items: Sequence[KnownCertificate], request: RenewRequest,
                     on_progress: Callable[[int, int], None] = lambda _done, _total: None,
                     ) -> list[Renewed | WorkbenchError]:
    """Renew each in turn; one failure does not stop the others (its error takes its place in the list). The loop
    gets a turn between certificates (a GUI repaints, shows the progress)."""
    results: list[Renewed | WorkbenchError] = []
    for item in items:
        try:
            results.append(await renew_async(item, request))
        except WorkbenchError as exc:
            results.append(exc)
        on_progress(len(results), len(items))
        await asyncio.sleep(0)
    return results


def needs_keystore_password(item: KnownCertificate) -> bool:
    """Its folder has a keystore without keystorePassword.txt beside it (a fleet's shared password): renewal needs
    the password from the user."""
    folder = item.folder
    return folder is not None and _keystore_file(folder) is not None and not (folder / KEYSTORE_PASSWORD_FILE).is_file()


# --- renewal of a running device ----------------------------------------------------------------------------
def renewal_due(certificate: x509.Certificate, fraction: float, now: dt.datetime | None = None) -> bool:
    """A running device renews once this fraction of its certificate's validity has passed."""
    return est.validity_fraction(certificate, now) >= fraction


def check_fraction(fraction: float) -> float:
    """The renewal fraction, checked (0 < f < 1).

    Raises:
        InvalidInputError: outside that range.
    """
    if not 0 < fraction < 1:
        raise InvalidInputError(f"A renewal fraction of {fraction:g} is not usable",
                                ("Give a fraction of the validity between 0 and 1, e.g. 0.75.",))
    return fraction


__all__ = ["EstTarget", "KnownCertificate", "RenewRequest", "Renewed", "expiring",
           "find_certificates", "reenroll", "renew", "renew_async", "renew_many", "renewal_due"]
