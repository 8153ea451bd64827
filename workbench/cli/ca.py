"""`workbench ca ...`: the CA store from the command line: CAs, issuance, CSR signing, revocation, CRLs, export."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path
from typing import Any

from cryptography import x509

from workbench.core.pki.certio import load_certificate
from workbench.core.pki.keys import KeySpec, load_private_key
from workbench.core.pki.names import SubjectFields, format_dn, parse_dn
from workbench.core.pki.profiles import (
    device_profile,
    intermediate_ca_profile,
    root_ca_profile,
    server_profile,
)
from workbench.errors import InvalidInputError
from workbench.paths import default_workspace
from workbench.services import certificates
from workbench.services import secrets as secret_words
from workbench.services.ca_passwords import CAPasswords, stored_ca_password

from .common import (
    add_json_option,
    add_password_options,
    add_vault_options,
    cli_secrets,
    emit,
    read_file_bytes,
    read_password,
    show_notes,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `ca` and its subcommands."""
    ca = subparsers.add_parser("ca", help="the CA store: create CAs, issue, sign CSRs, revoke, CRLs, export")
    sub = ca.add_subparsers(dest="ca_command", metavar="SUBCOMMAND", required=True)

    init = _command(sub, "init", "create a self-signed root CA (the guide's v3_ca, 7300 days)", _init)
    _subject_options(init)
    init.add_argument("--pathlen", type=int, help="maximum number of intermediates below this CA")
    init.add_argument("--days", type=int, default=0, help="validity in days (default 7300)")
    _key_option(init, "rsa4096")
    add_password_options(init, "password", "the new CA key")

    inter = _command(sub, "intermediate", "create an intermediate CA signed by another CA (3650 days)", _intermediate)
    inter.add_argument("--ca", required=True, help="the signing CA's name")
    _subject_options(inter)
    inter.add_argument("--pathlen", type=int, default=0, help="default 0: it signs devices only")
    inter.add_argument("--days", type=int, default=0, help="validity in days (default 3650)")
    _key_option(inter, "rsa4096")
    add_password_options(inter, "ca_password", "the signing CA's key")
    add_password_options(inter, "password", "the new intermediate's key")

    issue = _command(sub, "issue", "issue a device or server certificate with a new key", _issue)
    issue.add_argument("--ca", required=True, help="the signing CA's name")
    issue.add_argument("--cn", required=True, help="the common name: the device id for devices")
    issue.add_argument("--server", action="store_true", help="a TLS server certificate instead of a device")
    issue.add_argument("--san", action="append", default=[], help="server DNS name or IP (repeatable)")
    issue.add_argument("--days", type=int, default=0, help="validity in days (device default 365)")
    issue.add_argument("--no-client-auth", action="store_true", help="leave out EKU clientAuth (devices)")
    issue.add_argument("--out", required=True, type=Path, help="folder for the key, certificate and chain")
    _key_option(issue, "ec-p256")
    add_password_options(issue, "ca_password", "the CA key")
    add_password_options(issue, "password", "the new private key")

    csr = _command(sub, "sign-csr", "sign an external CSR (device profile unless --server)", _sign_csr)
    csr.add_argument("--ca", required=True, help="the signing CA's name")
    csr.add_argument("csr", type=Path, help="the request, PEM or DER")
    csr.add_argument("--server", action="store_true", help="sign with the server profile")
    csr.add_argument("--days", type=int, default=0, help="validity in days")
    csr.add_argument("--out", required=True, type=Path, help="where to write the certificate (PEM)")
    add_password_options(csr, "ca_password", "the CA key")

    imp = _command(sub, "import", "import a CA made elsewhere (e.g. with the guide's openssl commands)", _import)
    imp.add_argument("--cert", required=True, type=Path, help="the CA certificate (PEM or DER)")
    imp.add_argument("--key", required=True, type=Path, help="its private key")
    imp.add_argument("--parent", help="the CA that signed it, if it is an intermediate in this store")
    imp.add_argument("--name", help="a name for it (default: its CN)")
    add_password_options(imp, "key_password", "the key file as it is")
    add_password_options(imp, "password", "the key inside the store")

    revoke = _command(sub, "revoke", "revoke a certificate by serial", _revoke)
    revoke.add_argument("--ca", required=True, help="the CA that issued it")
    revoke.add_argument("serial", help="the serial in hex, as 'ca list' shows it")
    revoke.add_argument("--reason", default="unspecified", help="e.g. keyCompromise, superseded")

    crl = _command(sub, "crl", "generate a CRL (crl_ext, 30 days)", _crl)
    crl.add_argument("--ca", required=True, help="the CA whose CRL to make")
    crl.add_argument("--days", type=int, default=30, help="validity of the CRL in days")
    crl.add_argument("--out", required=True, type=Path, help="where to write the CRL (PEM)")
    add_password_options(crl, "ca_password", "the CA key")

    export = _command(sub, "export-openssl", "export a CA to the guide's openssl folder layout", _export)
    export.add_argument("--ca", required=True, help="the root or intermediate to export (with its intermediates)")
    export.add_argument("folder", type=Path, help="a new or empty folder")
    add_password_options(export, "ca_password", "the CA key (the export keeps it encrypted with it)")
    export.add_argument("--intermediate-password-file", action="append", default=[], metavar="NAME=FILE",
                        help="the key password of an intermediate included in the export (repeatable)")

    _command(sub, "list", "list CAs and issued certificates as a tree with their status", _list)

    password = sub.add_parser("password", help="show or reset the stored password of a CA's key",
                              description="A CA key's password as the secret store keeps it (system keyring, "
                                          "encrypted vault, or this session only).")
    verbs = password.add_subparsers(dest="password_command", metavar="ACTION", required=True)
    show = _command(verbs, "show", "print the stored password of a CA's key (asks to confirm)", _password_show)
    show.add_argument("--ca", required=True, help="the CA's name")
    show.add_argument("--yes", action="store_true", help="do not ask to confirm")
    reset = _command(verbs, "reset", "re-encrypt a CA's key with a new generated password and keep that one",
                     _password_reset)
    reset.add_argument("--ca", required=True, help="the CA's name")
    reset.add_argument("--yes", action="store_true", help="do not ask to confirm")
    add_password_options(reset, "ca_password", "the CA key as it is now (default: the stored one)")


