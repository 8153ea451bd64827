"""`workbench truststore create|add`: the guide's truststore step without keytool (trusted entries Java lists)."""

from __future__ import annotations

import argparse
from pathlib import Path

from workbench.cli.keystore import add_kind_options, add_store_options, create, open_store, save
from workbench.core.keystore import TRUST_ALIAS
from workbench.services import keystores


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


def _create(args: argparse.Namespace) -> None:
    create(args, keystores.TrustedFile(Path(args.cert), args.alias))


def _add(args: argparse.Namespace) -> None:
    opened = open_store(args)
    save(args, opened, keystores.add_trusted_from_file(opened.store, keystores.TrustedFile(Path(args.cert),
                                                                                           args.alias)))
