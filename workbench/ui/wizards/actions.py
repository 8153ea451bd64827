"""The verbs behind the certificate wizard and the fleet dialog, Qt-free so they run on a worker thread and in tests.

Each takes plain values, calls the CA store and the core exactly as `workbench ca ...` and `workbench fleet issue`
do, and keeps a CA key password that worked in the keyring (the slot onboarding and PoP read).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from workbench.core.files import read_input_file, write_atomic
from workbench.core.keystore import build_device_keystore, build_truststore
from workbench.core.pki.certio import load_certificates, load_csr
from workbench.core.pki.fleet import FleetTemplate, KeystoreOptions
from workbench.core.pki.fleet_ids import DeviceEntry, ids_from_pattern, parse_ids_csv
from workbench.core.pki.keys import KeySpec, dump_private_key_pem
from workbench.core.pki.profiles import CertificateProfile, ProfileKind, device_profile
from workbench.core.pki.store import CARecord, CAStore, IssuedRecord
from workbench.core.profiles.secrets import SecretStore
from workbench.errors import InvalidInputError, KeystoreError
from workbench.services.ca_passwords import remember_ca_password, stored_ca_password
from workbench.services.fleet import FleetProgress, FleetRequest, FleetResult, issue_fleet
from workbench.services.staged_output import StoreJournal, clean_leftovers, issue_to_folder, recover_jobs

KEYSTORE_SUFFIX = {"pkcs12": "pkcs12", "jks": "jks"}  # the guide's deviceKeystore.pkcs12 / deviceKeystore.jks


# --- keyring ---------------------------------------------------------------------------------------------------
def ca_password(name: str, typed: str, secrets: SecretStore | None = None) -> bytes | None:
    """A typed password wins; otherwise the keyring's."""
    return (typed or stored_ca_password(name, secrets) or "").encode() or None


# --- store queries ---------------------------------------------------------------------------------------------
def ca_names(workspace: Path) -> list[str]:
    """The store's CAs, roots first."""
    with CAStore(workspace) as store:
        return [record.name for record in store.cas()]


def issued_common_names(workspace: Path) -> dict[str, IssuedRecord]:
    """CN -> the issued, unrevoked certificate carrying it (duplicates are checked against this)."""
    with CAStore(workspace) as store:
        return {r.cn: r for r in store.certificates() if r.cn and r.revoked_at is None}


def preview_extensions(workspace: Path, profile: CertificateProfile, parent: str | None,
                       subject_key: object | None = None) -> list[tuple[x509.ExtensionType, bool]]:
    """The profile's extension set for the summary, with a stand-in subject key when the real one does not exist."""
    key = subject_key or ec.generate_private_key(ec.SECP256R1()).public_key()
    issuer_key = key
    if parent:
        with CAStore(workspace) as store:
            issuer_key = store.ca(parent).certificate.public_key()
    return profile.extensions(key, issuer_key)  # type: ignore[arg-type]


# --- CAs -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NewCA:
    """A root (no parent) or an intermediate CA to create."""

    subject: x509.Name
    key_spec: KeySpec
    profile: CertificateProfile
    password: bytes | None = field(repr=False)
    plaintext: bool = False
    parent: str | None = None
    parent_password: bytes | None = field(default=None, repr=False)


def create_ca(workspace: Path, request: NewCA, secrets: SecretStore | None = None) -> CARecord:
    """`workbench ca init` or `workbench ca intermediate`; the new key's password goes to the keyring."""
    with CAStore(workspace) as store:
        if request.parent is None:
            record = store.init_root(request.subject, request.password, key_spec=request.key_spec,
                                     profile=request.profile, allow_plaintext=request.plaintext)
        else:
            record = store.create_intermediate(request.parent, request.parent_password, request.subject,
                                               request.password, key_spec=request.key_spec, profile=request.profile,
                                               allow_plaintext=request.plaintext)
            remember_ca_password(request.parent, request.parent_password, secrets)
    remember_ca_password(record.name, request.password, secrets)
    return record


# --- device and server certificates ----------------------------------------------------------------------------
@dataclass(frozen=True)
class NewLeaf:
    """A device or server certificate with a new key, and the files to write."""

    ca: str
    ca_password: bytes | None = field(repr=False)
    common_name: str
    profile: CertificateProfile
    key_spec: KeySpec
    key_password: bytes | None = field(repr=False)
    out_dir: Path
    keystore: str | None = None  # "pkcs12" | "jks"
    keystore_password: bytes | None = field(default=None, repr=False)
    truststore_cert: Path | None = None


@dataclass(frozen=True)
class Issued:
    """What a leaf or CSR signing produced: the store record and the files written."""

    record: IssuedRecord
    files: dict[str, Path]


def _check_leaf(request: NewLeaf) -> tuple[str, list[x509.Certificate]]:
    prefix = "server" if request.profile.kind is ProfileKind.SERVER else "device"
    trusted = load_certificates(read_input_file(request.truststore_cert, "truststore certificate"),
                                "truststore certificate") if request.truststore_cert else []
    if (request.keystore or trusted) and not (request.keystore_password or request.key_password):
        raise KeystoreError("A keystore needs a password",
                            ("keytool reports an unprotected PKCS#12 as failing its integrity check.",
                             "Give a keystore password, or a key password to reuse."))
    if request.out_dir.exists() and not request.out_dir.is_dir():
        raise InvalidInputError(f"'{request.out_dir}' is not a folder", ("Choose a folder for the files.",))
    taken = [p.name for p in request.out_dir.glob(f"{prefix}*") if p.is_file()] if request.out_dir.is_dir() else []
    if taken:
        raise InvalidInputError(f"The folder '{request.out_dir}' already holds {', '.join(sorted(taken))}",
                                ("Choose an empty folder: an existing key is never overwritten.",))
    return prefix, trusted


