"""The keystore verbs in one home: open a keystore (format from its bytes, password asked, clear errors), save it
atomically with a `.bak`, create one, convert PKCS#12 ⇄ JKS, export a certificate, chain or key (0600, encrypted),
trust a certificate from a file or a server, and write the device keystore + truststore. `workbench keystore ...`,
`workbench truststore ...` and the Keystores page call these with plain requests and an injected password prompt,
and differ only in how they ask and show. The pure model transforms stay in `core/keystore/operations.py`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from cryptography import x509

from workbench.core.files import read_input_file, write_atomic
from workbench.core.keystore import operations
from workbench.core.keystore.codec import load_keystore
from workbench.core.keystore.detect import detect_format, needs_password
from workbench.core.keystore.model import DEVICE_ALIAS, TRUST_ALIAS, Keystore, PrivateKeyEntry, StoreKind
from workbench.core.keystore.operations import Change, add_key_pair, add_trusted, convert_store
from workbench.core.keystore.pem import split_pem
from workbench.core.keystore.pkcs12 import Pkcs12Options
from workbench.core.pki.certio import load_certificates
from workbench.core.pki.fleet import KeystoreOptions
from workbench.core.pki.keys import PrivateKey, load_private_key
from workbench.core.tls import anchor_remark
from workbench.errors import InvalidInputError, KeystoreError, KeystorePasswordError
from workbench.services import device_bundle
from workbench.services.tls_fetch import fetch_server_chain

PasswordPrompt = Callable[[str, bool], bytes | None]
"""Asked with a label ("Store password of 'ks.p12'") and whether the password is a new one (confirm it); returns the
password, or None when the user cancels. The CLI reads --X-file/--X-env or a terminal, the page a dialog."""

KEY_FILE_MODE = 0o600  # exported keys and every keystore: never readable by others
PUBLIC_FILE_MODE = 0o644
WRITABLE = (StoreKind.PKCS12, StoreKind.JKS)
PARTS = {"cert": "cert", "certificate": "cert", "chain": "chain", "key": "key"}


def never_ask(_label: str, _new: bool) -> bytes | None:
    """The prompt for callers that hold every password already: nothing is asked (a missing one is an error)."""
    return None


# --- open and save ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OpenStore:
    """A keystore file to open; without ``password`` the prompt is asked (again after a wrong one if ``ask_again``)."""

    path: Path
    password: bytes | None = field(default=None, repr=False)
    key_password: bytes | None = field(default=None, repr=False)  # a JKS key sealed by its own password
    ask_again: bool = False


@dataclass(frozen=True)
class Opened:
    """An open keystore, the password that opened it (empty for a PEM bundle that needed none), and its file."""

    store: Keystore
    password: bytes = field(repr=False)
    path: Path


def open_store(request: OpenStore, prompt: PasswordPrompt,
               on_wrong: Callable[[KeystorePasswordError], None] | None = None) -> Opened | None:
    """Open a keystore of any format (detected from its bytes, never from the name); None when the prompt is
    cancelled. A wrong asked-for password goes to ``on_wrong`` and is asked again when the request says so.

    Raises:
        InvalidInputError: the file is missing or unreadable.
        KeystorePasswordError / KeystoreOpenError / UnsupportedFormatError: wrong password, damaged or garbage file.
    """
    password = request.password
    if password is None and not _detect_before_asking(request.path):
        # a PEM bundle whose key is not encrypted (or that holds certificates only): nothing to ask
        store = operations.read_store(request.path, None, key_passwords=request.key_password)
        return Opened(store, b"", request.path)
    label = f"Store password of '{request.path.name}'"
    while True:
        asked = password is None
        if password is None:
            password = prompt(label, False)
            if password is None:
                return None
        try:
            store = operations.read_store(request.path, password, key_passwords=request.key_password)
        except KeystorePasswordError as exc:
            if not (asked and request.ask_again):
                raise
            if on_wrong is not None:
                on_wrong(exc)
            password = None
            label = f"The password was wrong; try again. Store password of '{request.path.name}'"
            continue
        return Opened(store, password, request.path)


def _detect_before_asking(path: Path) -> bool:
    """Read the file and tell its format from the bytes, so a file that is no keystore is refused at once; True when
    the format needs a password to open (an unencrypted PEM bundle does not).

    Raises:
        InvalidInputError: the file is missing or unreadable.
        UnsupportedFormatError: empty or not a keystore format we read.
    """
    data = operations.read_store_bytes(path)
    return needs_password(data, detect_format(data, f"'{path.name}'"))


def load_bytes(data: bytes, password: bytes | None, what: str = "The file") -> Keystore:
    """A keystore already in memory (a self-test round trip, a CA key kept in a PKCS#12), any format.

    Raises:
        KeystorePasswordError / KeystoreOpenError / UnsupportedFormatError: as ``open_store``.
    """
    return load_keystore(data, password, key_passwords=password, what=what)


@dataclass(frozen=True)
class SaveStore:
    """A store to write: where, with which password and format; ``replace`` False refuses an existing file."""

    path: Path
    store: Keystore
    password: bytes = field(repr=False)
    kind: StoreKind | None = None  # None: the store's own
    legacy: bool = False  # PKCS#12 with 3DES + SHA-1 for old Java and Windows
    replace: bool = True


@dataclass(frozen=True)
class Saved:
    """What was written: the file, its format and its aliases."""

    path: Path
    kind: StoreKind
    aliases: tuple[str, ...]


def refuse_existing(path: Path) -> None:
    """A new store never silently replaces a file.

    Raises:
        KeystoreError: the file exists.
    """
    if path.exists():
        raise KeystoreError(f"'{path}' already exists",
                            ("Add to it instead, or replace it on purpose (the old file is kept as .bak).",))


def save_store(request: SaveStore) -> Saved:
    """Write atomically (temp file, fsync, rename, mode 0600), keeping the previous file as `.bak` once; the bytes
    are read back before the rename, so a failure never replaces a good file.

    Raises:
        KeystoreError: the file exists and may not be replaced; InvalidInputError: a read-only format or no password;
        WorkbenchError: the store cannot be written in that format, or the folder is not writable.
    """
    if not request.replace:
        refuse_existing(request.path)
    kind = request.kind or request.store.kind
    if kind not in WRITABLE:
        raise InvalidInputError(f"A {kind.label} store is read-only here",
                                ("Convert it to PKCS#12 or JKS, then save.",))
    if not request.password:
        raise InvalidInputError("The store has no password yet",
                                ("Give it a store password; keytool needs at least 6 characters.",))
    path = operations.save_store(request.path, request.store, request.password, kind=kind,
                                 options=Pkcs12Options(legacy=request.legacy))
    return Saved(path, kind, request.store.aliases)


# --- what goes into a store ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class KeyPairFiles:
    """A PEM key (maybe encrypted, maybe with its chain inside) and its certificates in any order."""

    key: Path
    cert: Path | None = None  # None: the chain sits in the key file
    alias: str = DEVICE_ALIAS
    key_password: bytes | None = field(default=None, repr=False)  # of an encrypted key file; None: asked


def add_key_pair_from_files(store: Keystore, request: KeyPairFiles, prompt: PasswordPrompt) -> Change:
    """openssl pkcs12 -export + keytool -importkeystore: the key's own certificate is found, the rest its chain.

    Raises:
        InvalidInputError: a file is unreadable or there is no certificate; PasswordError: the key password is wrong;
        KeystoreError: the alias is taken, or no certificate belongs to the key.
    """
    key_data = read_input_file(request.key, "key file")
    keys, certs = split_pem(key_data)
    if request.cert is not None:
        certs = load_certificates(read_input_file(request.cert, "certificate file"), "certificate file")
    if not certs:
        raise InvalidInputError("No certificate given for the key", ("Give its certificate chain "
                                                                       "(deviceCertChain.pem).",))
    key_pem = keys[0] if keys else key_data  # a DER key has no PEM block
    password = request.key_password
    if password is None and b"ENCRYPTED" in key_pem:
        password = prompt(f"Password of {request.key.name}", False)
    return add_key_pair(store, request.alias, load_private_key(key_pem, password), certs)


@dataclass(frozen=True)
class TrustedFile:
    """A certificate or PEM bundle to trust (a bundle becomes alias, alias-2, ...)."""

    cert: Path
    alias: str = TRUST_ALIAS


def add_trusted_from_file(store: Keystore, request: TrustedFile) -> Change:
    """keytool -importcert.

    Raises:
        InvalidInputError / UnsupportedFormatError: no certificate in the file; KeystoreError: an alias is taken.
    """
    certs = load_certificates(read_input_file(request.cert, "certificate file"), "certificate file")
    return add_trusted(store, certs, request.alias)


@dataclass(frozen=True)
class TrustedServer:
    """A TLS server whose CA (the last certificate it presents) is to be trusted."""

    host: str
    port: int
    server_name: str | None = None  # SNI; None: the host
    alias: str = TRUST_ALIAS


def server_ca(request: TrustedServer) -> x509.Certificate:
    """Connect once (blocking: the page runs it off the GUI thread) and take the last certificate presented.

    Raises:
        TlsError: the server cannot be reached or the handshake fails.
    """
    return fetch_server_chain(request.host, request.port, server_name=request.server_name or None).chain[-1]


def add_trusted_from_server(store: Keystore, request: TrustedServer, certificate: x509.Certificate) -> Change:
    """Trust what ``server_ca`` fetched for this request (kept apart so the fetch may run on another thread); says so
    when the server did not send its root, as `workbench tls fetch --which root` does."""
    change = add_trusted(store, [certificate], request.alias)
    remark = anchor_remark(certificate)
    return Change(change.store, (*change.messages, remark)) if remark else change


@dataclass(frozen=True)
class CreateStore:
    """A new keystore holding a key pair, or a new truststore holding trusted certificates."""

    path: Path
    kind: StoreKind
    content: KeyPairFiles | TrustedFile
    password: bytes | None = field(default=None, repr=False)  # None: asked (as a new password)
    legacy: bool = False
    replace: bool = False


def create_store(request: CreateStore, prompt: PasswordPrompt) -> tuple[Saved, Change] | None:
    """`keystore create` / `truststore create`: refuses an existing file before anything is asked; None when the
    password prompt is cancelled."""
    if not request.replace:
        refuse_existing(request.path)
    empty = Keystore(request.kind)
    content = request.content
    change = (add_key_pair_from_files(empty, content, prompt) if isinstance(content, KeyPairFiles)
              else add_trusted_from_file(empty, content))
    password = request.password or prompt(f"Password of the new {request.path.name}", True)
    if password is None:
        return None
    saved = save_store(SaveStore(request.path, change.store, password, request.kind, request.legacy))
    return saved, change


@dataclass(frozen=True)
class TrustInFile:
    """Certificates to trust in a truststore file that may not exist yet (then it is made with ``kind``)."""

    path: Path
    certificates: tuple[x509.Certificate, ...]
    alias: str = TRUST_ALIAS
    kind: str = "pkcs12"
    password: bytes | None = field(default=None, repr=False)  # None: asked
    key_password: bytes | None = field(default=None, repr=False)  # a JKS key of an existing store


@dataclass(frozen=True)
class Trusted:
    """The truststore after the import, whether it was created, and what the user should know."""

    saved: Saved
    created: bool
    messages: tuple[str, ...]


def add_to_truststore(request: TrustInFile, prompt: PasswordPrompt) -> Trusted | None:
    """The guide's `keytool -importcert` into a truststore, created when missing; None when a prompt is cancelled.

    Raises:
        WorkbenchError: a wrong password, an alias in use, an unknown type, or an unwritable folder.
    """
    if request.path.exists():
        opened = open_store(OpenStore(request.path, request.password, request.key_password), prompt)
        if opened is None:
            return None
        store, password, created = opened.store, opened.password, False
    else:
        new_password = request.password or prompt(f"Password of the new {request.path.name}", True)
        if new_password is None:
            return None
        store, password, created = Keystore(StoreKind.parse(request.kind)), new_password, True
    change = add_trusted(store, list(request.certificates), request.alias)
    return Trusted(save_store(SaveStore(request.path, change.store, password)), created, change.messages)


# --- outputs ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConvertStore:
    """keytool -importkeystore into the other format, as a new file."""

    source: OpenStore
    kind: StoreKind
    out: Path
    new_password: bytes | None = field(default=None, repr=False)  # None: the source's
    legacy: bool = False
    replace: bool = False


def convert_file(request: ConvertStore, prompt: PasswordPrompt) -> tuple[Saved, Change] | None:
    """Open, convert keeping every entry, save as a new file; None when the prompt is cancelled.

    Raises:
        KeystoreError: the output exists, aliases collide, or a JKS key with its own password was not unlocked.
    """
    if not request.replace:
        refuse_existing(request.out)
    opened = open_store(request.source, prompt)
    if opened is None:
        return None
    change = convert_store(opened.store, request.kind)
    # the source's password by default; an unencrypted PEM source opened without one: ask for the new store's
    password = request.new_password or opened.password or prompt(f"Password of the new {request.out.name}", True)
    if password is None:
        return None
    saved = save_store(SaveStore(request.out, change.store, password, request.kind, request.legacy, replace=True))
    return saved, change


@dataclass(frozen=True)
class ExportEntry:
    """An entry's certificate, chain or key as PEM; a key goes to a file (0600), encrypted unless ``encrypt`` is off."""

    alias: str | None = None  # None: the only key entry, or the only entry
    part: str = "cert"  # cert (or certificate), chain, key
    out: Path | None = None  # None: only returned (certificates)
    key_password: bytes | None = field(default=None, repr=False)  # None with encrypt: asked (as a new password)
    encrypt: bool = True


@dataclass(frozen=True)
class Exported:
    """What was exported: the entry, the part, the PEM, the file (if any) and whether a key is encrypted."""

    alias: str
    part: str
    pem: bytes = field(repr=False)
    out: Path | None
    encrypted: bool


def export_entry(store: Keystore, request: ExportEntry, prompt: PasswordPrompt) -> Exported | None:
    """keytool -exportcert, or openssl pkcs12 -nocerts for a key; None when the key password prompt is cancelled.

    Raises:
        InvalidInputError: no alias where several entries exist, an unknown part, a key without an output file.
        PasswordError: the key is sealed by its own JKS key password.
    """
    alias = request.alias
    if alias is None:
        keys = store.key_entries()
        if len(keys) != 1 and len(store) != 1:
            raise InvalidInputError("Say which entry to export", (f"Aliases: {', '.join(store.aliases)}.",))
        alias = keys[0].alias if len(keys) == 1 else store.aliases[0]
    part = PARTS.get(request.part)
    if part is None:
        raise InvalidInputError(f"Unknown part '{request.part}'", ("Choose cert, chain or key.",))
    password = None
    if part == "key":
        if request.out is None:
            raise InvalidInputError("A key is written to a file only", ("Give the output file (deviceKey.pem).",))
        store.get(alias)  # an unknown alias is named before a password is asked
        if request.encrypt:
            password = request.key_password or prompt("Password for the exported key", True)
            if password is None:
                return None
    pem = operations.export_entry(store, alias, part, password)
    if request.out is not None:
        write_atomic(request.out, pem, mode=KEY_FILE_MODE if part == "key" else PUBLIC_FILE_MODE)
    return Exported(alias, part, pem, request.out, password is not None)


@dataclass(frozen=True)
class DeviceStores:
    """The guide's deviceKeystore (devicekeyentry) and truststore (servercertificate) for a key entry."""

    alias: str
    folder: Path
    server_ca: Path
    password: bytes = field(repr=False)
    kind: str = "pkcs12"


def write_device_stores(store: Keystore, request: DeviceStores) -> tuple[Path, Path]:
    """Both files through the device bundle (the one writer of those), keystore 0600; returns their paths.

    Raises:
        InvalidInputError: a trusted-certificate entry, a short password, an unreadable server CA.
        PasswordError: the key is sealed by its own JKS key password.
    """
    entry = store.get(request.alias)
    if not isinstance(entry, PrivateKeyEntry):
        raise InvalidInputError(f"'{request.alias}' is a trusted certificate", ("Pick a key entry (PrivateKeyEntry).",))
    if len(request.password) < 6:
        raise InvalidInputError("The password is shorter than 6 characters", ("keytool needs at least 6.",))
    trusted = load_certificates(read_input_file(request.server_ca, "server CA file"))
    spec = device_bundle.BundleSpec(device_bundle.ONBOARDING, key_pem=False, certificate_pem=False,
                                    keystore=KeystoreOptions(request.kind, request.password), trust=tuple(trusted),
                                    truststore_kind=request.kind)
    names = spec.names()
    key = cast(PrivateKey, entry.require_key())  # whatever key the store holds: the bundle only serialises it
    files = device_bundle.bundle_files(spec, key, entry.chain)
    written = device_bundle.write_files(request.folder, {n: files[n] for n in (names["keystore"],
                                                                               names["truststore"])})
    return written[names["keystore"]], written[names["truststore"]]
