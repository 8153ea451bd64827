"""`workbench keystore list|create|import|export|rename|delete|passwd|convert`: keytool's jobs, any format."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeVar

from workbench.cli.common import add_json_option, add_password_options, emit, read_password
from workbench.core.keystore import DEVICE_ALIAS, TRUST_ALIAS, Change, StoreKind, describe_store, format_listing
from workbench.core.keystore.operations import delete_entry, rename_entry, set_key_password
from workbench.errors import PasswordError
from workbench.services import keystores
from workbench.services.keystores import PasswordPrompt, Saved

T = TypeVar("T")


def optional_password(args: argparse.Namespace, name: str) -> bytes | None:
    """A password given by --NAME-file/--NAME-env, or None (never prompts): for optional secrets."""
    if getattr(args, f"{name}_file", None) or getattr(args, f"{name}_env", None):
        return read_password(args, name)
    return None


def password_prompt(args: argparse.Namespace, name: str) -> PasswordPrompt:
    """The service's password prompt on the command line: --NAME-file, --NAME-env, else the terminal (a new
    password is typed twice)."""
    def ask(label: str, new: bool) -> bytes | None:
        return read_password(args, name, prompt=f"{label}: ", confirm=new)
    return ask


def add_store_options(parser: argparse.ArgumentParser, *, key_password: bool = True) -> None:
    """The store file and its password sources (a password is never a plain argument value)."""
    parser.add_argument("file", type=Path, metavar="FILE", help="the keystore (PKCS#12, JKS, JCEKS or PEM)")
    add_password_options(parser, "store_password", "the keystore")
    if key_password:
        add_password_options(parser, "key_password", "a JKS key whose password differs from the store's")
    add_json_option(parser)


def add_kind_options(parser: argparse.ArgumentParser, default: str = "pkcs12") -> None:
    """--type and --legacy for commands that write a new store."""
    parser.add_argument("--type", dest="kind", default=default, choices=("pkcs12", "jks"),
                        help=f"store format to write (default {default})")
    parser.add_argument("--legacy", action="store_true",
                        help="PKCS#12 with 3DES + SHA-1 for old Java and Windows (default AES-256 + SHA-256)")


def open_request(args: argparse.Namespace, path: Path | None = None) -> keystores.OpenStore:
    """FILE (or ``path``) to open; JKS keys with their own password use --key-password-* when given."""
    key_pw = optional_password(args, "key_password") if hasattr(args, "key_password_file") else None
    return keystores.OpenStore(path or args.file, key_password=key_pw)


def answered(value: T | None) -> T:
    """A service result that is None only when a prompt was cancelled, which read_password never does (it raises
    when there is no terminal); kept as a guard.

    Raises:
        PasswordError: no password was given.
    """
    if value is None:
        raise PasswordError("No password was given", ("Pass --store-password-file FILE or --store-password-env VAR.",))
    return value


def open_store(args: argparse.Namespace) -> keystores.Opened:
    """Read FILE with its password from the sources or a prompt."""
    return answered(keystores.open_store(open_request(args), password_prompt(args, "store_password")))


def show_saved(args: argparse.Namespace, saved: Saved, messages: tuple[str, ...] = ()) -> None:
    """Report a written store: its messages, then the file, type and aliases."""
    emit(args, {"file": str(saved.path), "type": saved.kind.label, "aliases": list(saved.aliases),
                "messages": list(messages)},
         lambda r: "\n".join([*r["messages"], f"Saved {r['file']} ({r['type']}): {', '.join(r['aliases'])}"]))


def save(args: argparse.Namespace, opened: keystores.Opened, change: Change, password: bytes | None = None) -> None:
    """Write the opened file back atomically (keeping .bak once) and report what happened."""
    saved = keystores.save_store(keystores.SaveStore(opened.path, change.store, password or opened.password,
                                                     legacy=getattr(args, "legacy", False)))
    show_saved(args, saved, change.messages)


def create(args: argparse.Namespace, content: keystores.KeyPairFiles | keystores.TrustedFile) -> None:
    """A new keystore or truststore at FILE (refused when it exists, unless --force)."""
    request = keystores.CreateStore(args.file, StoreKind.parse(args.kind), content, legacy=args.legacy,
                                    replace=args.force)
    prompts = {"new": password_prompt(args, "store_password"), "key": password_prompt(args, "in_key_password")}
    saved, change = answered(keystores.create_store(request, lambda label, new: prompts["new" if new else "key"](
        label, new)))
    show_saved(args, saved, change.messages)


def key_files(args: argparse.Namespace, alias: str) -> keystores.KeyPairFiles:
    """--key and --cert (the chain may sit in the key file)."""
    return keystores.KeyPairFiles(Path(args.key), Path(args.cert) if args.cert else None, alias)


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
    store = open_store(args).store
    emit(args, describe_store(store), lambda _r: format_listing(store).rstrip())


def _create(args: argparse.Namespace) -> None:
    create(args, key_files(args, args.alias))


def _import(args: argparse.Namespace) -> None:
    opened = open_store(args)
    if args.trusted:
        change = keystores.add_trusted_from_file(opened.store,
                                                 keystores.TrustedFile(Path(args.trusted), args.alias or TRUST_ALIAS))
    else:
        change = keystores.add_key_pair_from_files(opened.store, key_files(args, args.alias or DEVICE_ALIAS),
                                                   password_prompt(args, "in_key_password"))
    save(args, opened, change)


def _export(args: argparse.Namespace) -> None:
    store = open_store(args).store
    request = keystores.ExportEntry(args.alias, args.part, args.out, encrypt=not args.no_encrypt)
    done = answered(keystores.export_entry(store, request, password_prompt(args, "export_password")))
    if done.part == "key":
        emit(args, {"out": str(done.out), "encrypted": done.encrypted},
             lambda r: f"Wrote the key of '{done.alias}' to {r['out']}" + ("" if r["encrypted"] else " (unencrypted)"))
    elif done.out is None:
        emit(args, {"alias": done.alias, "pem": done.pem.decode()}, done.pem.decode().rstrip())
    else:
        emit(args, {"out": str(done.out)}, lambda r: f"Wrote the {args.part} of '{done.alias}' to {r['out']}")


def _rename(args: argparse.Namespace) -> None:
    opened = open_store(args)
    save(args, opened, rename_entry(opened.store, args.old, args.new))


def _delete(args: argparse.Namespace) -> None:
    opened = open_store(args)
    save(args, opened, delete_entry(opened.store, args.alias))


def _passwd(args: argparse.Namespace) -> None:
    opened = open_store(args)
    new = read_password(args, "new_password", prompt="New password: ", confirm=True)
    assert new is not None
    if args.alias:
        save(args, opened, set_key_password(opened.store, args.alias, new))
        return
    messages = ("Keys that shared the store password now use the new one.",) \
        if opened.store.kind is StoreKind.JKS else ()
    save(args, opened, Change(opened.store, messages), new)


def _convert(args: argparse.Namespace) -> None:
    request = keystores.ConvertStore(open_request(args), StoreKind.parse(args.kind), args.out,
                                     optional_password(args, "new_password"), args.legacy, args.force)
    saved, change = answered(keystores.convert_file(request, password_prompt(args, "store_password")))
    show_saved(args, saved, change.messages)