def _command(sub: Any, name: str, help_text: str, handler: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
    parser.add_argument("--workspace", type=Path, help="the CA store folder (default: the user's workspace)")
    add_vault_options(parser)
    add_json_option(parser)
    parser.set_defaults(handler=handler)
    return parser


def _subject_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--subject", help="the whole name, e.g. '/C=PL/O=ACME/CN=ACME Root CA'")
    parser.add_argument("--cn", help="common name (if --subject is not given)")
    parser.add_argument("--org", default="", help="organization")
    parser.add_argument("--country", default="", help="two-letter country code")
    parser.add_argument("--name", help="the CA's name in the store (default: its CN)")


def _key_option(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--key-type", default=default, type=KeySpec.parse,
                        help=f"rsa2048, rsa3072, rsa4096, ec-p256, ec-p384 or ed25519 (default {default})")


def _subject(args: argparse.Namespace) -> x509.Name:
    if args.subject:
        return parse_dn(args.subject)
    if not args.cn:
        raise InvalidInputError("Give the CA a name", ("Use --cn 'ACME Root CA' or --subject '/O=ACME/CN=...'.",))
    return SubjectFields(args.cn, country=args.country, organization=args.org).to_name()


def _workspace(args: argparse.Namespace) -> Path:
    return args.workspace or default_workspace()


def _ca_password(args: argparse.Namespace, name: str) -> CAPasswords:
    """The signing CA's password, read now (before any other question), handed to the service as its prompt:
    --ca-password-file/-env, else the secret store (keyring or vault), else a prompt (remembered once it worked)."""
    if getattr(args, "ca_password_file", None) or getattr(args, "ca_password_env", None):
        return CAPasswords.given(read_password(args, "ca_password"))
    store = cli_secrets(args)
    stored = stored_ca_password(name, store)
    if stored:
        return CAPasswords.given(stored.encode())
    typed = read_password(args, "ca_password", prompt=f"Password of CA '{name}': ")
    return CAPasswords.given(typed, remember=True, secrets=store)


def _confirm(args: argparse.Namespace, question: str) -> None:
    """Ask y/N on the terminal unless --yes.

    Raises:
        InvalidInputError: declined, or no terminal to ask on.
    """
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise InvalidInputError("Confirmation needed", ("Pass --yes (there is no terminal to ask on).",))
    if input(f"{question} [y/N] ").strip().lower() not in ("y", "yes"):
        raise InvalidInputError("Cancelled", ())


def _password_show(args: argparse.Namespace) -> None:
    store = cli_secrets(args)
    _confirm(args, f"Print the key password of CA '{args.ca}' on this terminal?")
    password = secret_words.show_ca_password(args.ca, store)
    emit(args, {"ca": args.ca, "password": password, "kept": store.kind.value}, lambda r: r["password"])


def _password_reset(args: argparse.Namespace) -> None:
    _confirm(args, f"Re-encrypt the key of CA '{args.ca}' with a new password?")
    passwords = _ca_password(args, args.ca)
    store = cli_secrets(args)
    reset = secret_words.reset_ca_password(_workspace(args), args.ca, passwords, store)
    where = secret_words.where_it_went(reset.password, store)
    emit(args, {"ca": args.ca, "kept": reset.kept.value}
         | ({"password": reset.password} if reset.kept is secret_words.StoreKind.SESSION else {}),
         lambda r: f"New key password of CA '{args.ca}': {where}")


def _ca_summary(args: argparse.Namespace, record: certificates.CARecord) -> dict[str, Any]:
    return {"name": record.name, "subject": format_dn(record.certificate.subject), "parent": record.parent,
            "not_after": record.certificate.not_valid_after_utc.isoformat(), "workspace": str(_workspace(args))}


def _init(args: argparse.Namespace) -> None:
    password = read_password(args, "password", prompt="Password for the new CA key: ", confirm=True)
    request = certificates.NewCA(_subject(args), args.key_type, root_ca_profile(args.pathlen, args.days), password,
                                 args.no_password, name=args.name)
    record = certificates.create_ca(_workspace(args), request, CAPasswords.given(None))
    emit(args, _ca_summary(args, record), lambda r: f"Created root CA '{r['name']}' ({r['subject']}), "
         f"valid until {r['not_after'][:10]}, in {r['workspace']}")


def _intermediate(args: argparse.Namespace) -> None:
    ca_password = _ca_password(args, args.ca)
    password = read_password(args, "password", prompt="Password for the new intermediate key: ", confirm=True)
    request = certificates.NewCA(_subject(args), args.key_type, intermediate_ca_profile(args.pathlen, args.days),
                                 password, args.no_password, parent=args.ca, name=args.name)
    record = certificates.create_ca(_workspace(args), request, ca_password)
    emit(args, _ca_summary(args, record),
         lambda r: f"Created intermediate CA '{r['name']}' signed by '{r['parent']}'")


def _issue(args: argparse.Namespace) -> None:
    ca_password = _ca_password(args, args.ca)
    password = read_password(args, "password", prompt="Password for the new private key: ", confirm=True)
    if args.server:
        dns = tuple(s for s in args.san if not _is_ip(s)) or (args.cn,)
        profile = server_profile(dns, tuple(s for s in args.san if _is_ip(s)), args.days)
    else:
        profile = device_profile(args.days, client_auth=not args.no_client_auth)
    request = certificates.NewLeaf(args.ca, args.cn, profile, args.key_type, password, args.out)
    issued = certificates.issue_leaf(_workspace(args), request, ca_password)
    show_notes(issued.notes)
    record = issued.record
    result = {"cn": record.cn, "serial": f"{record.serial:X}", "sha1": record.sha1,
              "files": {what: str(path) for what, path in issued.files.items()}}
    emit(args, result, lambda r: f"Issued '{r['cn']}' (serial {r['serial']}, id {r['sha1']}) into {args.out}")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _sign_csr(args: argparse.Namespace) -> None:
    ca_password = _ca_password(args, args.ca)
    profile = server_profile((), (), args.days) if args.server else device_profile(args.days)
    issued = certificates.sign_csr(_workspace(args), certificates.CsrSigning(args.ca, args.csr, profile, args.out),
                                   ca_password)
    emit(args, {"cn": issued.record.cn, "serial": f"{issued.record.serial:X}", "out": str(args.out)},
         lambda r: f"Signed '{r['cn']}' with serial {r['serial']} into {r['out']}")


def _import(args: argparse.Namespace) -> None:
    cert = load_certificate(read_file_bytes(args.cert, "CA certificate"), "CA certificate file")
    key_data = read_file_bytes(args.key, "private key")
    key_password = read_password(args, "key_password", prompt="Password of the key file: ", required=False) \
        if b"ENCRYPTED" in key_data else None
    key = load_private_key(key_data, key_password)
    password = read_password(args, "password", prompt="Password for the key in the store: ", confirm=True)
    record = certificates.import_ca(_workspace(args), certificates.ImportedCA(
        cert, key, password, args.no_password, parent=args.parent, name=args.name))
    emit(args, _ca_summary(args, record), lambda r: f"Imported CA '{r['name']}' ({r['subject']})")


def _revoke(args: argparse.Namespace) -> None:
    serial = certificates.parse_serial(args.serial)
    record = certificates.revoke(_workspace(args), args.ca, serial, args.reason)
    emit(args, {"cn": record.cn, "serial": f"{serial:X}", "reason": args.reason},
         lambda r: f"Revoked '{r['cn']}' (serial {r['serial']}, {r['reason']}); run 'workbench ca crl' to publish")


def _crl(args: argparse.Namespace) -> None:
    crl = certificates.write_crl(_workspace(args), args.ca, args.out, _ca_password(args, args.ca), days=args.days)
    emit(args, {"crl_number": certificates.crl_number(crl), "revoked": len(crl), "out": str(args.out)},
         lambda r: f"CRL number {r['crl_number']} with {r['revoked']} revoked certificate(s) in {r['out']}")


def _export(args: argparse.Namespace) -> None:
    ca_password = read_password(args, "ca_password", prompt=f"Password of CA '{args.ca}': ")
    passwords: dict[str, bytes | None] = {args.ca: ca_password}
    for item in args.intermediate_password_file:
        name, sep, file_name = item.partition("=")
        if not sep:
            raise InvalidInputError(f"'{item}' is not NAME=FILE", ("e.g. --intermediate-password-file 'Line A=a.pw'",))
        lines = read_file_bytes(Path(file_name), "password").splitlines()
        passwords[name] = lines[0] if lines else None
    folder = certificates.export_layout(_workspace(args), args.ca, args.folder, CAPasswords(passwords.__getitem__))
    emit(args, {"folder": str(folder)}, lambda r: f"Exported to {r['folder']}; continue with: cd {r['folder']} && "
         "openssl ca -config caConfig.cnf -extensions v3_signed -in request.csr -out cert.pem")


def _list(args: argparse.Namespace) -> None:
    cas, issued_all = certificates.listing(_workspace(args))
    tree = []
    for ca in cas:
        issued = [{"cn": r.cn, "serial": f"{r.serial:X}", "kind": r.kind, "status": r.status(), "sha1": r.sha1}
                  for r in issued_all if r.ca == ca.name]
        tree.append({"name": ca.name, "parent": ca.parent, "subject": format_dn(ca.certificate.subject),
                     "next_serial": f"{ca.next_serial:X}", "issued": issued})
    emit(args, tree, _format_tree)


def _format_tree(tree: list[dict[str, Any]]) -> str:
    if not tree:
        return "The CA store is empty: start with 'workbench ca init --cn \"My Root CA\"'."
    lines = []
    for ca in tree:
        depth = 0
        parent = ca["parent"]
        while parent:
            depth += 1
            parent = next((c["parent"] for c in tree if c["name"] == parent), None)
        indent = "  " * depth
        lines.append(f"{indent}{ca['name']}  [{ca['subject']}]  next serial {ca['next_serial']}")
        for cert in ca["issued"]:
            if cert["kind"] != "intermediate-ca":
                lines.append(f"{indent}  - {cert['cn']:<24} {cert['serial']:>6}  {cert['kind']:<7} {cert['status']}")
    return "\n".join(lines)
