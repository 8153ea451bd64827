"""`workbench keystore list|create|import|export|rename|delete|passwd|convert`: keytool's jobs, any format."""

from __future__ import annotations

import argparse
from pathlib import Path

from cryptography import x509

from workbench.cli.common import add_json_option, add_password_options, emit, read_file_bytes, read_password
from workbench.core.files import write_atomic
from workbench.core.keystore import (
    DEVICE_ALIAS,
    Change,
    Keystore,
    Pkcs12Options,
    StoreKind,
    add_key_pair,
    add_trusted,
    convert_store,
    delete_entry,
    describe_store,
    export_entry,
    format_listing,
    read_store,
    rename_entry,
    save_store,
    set_key_password,
)
from workbench.core.keystore.pem import split_pem
from workbench.core.pki.certio import load_certificates
from workbench.core.pki.keys import load_private_key
from workbench.errors import InvalidInputError, KeystoreError


def optional_password(args: argparse.Namespace, name: str) -> bytes | None:
    """A password given by --NAME-file/--NAME-env, or None (never prompts): for optional secrets."""
    if getattr(args, f"{name}_file", None) or getattr(args, f"{name}_env", None):
        return read_password(args, name)
    return None


def store_password(args: argparse.Namespace, path: Path, *, confirm: bool = False) -> bytes:
    """The store password from --store-password-file/-env or a prompt."""
    password = read_password(args, "store_password", prompt=f"Password of {path.name}: ", confirm=confirm)
    assert password is not None  # required=True
    return password


def add_store_options(parser: argparse.ArgumentParser, *, key_password: bool = True) -> None:
    """The store file and its password sources (a password is never a plain argument value)."""
    parser.add_argument("file", type=Path, metavar="FILE", help="the keystore (PKCS#12, JKS, JCEKS or PEM)")
    add_password_options(parser, "store_password", "the keystore")
    if key_password:
        add_password_options(parser, "key_password", "a JKS key whose password differs from the store's")
    add_json_option(parser)


def add_kind_options(parser: argparse.ArgumentParser, default: str = "pkcs12") -> None:
    parser.add_argument("--type", dest="kind", default=default, choices=("pkcs12", "jks"),
                        help=f"store format to write (default {default})")
    parser.add_argument("--legacy", action="store_true",
                        help="PKCS#12 with 3DES + SHA-1 for old Java and Windows (default AES-256 + SHA-256)")


def open_store(args: argparse.Namespace) -> tuple[Keystore, bytes]:
    """Read FILE with its password; JKS keys with their own password use --key-password-* when given."""
    password = store_password(args, args.file)
    key_pw = optional_password(args, "key_password") if hasattr(args, "key_password_file") else None
    return read_store(args.file, password, key_passwords=key_pw), password


def save(args: argparse.Namespace, path: Path, change: Change, password: bytes,
         kind: StoreKind | None = None) -> None:
    """Write atomically (keeping .bak once) and report what happened."""
    legacy = getattr(args, "legacy", False)
    save_store(path, change.store, password, kind=kind, options=Pkcs12Options(legacy=legacy))
    emit(args, {"file": str(path), "type": (kind or change.store.kind).label, "aliases": list(change.store.aliases),
                "messages": list(change.messages)},
         lambda r: "\n".join([*r["messages"], f"Saved {r['file']} ({r['type']}): {', '.join(r['aliases'])}"]))