def issue_leaf(workspace: Path, request: NewLeaf, secrets: SecretStore | None = None) -> Issued:
    """`workbench ca issue`: new key, signed certificate, chain, and the guide's keystore and truststore if asked."""
    prefix, trusted = _check_leaf(request)
    key = request.key_spec.generate()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, request.common_name)])
    names = {"key": f"{prefix}Key.pem", "certificate": f"{prefix}Cert.pem", "chain": f"{prefix}CertChain.pem"}
    store_password = request.keystore_password or request.key_password or b""
    if request.keystore:
        names["keystore"] = f"{prefix}Keystore.{KEYSTORE_SUFFIX[request.keystore]}"
    kind = request.keystore or "pkcs12"
    if trusted:
        names["truststore"] = f"{prefix}Truststore.{KEYSTORE_SUFFIX[kind]}"

    def files(cert: x509.Certificate, chain: list[x509.Certificate]) -> dict[str, tuple[bytes, int]]:
        pem = serialization.Encoding.PEM
        content = {names["key"]: (dump_private_key_pem(key, request.key_password), 0o600),
                   names["certificate"]: (cert.public_bytes(pem), 0o644),
                   names["chain"]: (b"".join(c.public_bytes(pem) for c in chain), 0o644)}
        if request.keystore:
            content[names["keystore"]] = (build_device_keystore(key, chain, store_password, request.keystore), 0o600)
        if trusted:
            content[names["truststore"]] = (build_truststore(trusted, store_password, kind), 0o644)
        return content

    with CAStore(workspace) as store:
        # files first (staged), then the record, then the rename: a failed write leaves no record and no files
        record, paths = issue_to_folder(store, request.ca, request.ca_password, subject, key.public_key(),
                                        request.profile, request.out_dir, files)
    remember_ca_password(request.ca, request.ca_password, secrets)
    return Issued(record, {what: paths[name] for what, name in names.items()})


def sign_csr_file(workspace: Path, ca: str, password: bytes | None, csr_path: Path, profile: CertificateProfile,
                  out: Path, secrets: SecretStore | None = None) -> Issued:
    """`workbench ca sign-csr`: the request's subject and key under the profile's extensions, written as PEM."""
    csr = load_csr(read_input_file(csr_path, "CSR"))
    with CAStore(workspace) as store:
        record = store.sign_csr(ca, password, csr, profile)
    remember_ca_password(ca, password, secrets)
    path = write_atomic(out, record.certificate.public_bytes(serialization.Encoding.PEM))
    return Issued(record, {"certificate": path})


def read_csr(path: Path) -> x509.CertificateSigningRequest:
    """An external CSR, PEM or DER."""
    return load_csr(read_input_file(path, "CSR"))


# --- fleets ----------------------------------------------------------------------------------------------------
def fleet_devices(count: int, pattern: str, csv_path: Path | None) -> list[DeviceEntry]:
    """The fleet's ids: from a CSV when one is given, else ``count`` ids from the pattern."""
    if csv_path is not None:
        return parse_ids_csv(read_input_file(csv_path, "CSV of ids"), f"'{csv_path.name}'")
    return ids_from_pattern(pattern, count)


@dataclass(frozen=True)
class FleetOrder:
    """A fleet run from the dialog: the CA of the store, the devices, the key and keystore choices, the folder."""

    ca: str
    ca_password: bytes | None = field(repr=False)
    devices: Sequence[DeviceEntry]
    key_spec: KeySpec
    key_password: bytes | None = field(repr=False)
    out_dir: Path
    keystore: str | None = None
    keystore_password: bytes | None = field(default=None, repr=False)
    jobs: int | None = None


def run_fleet(workspace: Path, order: FleetOrder, progress: Callable[[FleetProgress], None] | None = None,
              cancel: threading.Event | None = None, secrets: SecretStore | None = None) -> FleetResult:
    """`workbench fleet issue --ca`: serials from the store, every device recorded there before it is published."""
    with CAStore(workspace) as store:
        issuer = store.issuer(order.ca, order.ca_password)
        keystore = None
        if order.keystore:
            keystore = KeystoreOptions(kind=order.keystore, password=order.keystore_password or order.key_password)
        template = FleetTemplate.for_issuer(issuer, store.chain(order.ca)[1:], key_spec=order.key_spec,
                                            profile=device_profile(), key_password=order.key_password,
                                            keystore=keystore)
        recover_jobs(store)  # an interrupted earlier run: finish or roll back its job first
        clean_leftovers(order.out_dir.absolute().parent, stores=[store])
        request = FleetRequest(template, order.devices, order.out_dir, jobs=order.jobs,
                               serials=lambda n: store.reserve_serials(order.ca, n),
                               journal=StoreJournal(store, order.ca))
        result = issue_fleet(request, progress=progress, cancel=cancel)
    remember_ca_password(order.ca, order.ca_password, secrets)
    return result
