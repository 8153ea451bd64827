"""The CA verbs in one home (create a root or intermediate, import, issue, sign a CSR, revoke, CRL, export, list):
`workbench ca ...` and the GUI call these with plain requests and an injected password prompt, and differ only in
how they ask and show."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from workbench.core.files import read_input_file, write_atomic
from workbench.core.pki.certio import load_certificates, load_csr
from workbench.core.pki.fleet import KeystoreOptions
from workbench.core.pki.issuance import Issuer
from workbench.core.pki.keys import KeySpec, PrivateKey, PublicKey
from workbench.core.pki.openssl_export import export_openssl
from workbench.core.pki.profiles import CertificateProfile
from workbench.core.pki.store import CARecord, CAStore, IssuedRecord, certificate_status
from workbench.errors import InvalidInputError, WorkbenchError
from workbench.services.ca_passwords import CAPasswords
from workbench.services.device_bundle import BundleSpec, bundle_files, check_folder_free, naming_for
from workbench.services.staged_output import clean_leftovers, issue_to_folder, recover_jobs

__all__ = ["CARecord", "IssuedRecord", "certificate_status"]  # the store's records, as the pages show them
MAX_CN_LENGTH = 64  # X.520 ub-common-name


# --- what the store holds -----------------------------------------------------------------------------------
def cas(workspace: Path) -> list[CARecord]:
    """The store's CAs, roots first, then intermediates by creation."""
    with CAStore(workspace) as store:
        return store.cas()


def ca_names(workspace: Path) -> list[str]:
    """The store's CA names, roots first."""
    return [record.name for record in cas(workspace)]


def ca_certificates(workspace: Path) -> list[x509.Certificate]:
    """The CA certificates: the pool chains are completed from, and the anchors they are verified with."""
    return [record.certificate for record in cas(workspace)]


def ca_certificate(workspace: Path, name: str) -> x509.Certificate:
    """One CA's certificate (e.g. to upload it to the platform)."""
    with CAStore(workspace) as store:
        return store.ca(name).certificate


def listing(workspace: Path, needle: str = "") -> tuple[list[CARecord], list[IssuedRecord]]:
    """The CAs and the issued certificates (those matching ``needle`` when one is given)."""
    with CAStore(workspace) as store:
        return store.cas(), (store.search(needle) if needle else store.certificates())


def issued_common_names(workspace: Path) -> dict[str, IssuedRecord]:
    """CN -> the issued, unrevoked certificate carrying it (duplicates are checked against this)."""
    with CAStore(workspace) as store:
        return {r.cn: r for r in store.certificates() if r.cn and r.revoked_at is None}


def device_chain(workspace: Path, common_name: str) -> list[x509.Certificate]:
    """The newest certificate issued with this CN and its chain up to the root ([] when there is none)."""
    with CAStore(workspace) as store:
        issued = [r for r in store.search(common_name) if r.cn == common_name]
        return [issued[-1].certificate, *store.chain(issued[-1].ca)] if issued else []


def unlock(workspace: Path, name: str, passwords: CAPasswords) -> tuple[Issuer, list[x509.Certificate]]:
    """A CA's key and certificate, and its chain (itself first): to sign a PoP code or add it to a keystore.

    Raises:
        PasswordError: the password does not open the key.
    """
    password = passwords(name)
    with CAStore(workspace) as store:
        issuer, chain = store.issuer(name, password), store.chain(name)
    passwords.worked(name, password)
    return issuer, chain


def preview_extensions(workspace: Path, profile: CertificateProfile, parent: str | None,
                       subject_key: object | None = None) -> list[tuple[x509.ExtensionType, bool]]:
    """The profile's extension set for a summary, with a stand-in subject key when the real one does not exist."""
    key = subject_key or ec.generate_private_key(ec.SECP256R1()).public_key()
    issuer_key = ca_certificate(workspace, parent).public_key() if parent else key
    return profile.extensions(key, issuer_key)  # type: ignore[arg-type]


# --- CAs ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NewCA:
    """A root (no parent) or an intermediate CA to create; the parent's password comes from the prompt."""

    subject: x509.Name
    key_spec: KeySpec
    profile: CertificateProfile
    password: bytes | None = field(repr=False)
    plaintext: bool = False
    parent: str | None = None
    name: str | None = None  # the name in the store (default: the CN)


