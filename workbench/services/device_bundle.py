"""The device bundle in one home: a key, its certificate and chain, the keystores, the folder they go into, the
file names (server certificates ``server*``, devices ``device*``), their modes and the no-overwrite rule. `workbench
ca issue`, the certificate wizard, fleets, onboarding and the keystore page all compose their files here."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from workbench.core.files import write_atomic
from workbench.core.keystore import TRUST_ALIAS, build_device_keystore, build_truststore
from workbench.core.pki.fleet import DeviceMaker, DeviceRecord, KeystoreOptions
from workbench.core.pki.fleet_ids import DeviceEntry
from workbench.core.pki.keys import PrivateKey, dump_private_key_pem
from workbench.core.pki.profiles import ProfileKind
from workbench.errors import InvalidInputError, KeystoreError, WorkbenchError

PRIVATE = 0o600  # keys, keystores and password files: never readable by others, from the first byte
PUBLIC = 0o644
KEYSTORE_PASSWORD_FILE = "keystorePassword.txt"
FileSet = Mapping[str, tuple[bytes, int]]  # file name -> (content, mode)


@dataclass(frozen=True)
class Naming:
    """How a bundle's files are called: ``<prefix>Key.pem``, ``<prefix>Cert.pem``, ``<prefix>CertChain.pem``,
    ``<prefix>Keystore.<suffix>`` and ``<truststore>.<suffix>``."""

    prefix: str = "device"
    suffixes: Mapping[str, str] = field(default_factory=lambda: {"pkcs12": "pkcs12", "jks": "jks"})
    truststore_stem: str = ""  # "": <prefix>Truststore

    @property
    def key(self) -> str:
        """The private key PEM."""
        return f"{self.prefix}Key.pem"

    @property
    def certificate(self) -> str:
        """The certificate PEM."""
        return f"{self.prefix}Cert.pem"

    @property
    def chain(self) -> str:
        """Leaf first, each certificate followed by its signer."""
        return f"{self.prefix}CertChain.pem"

    def keystore(self, kind: str) -> str:
        """The key and chain as a keystore of ``kind`` (pkcs12 or jks)."""
        return f"{self.prefix}Keystore.{self._suffix(kind)}"

    def truststore(self, kind: str) -> str:
        """The trusted server (or CA) certificates as a truststore of ``kind``."""
        return f"{self.truststore_stem or self.prefix + 'Truststore'}.{self._suffix(kind)}"

    def _suffix(self, kind: str) -> str:
        if kind not in self.suffixes:
            raise InvalidInputError(f"Unknown keystore type '{kind}'", ("Choose pkcs12 or jks.",))
        return self.suffixes[kind]


DEVICE = Naming("device")
SERVER = Naming("server")
# The onboarding flow's folder (and the keystore page's device stores): deviceKeystore.p12 beside truststore.p12.
ONBOARDING = Naming("device", {"pkcs12": "p12", "jks": "jks"}, "truststore")


def naming_for(kind: ProfileKind) -> Naming:
    """Server certificates are named ``server*``, everything else ``device*``."""
    return SERVER if kind is ProfileKind.SERVER else DEVICE


@dataclass(frozen=True)
class BundleSpec:
    """Which files a bundle has besides the chain, and how they are protected."""

    naming: Naming = DEVICE
    key_pem: bool = True
    certificate_pem: bool = True
    key_password: bytes | None = field(default=None, repr=False)
    keystore: KeystoreOptions | None = None
    trust: tuple[x509.Certificate, ...] = ()  # certificates for a truststore made with the keystore's password
    truststore: bytes = b""  # or a ready-made truststore (see ``truststore``), written unchanged (fleets)
    truststore_kind: str = "pkcs12"
    password_file: bool = False  # the keystore password beside it in keystorePassword.txt

    @property
    def store_password(self) -> bytes | None:
        """The keystore's password: its own, else the key's."""
        return (self.keystore.password if self.keystore else None) or self.key_password

    def names(self) -> dict[str, str]:
        """What each part is called in the folder (part -> file name), before anything is written."""
        n = self.naming
        names = {"key": n.key} if self.key_pem else {}
        if self.certificate_pem:
            names["certificate"] = n.certificate
        names["chain"] = n.chain
        if self.keystore is not None:
            names["keystore"] = n.keystore(self.keystore.kind)
            if self.keystore.per_device_password or self.password_file:
                names["keystore_password"] = KEYSTORE_PASSWORD_FILE
        if self.truststore or self.trust:
            names["truststore"] = n.truststore(self.truststore_kind)
        return names

    def check(self) -> None:
        """Refuse a keystore nobody can open before any key is made.

        Raises:
            KeystoreError: a keystore or truststore without any password.
        """
        wants_store = self.keystore is not None or bool(self.trust)
        per_device = self.keystore is not None and self.keystore.per_device_password
        if wants_store and not (self.store_password or per_device):
            raise KeystoreError("A keystore needs a password",
                                ("keytool reports an unprotected PKCS#12 as failing its integrity check.",
                                 "Give a keystore password, or a key password to reuse."))


def truststore(certificates: Sequence[x509.Certificate], password: bytes, kind: str = "pkcs12",
               alias: str = TRUST_ALIAS) -> bytes:
    """The bundle's truststore: the certificates a device trusts, under the guide's alias servercertificate."""
    return build_truststore(list(certificates), password, kind, alias)


def bundle_files(spec: BundleSpec, key: PrivateKey, chain: Sequence[x509.Certificate]) -> dict[str, tuple[bytes, int]]:
    """The bundle's files (name -> content, mode) for a key and its chain, leaf first: the one composer."""
    names = spec.names()
    pem = serialization.Encoding.PEM
    files: dict[str, tuple[bytes, int]] = {}
    if "key" in names:
        files[names["key"]] = (dump_private_key_pem(key, spec.key_password), PRIVATE)
    if "certificate" in names:
        files[names["certificate"]] = (chain[0].public_bytes(pem), PUBLIC)
    files[names["chain"]] = (b"".join(c.public_bytes(pem) for c in chain), PUBLIC)
    options = spec.keystore
    if options is not None:
        password = spec.store_password or b""
        if options.per_device_password:
            password = secrets.token_urlsafe(18).encode()
        if "keystore_password" in names:
            files[names["keystore_password"]] = (password + b"\n", PRIVATE)
        files[names["keystore"]] = (build_device_keystore(key, list(chain), password, options.kind,
                                                          alias=options.alias), PRIVATE)
    if spec.trust:
        files[names["truststore"]] = (truststore(spec.trust, spec.store_password or b"", spec.truststore_kind), PUBLIC)
    elif spec.truststore:
        files[names["truststore"]] = (spec.truststore, PUBLIC)
    return files