def refuse_overwrite(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise KeystoreError(f"'{path}' already exists", ("Use 'import' to add to it, or --force to replace it.",))


def load_key_and_certs(args: argparse.Namespace) -> tuple[object, list[x509.Certificate]]:
    """The key (PEM, maybe encrypted) and the certificates from --key and --cert (the key may sit in either)."""
    key_data = read_file_bytes(args.key, "key")
    cert_data = read_file_bytes(args.cert, "certificate") if args.cert else key_data
    keys, certs = split_pem(key_data)
    if not keys:
        keys = [key_data]
    if args.cert:
        certs = load_certificates(cert_data, "certificate file")
    if not certs:
        raise InvalidInputError("No certificate given for the key", ("Pass --cert deviceCertChain.pem.",))
    password = None
    if b"ENCRYPTED" in keys[0]:
        password = read_password(args, "in_key_password", prompt=f"Password of {Path(args.key).name}: ")
    return load_private_key(keys[0], password), certs


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `keystore` and its subcommands."""
    ks = subparsers.add_parser("keystore", help="create, list and edit PKCS#12/JKS keystores (like keytool)")
    sub = ks.add_subparsers(dest="keystore_command", metavar="SUBCOMMAND", required=True)

    p = sub.add_parser("list", help="list entries like `keytool -list -v`")
    add_store_options(p)
    p.set_defaults(handler=_list)

    p = sub.add_parser("create", help="new device keystore from a key and its chain (openssl pkcs12 -export)")
    add_store_options(p, key_password=False)
    _key_input_options(p)
    add_kind_options(p)
    p.add_argument("--force", action="store_true", help="replace an existing file (kept as FILE.bak)")
    p.set_defaults(handler=_create)

    p = sub.add_parser("import", help="add a key pair (--key/--cert) or trusted certificates (--trusted)")
    add_store_options(p)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--key", metavar="FILE", help="private key PEM (with --cert, or with the chain inside)")
    what.add_argument("--trusted", metavar="FILE", help="a certificate or a PEM bundle to trust")
    p.add_argument("--cert", metavar="FILE", help="the key's certificate chain (PEM, any order)")
    p.add_argument("--alias", help="alias (default devicekeyentry for keys, servercertificate for certificates)")
    add_password_options(p, "in_key_password", "the PEM key file")
    p.add_argument("--legacy", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(handler=_import)

    p = sub.add_parser("export", help="write an entry's certificate, chain or key as PEM")
    add_store_options(p)
    p.add_argument("--alias", default=None, help="the entry (default: the only key entry)")
    p.add_argument("--part", choices=("cert", "chain", "key"), default="cert", help="what to export")
    p.add_argument("--out", type=Path, help="output file (certificates go to stdout without it)")
    p.add_argument("--no-encrypt", action="store_true", help="write the key unencrypted (not recommended)")
    add_password_options(p, "export_password", "the exported key")
    p.set_defaults(handler=_export)

    p = sub.add_parser("rename", help="change an alias (keytool -changealias)")
    add_store_options(p)
    p.add_argument("old", metavar="ALIAS")
    p.add_argument("new", metavar="NEW_ALIAS")
    p.set_defaults(handler=_rename)

    p = sub.add_parser("delete", help="remove an entry (keytool -delete)")
    add_store_options(p)
    p.add_argument("alias", metavar="ALIAS")
    p.set_defaults(handler=_delete)

    p = sub.add_parser("passwd", help="change the store password, or with --alias a JKS key password")
    add_store_options(p)
    p.add_argument("--alias", help="change this JKS entry's own key password instead of the store password")
    add_password_options(p, "new_password", "the new password")
    p.set_defaults(handler=_passwd)

    p = sub.add_parser("convert", help="JKS ⇄ PKCS#12 keeping every entry (keytool -importkeystore)")
    add_store_options(p)
    p.add_argument("--to", dest="kind", required=True, choices=("pkcs12", "jks"), help="target format")
    p.add_argument("--out", type=Path, required=True, help="the new file")
    p.add_argument("--legacy", action="store_true", help="legacy PKCS#12 (3DES + SHA-1)")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    add_password_options(p, "new_password", "the new store (default: the same password)")
    p.set_defaults(handler=_convert)


def _key_input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--key", required=True, metavar="FILE", help="the device private key (PEM)")
    p.add_argument("--cert", metavar="FILE", help="the certificate chain PEM (deviceCertChain.pem)")
    p.add_argument("--alias", default=DEVICE_ALIAS, help=f"entry alias (default {DEVICE_ALIAS})")
    add_password_options(p, "in_key_password", "the PEM key file")


def _list(args: argparse.Namespace) -> None:
    store, _pw = open_store(args)
    emit(args, describe_store(store), lambda _r: format_listing(store).rstrip())


def _create(args: argparse.Namespace) -> None:
    refuse_overwrite(args.file, args.force)
    key, certs = load_key_and_certs(args)
    kind = StoreKind.parse(args.kind)
    change = add_key_pair(Keystore(kind), args.alias, key, certs)  # type: ignore[arg-type]
    save(args, args.file, change, store_password(args, args.file, confirm=True))


def _import(args: argparse.Namespace) -> None:
    store, password = open_store(args)
    if args.trusted:
        certs = load_certificates(read_file_bytes(args.trusted, "certificate"), "certificate file")
        change = add_trusted(store, certs, args.alias or "servercertificate")
    else:
        key, certs = load_key_and_certs(args)
        change = add_key_pair(store, args.alias or DEVICE_ALIAS, key, certs)  # type: ignore[arg-type]
    save(args, args.file, change, password)


def _export(args: argparse.Namespace) -> None:
    store, _pw = open_store(args)
    alias = args.alias
    if alias is None:
        keys = store.key_entries()
        if len(keys) != 1 and len(store) != 1:
            raise InvalidInputError("Say which entry to export", (f"Aliases: {', '.join(store.aliases)}.",))
        alias = keys[0].alias if len(keys) == 1 else store.aliases[0]
    if args.part == "key":
        if args.out is None:
            raise InvalidInputError("A key is written to a file only", ("Add --out deviceKey.pem.",))
        password = None if args.no_encrypt else read_password(args, "export_password",
                                                               prompt="Password for the exported key: ", confirm=True)
        write_atomic(args.out, export_entry(store, alias, "key", password), mode=0o600)
        emit(args, {"out": str(args.out), "encrypted": password is not None},
             lambda r: f"Wrote the key of '{alias}' to {r['out']}" + ("" if r["encrypted"] else " (unencrypted)"))
        return
    pem = export_entry(store, alias, args.part)
    if args.out is None:
        emit(args, {"alias": alias, "pem": pem.decode()}, pem.decode().rstrip())
        return
    write_atomic(args.out, pem)
    emit(args, {"out": str(args.out)}, lambda r: f"Wrote the {args.part} of '{alias}' to {r['out']}")


def _rename(args: argparse.Namespace) -> None:
    store, password = open_store(args)
    save(args, args.file, rename_entry(store, args.old, args.new), password)


def _delete(args: argparse.Namespace) -> None:
    store, password = open_store(args)
    save(args, args.file, delete_entry(store, args.alias), password)


def _passwd(args: argparse.Namespace) -> None:
    store, password = open_store(args)
    new = read_password(args, "new_password", prompt="New password: ", confirm=True)
    assert new is not None
    if args.alias:
        save(args, args.file, set_key_password(store, args.alias, new), password)
        return
    messages = ("Keys that shared the store password now use the new one.",) if store.kind is StoreKind.JKS else ()
    save(args, args.file, Change(store, messages), new)


def _convert(args: argparse.Namespace) -> None:
    refuse_overwrite(args.out, args.force)
    store, password = open_store(args)
    kind = StoreKind.parse(args.kind)
    new_password = optional_password(args, "new_password") or password
    save(args, args.out, convert_store(store, kind), new_password, kind)