def create_ca(workspace: Path, request: NewCA, passwords: CAPasswords) -> CARecord:
    """`workbench ca init` or `workbench ca intermediate`."""
    parent_password = passwords(request.parent) if request.parent is not None else None
    with CAStore(workspace) as store:
        if request.parent is None:
            record = store.init_root(request.subject, request.password, key_spec=request.key_spec,
                                     name=request.name, profile=request.profile, allow_plaintext=request.plaintext)
        else:
            record = store.create_intermediate(request.parent, parent_password, request.subject, request.password,
                                               key_spec=request.key_spec, name=request.name, profile=request.profile,
                                               allow_plaintext=request.plaintext)
    if request.parent is not None:
        passwords.worked(request.parent, parent_password)
    passwords.worked(record.name, request.password)
    return record


@dataclass(frozen=True)
class ImportedCA:
    """A CA made elsewhere (e.g. with the guide's openssl commands), with its key."""

    certificate: x509.Certificate
    key: PrivateKey = field(repr=False)
    password: bytes | None = field(repr=False)  # for the key inside the store
    plaintext: bool = False
    parent: str | None = None
    name: str | None = None


def import_ca(workspace: Path, request: ImportedCA) -> CARecord:
    """`workbench ca import`."""
    with CAStore(workspace) as store:
        return store.import_ca(request.certificate, request.key, request.password, parent=request.parent,
                               name=request.name, allow_plaintext=request.plaintext)


# --- device and server certificates -------------------------------------------------------------------------
@dataclass(frozen=True)
class NewLeaf:
    """A device or server certificate with a new key, and the bundle to write into ``out_dir``."""

    ca: str
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
    """What issuing or signing produced: the store record, the files written (part -> path) and repair notes."""

    record: IssuedRecord
    files: dict[str, Path]
    notes: tuple[str, ...] = ()


def leaf_subject(common_name: str) -> x509.Name:
    """The subject of a leaf: the CN alone, taken literally (',', '+' and '=' are part of it, not syntax).

    Raises:
        InvalidInputError: the CN is empty or longer than 64 characters.
    """
    if not common_name or len(common_name) > MAX_CN_LENGTH:
        raise InvalidInputError(f"'{common_name[:20]}' is not a usable common name",
                                (f"A CN has 1 to {MAX_CN_LENGTH} characters.",))
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def bundle_spec(request: NewLeaf) -> BundleSpec:
    """The bundle a leaf request asks for: ``server*`` or ``device*`` files, keystore and truststore if asked."""
    trust = load_certificates(read_input_file(request.truststore_cert, "truststore certificate"),
                              "truststore certificate") if request.truststore_cert else []
    keystore = KeystoreOptions(request.keystore, request.keystore_password) if request.keystore else None
    return BundleSpec(naming_for(request.profile.kind), key_password=request.key_password, keystore=keystore,
                      trust=tuple(trust), truststore_kind=request.keystore or "pkcs12")


def repair(store: CAStore, out_dir: Path) -> tuple[str, ...]:
    """Finish the store's interrupted jobs and clean partial folders beside ``out_dir``; one note per action."""
    lines = recover_jobs(store)
    lines += clean_leftovers(out_dir.absolute().parent, stores=[store])
    return tuple(lines)


def issue_leaf(workspace: Path, request: NewLeaf, passwords: CAPasswords) -> Issued:
    """`workbench ca issue`: a new key, its certificate, chain (and keystore, truststore) in a folder that holds
    no bundle of the same kind yet; the folder and the store's record appear together or not at all."""
    subject = leaf_subject(request.common_name)
    spec = bundle_spec(request)
    spec.check()
    password = passwords(request.ca)
    with CAStore(workspace) as store:
        notes = repair(store, request.out_dir)
        check_folder_free(request.out_dir, spec.naming)
        key = request.key_spec.generate()
        record, paths = issue_to_folder(store, request.ca, password, subject, key.public_key(), request.profile,
                                        request.out_dir, lambda _cert, chain: bundle_files(spec, key, chain))
    passwords.worked(request.ca, password)
    return Issued(record, {part: paths[name] for part, name in spec.names().items()}, notes)


