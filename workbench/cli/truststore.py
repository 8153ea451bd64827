"""`workbench truststore create|add`: the guide's truststore step without keytool (trusted entries Java lists)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cryptography import x509

from workbench.cli.common import read_file_bytes
from workbench.cli.keystore import (
    add_kind_options,
    add_store_options,
    open_store,
    refuse_overwrite,
    save,
    store_password,
)
from workbench.core.keystore import TRUST_ALIAS, Keystore, StoreKind, add_trusted
from workbench.core.pki.certio import load_certificates


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `truststore` and its subcommands."""
    ts = subparsers.add_parser("truststore", help="create truststores and add trusted certificates")
    sub = ts.add_subparsers(dest="truststore_command", metavar="SUBCOMMAND", required=True)

    p = sub.add_parser("create", help="new truststore from a certificate or a PEM bundle")
    add_store_options(p, key_password=False)
    p.add_argument("--cert", required=True, metavar="FILE", help="certificate or PEM bundle (serverCertificate.pem)")
    p.add_argument("--alias", default=TRUST_ALIAS, help=f"alias; a bundle gets ALIAS, ALIAS-2, ... "
                                                        f"(default {TRUST_ALIAS})")
    add_kind_options(p)
    p.add_argument("--force", action="store_true", help="replace an existing file (kept as FILE.bak)")
    p.set_defaults(handler=_create)

    p = sub.add_parser("add", help="add trusted certificates to an existing truststore or keystore")
    add_store_options(p)
    p.add_argument("--cert", required=True, metavar="FILE", help="certificate or PEM bundle")
    p.add_argument("--alias", required=True,
                   help="a new alias: 'the alias is the unique identifier for every entry'")
    p.set_defaults(handler=_add)


def _certs(path: str) -> list[x509.Certificate]:
    return load_certificates(read_file_bytes(path, "certificate"), "certificate file")


def _create(args: argparse.Namespace) -> None:
    path: Path = args.file
    refuse_overwrite(path, args.force)
    change = add_trusted(Keystore(StoreKind.parse(args.kind)), _certs(args.cert), args.alias)
    save(args, path, change, store_password(args, path, confirm=True))


def _add(args: argparse.Namespace) -> None:
    store, password = open_store(args)
    save(args, args.file, add_trusted(store, _certs(args.cert), args.alias), password)
