"""`workbench demo-certs DIR`: a ready-to-use demo PKI (CA, local-platform server certificate, two devices)."""

from __future__ import annotations

import argparse
from pathlib import Path

from workbench.core.pki.keys import KeySpec
from workbench.services.demo_set import DEMO_DEVICES, build_demo_set, write_demo_set

from .common import add_json_option, add_password_options, emit, read_password


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `demo-certs`."""
    demo = sub.add_parser(
        "demo-certs", help="write a demo CA, server certificate (localhost, 127.0.0.1) and two devices",
        description="Write a throw-away PKI into DIR: ca/, server/, devices/<id>/, truststore/, "
                    "bulk-registration.csv and a README.md saying what each file is and which commands use it.")
    demo.add_argument("folder", metavar="DIR", help="new (or empty) folder to create")
    demo.add_argument("--key-type", default="ec-p256", help="key type for every key (default ec-p256)")
    demo.add_argument("--device", action="append", dest="devices", metavar="ID",
                      help=f"device id (repeatable; default {' and '.join(DEMO_DEVICES)})")
    demo.add_argument("--virtual-host", action="append", dest="virtual_hosts", metavar="DOMAIN", default=[],
                      help="also write a Hono-style SNI key store with one key entry per DOMAIN (repeatable, e.g. "
                           "t100.localhost; a wildcard like *.example.com too), for embedded-broker "
                           "--server-keystore")
    demo.add_argument("--vhost-store-type", choices=("pkcs12", "jks"), default="pkcs12",
                      help="format of the virtual-host key store (default pkcs12)")
    add_password_options(demo, "password", "the keys and keystores")
    add_json_option(demo)
    demo.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """Build the set in memory, then write it in one step."""
    spec = KeySpec.parse(args.key_type)
    password = read_password(args, "password", prompt="Password for the demo keys: ", confirm=True)
    files = build_demo_set(password, key_spec=spec, device_ids=tuple(args.devices or DEMO_DEVICES),
                           virtual_hosts=tuple(args.virtual_hosts), vhost_store=args.vhost_store_type)
    folder = Path(args.folder)
    write_demo_set(folder, files)
    result = {"folder": str(folder), "files": [{"path": f.path, "what": f.what} for f in files]}
    emit(args, result, lambda r: f"Wrote the demo certificates to {r['folder']}:\n"
         + "\n".join(f"  {f['path']:<45} {f['what']}" for f in r["files"])
         + f"\nSee {folder / 'README.md'} for the commands that use them.")
    return 0