def check_folder_free(folder: Path, naming: Naming) -> None:
    """The no-overwrite rule: a folder may take a bundle only when it holds no file of that bundle's kind.

    Raises:
        InvalidInputError: the path is a file, or the folder already holds ``<prefix>*`` files.
    """
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(f"'{folder}' is not a folder", ("Choose a folder for the files.",))
    taken = sorted(p.name for p in folder.glob(f"{naming.prefix}*") if p.is_file()) if folder.is_dir() else []
    if taken:
        raise InvalidInputError(f"The folder '{folder}' already holds {', '.join(taken)}",
                                ("Choose an empty folder: an existing key is never overwritten.",))


def write_new_folder(folder: Path, files: FileSet, *, sync: bool = False) -> None:
    """Create a new bundle folder and its files with their final modes from the start (keys never world-readable).

    The folder must not exist: fleets are written into a fresh staging folder that is synced and renamed as a
    whole once complete, so each file needs neither its own temp-and-rename nor (by default) its own fsync.

    Raises:
        WorkbenchError: the folder exists or cannot be written.
    """
    try:
        folder.mkdir()
        for name, (data, mode) in files.items():
            fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                if sync:
                    handle.flush()
                    os.fsync(handle.fileno())
    except OSError as exc:
        raise WorkbenchError(f"Cannot write the device folder '{folder}'",
                             (exc.strerror or str(exc), "Check free disk space and permissions.")) from exc


def write_files(folder: Path, files: FileSet) -> dict[str, Path]:
    """Write a bundle into a folder that may already hold one, file by file atomically (the onboarding flow's
    folder, which a rerun for the same device refreshes); each file gets its mode from its first byte."""
    return {name: write_atomic(folder / name, data, mode=mode) for name, (data, mode) in files.items()}


def fleet_spec(maker: DeviceMaker) -> BundleSpec:
    """The bundle every device of a fleet gets, from the fleet's template."""
    template = maker.template
    return BundleSpec(DEVICE, key_password=template.key_password, keystore=template.keystore,
                      truststore=template.truststore, truststore_kind=template.truststore_kind)


def make_fleet_device(maker: DeviceMaker, entry: DeviceEntry, serial: int, folder: Path, *,
                      sync: bool = False) -> DeviceRecord:
    """Issue one fleet device and write its folder ``folder/<id>``: the unit of work a fleet worker repeats."""
    device = maker.issue(entry, serial)
    files = bundle_files(fleet_spec(maker), device.key, [device.certificate, *maker.chain])
    write_new_folder(folder / entry.device_id, files, sync=sync)
    cert = device.certificate
    return DeviceRecord(entry.device_id, cert.serial_number, cert.fingerprint(hashes.SHA1()).hex().upper(),
                        cert.not_valid_after_utc.isoformat(), tuple(files),
                        cert.public_bytes(serialization.Encoding.DER))