def issue_for_key(workspace: Path, ca: str, common_name: str, public_key: PublicKey, profile: CertificateProfile,
                  passwords: CAPasswords) -> tuple[IssuedRecord, list[x509.Certificate]]:
    """Sign a certificate for a key the caller holds and writes itself (the onboarding flow refreshes its device
    folder on a rerun): the store's record and the chain, leaf first, up to the root.

    Raises:
        PasswordError: the CA password does not open its key; InvalidInputError: an unusable common name.
    """
    subject = leaf_subject(common_name)
    password = passwords(ca)
    with CAStore(workspace) as store:
        record = store.issue(ca, password, subject, public_key, profile)
        chain = [record.certificate, *store.chain(ca)]
    passwords.worked(ca, password)
    return record, chain


@dataclass(frozen=True)
class CsrSigning:
    """An external CSR to sign under a profile, and where the certificate goes (PEM)."""

    ca: str
    csr: Path
    profile: CertificateProfile
    out: Path


def read_csr(path: Path) -> x509.CertificateSigningRequest:
    """An external CSR, PEM or DER."""
    return load_csr(read_input_file(path, "CSR"))


def sign_csr(workspace: Path, request: CsrSigning, passwords: CAPasswords) -> Issued:
    """`workbench ca sign-csr`: the request's subject and key under the profile's extensions, written as PEM."""
    csr = read_csr(request.csr)
    password = passwords(request.ca)
    with CAStore(workspace) as store:
        record = store.sign_csr(request.ca, password, csr, request.profile)
        try:
            path = write_atomic(request.out, record.certificate.public_bytes(serialization.Encoding.PEM))
        except WorkbenchError:
            store.forget_issued(request.ca, record.serial)  # the certificate never left this process
            raise
    passwords.worked(request.ca, password)
    return Issued(record, {"certificate": path})


# --- revocation, CRLs, export -------------------------------------------------------------------------------
def parse_serial(text: str) -> int:
    """A serial as `workbench ca list` and the Certificates page show it (hex, with or without 0x).

    Raises:
        InvalidInputError: not a hex number.
    """
    try:
        return int(text.strip().removeprefix("0x").removeprefix("0X"), 16)
    except ValueError as exc:
        raise InvalidInputError(f"'{text}' is not a hex serial", ("Copy it from 'workbench ca list'.",)) from exc


def revoke(workspace: Path, ca: str, serial: int, reason: str = "unspecified") -> IssuedRecord:
    """Mark a certificate revoked; the next CRL lists it."""
    with CAStore(workspace) as store:
        return store.revoke(ca, serial, reason)


def write_crl(workspace: Path, ca: str, out: Path, passwords: CAPasswords,
              days: int = 30) -> x509.CertificateRevocationList:
    """Sign the CA's next CRL and write it as PEM (what `openssl ca -gencrl` gives)."""
    password = passwords(ca)
    with CAStore(workspace) as store:
        crl = store.generate_crl(ca, password, days=days)
    passwords.worked(ca, password)
    write_atomic(out, crl.public_bytes(serialization.Encoding.PEM))
    return crl


def crl_number(crl: x509.CertificateRevocationList) -> int:
    """The CRL's number, as a report shows it."""
    return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def export_layout(workspace: Path, ca: str, folder: Path, passwords: CAPasswords) -> Path:
    """The guide's caCertificate folder (certs, crl, newcerts, private, index.txt, serial, openssl.cnf); the
    prompt is asked for the CA and for every intermediate below it (a KeyError from it: that one was not given,
    and the export says which it needs)."""
    password = passwords(ca)
    with CAStore(workspace) as store:
        below: dict[str, bytes | None] = {}
        for record in store.cas():  # parents come before their children
            if record.parent == ca or record.parent in below:
                try:
                    below[record.name] = passwords(record.name)
                except KeyError:
                    continue
        written = export_openssl(store, ca, password, folder, intermediate_passwords=below)
    passwords.worked(ca, password)
    return written
