"""`workbench fleet issue`: many device certificates in one call, with the registration CSV for the platform."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from workbench.core.pki.certio import load_certificates
from workbench.core.pki.fleet import FleetTemplate, KeystoreOptions, order_chain_above
from workbench.core.pki.fleet_ids import DeviceEntry, ids_from_pattern, parse_ids_csv
from workbench.core.pki.issuance import Issuer
from workbench.core.pki.keys import KeySpec, load_private_key
from workbench.core.pki.profiles import device_profile
from workbench.errors import InvalidInputError
from workbench.paths import default_workspace
from workbench.services import device_bundle
from workbench.services.ca_passwords import CAPasswords
from workbench.services.fleet import FleetProgress, FleetRequest, FleetResult, issue_fleet
from workbench.services.staged_output import clean_leftovers
from workbench.services.store_fleet import issuer_template, run_store_fleet

from .common import add_json_option, add_password_options, emit, read_file_bytes, read_password, show_notes

DEFAULT_PATTERN = "wb-dev-{n:04d}"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `fleet issue`."""
    fleet = sub.add_parser("fleet", help="issue device certificates in bulk")
    fleet_sub = fleet.add_subparsers(dest="fleet_command", metavar="ACTION", required=True)
    issue = fleet_sub.add_parser(
        "issue", help="issue N devices on all cores, with keys, chains, optional keystores and the registration CSV",
        description="Issue device certificates in bulk. Each device gets <id>/deviceKey.pem (encrypted unless "
                    "--no-password), deviceCert.pem and deviceCertChain.pem (leaf first, up to the root); the "
                    "folder also gets bulk-registration.csv for the platform and manifest.json.")
    ca = issue.add_argument_group("signing CA")
    ca.add_argument("--ca", metavar="NAME", help="a CA of the CA store (serials and records go to the store)")
    ca.add_argument("--workspace", type=Path, help="the CA store folder for --ca (default: the user's workspace)")
    ca.add_argument("--ca-cert", metavar="FILE",
                    help="or a CA certificate file (PEM; further certificates in the file are taken as its chain)")
    ca.add_argument("--ca-key", metavar="FILE", help="the CA private key, with --ca-cert")
    ca.add_argument("--ca-chain", metavar="FILE", help="certificates above the CA, up to the root (PEM bundle)")
    add_password_options(ca, "ca_password", "the CA key (only asked when the key is encrypted)")
    ids = issue.add_argument_group("device ids (the certificate CN and MQTT client id)")
    source = ids.add_mutually_exclusive_group(required=True)
    source.add_argument("--count", type=int, metavar="N", help="issue N devices named by --pattern")
    source.add_argument("--ids-csv", metavar="FILE",
                        help="ids from a CSV: one per line, or an ID column (TYPE, NAME, IDTYPE are kept)")
    ids.add_argument("--pattern", default=DEFAULT_PATTERN, help=f"id pattern with {{n}} (default {DEFAULT_PATTERN})")
    ids.add_argument("--start", type=int, default=1, help="first number for the pattern (default 1)")
    dev = issue.add_argument_group("device certificates")
    dev.add_argument("--key-type", default="ec-p256", help="ec-p256 (default), ec-p384, rsa2048, rsa3072, rsa4096")
    dev.add_argument("--days", type=int, default=0, help="validity in days (default 365, as the guide)")
    dev.add_argument("--no-client-auth", action="store_true", help="leave out EKU clientAuth (the guide's exact set)")
    dev.add_argument("--subject-extra", default="", metavar="DN", help="attributes beside the CN, e.g. 'O=ACME,C=PL'")
    add_password_options(dev, "password", "the device keys")
    out = issue.add_argument_group("output")
    out.add_argument("--out", required=True, metavar="DIR", help="new (or empty) folder to create")
    out.add_argument("--keystore", choices=("pkcs12", "jks"), help="also write deviceKeystore.<type> per device")
    add_password_options(out, "keystore_password", "the keystores (default: the device key password)")
    out.add_argument("--keystore-password-per-device", action="store_true",
                     help="a random keystore password per device, in <id>/keystorePassword.txt (mode 0600)")
    out.add_argument("--truststore-cert", metavar="FILE",
                     help="also write deviceTruststore.<type> with this server (or CA) certificate per device")
    out.add_argument("--csv-separator", default=";", choices=(";", ",", "tab"), help="bulk CSV separator")
    out.add_argument("--device-type", default="", help="TYPE column for every device, e.g. c8y_Device")
    out.add_argument("--id-type", default="", help="IDTYPE column (the platform's default is c8y_Serial)")
    issue.add_argument("--jobs", type=int, help="worker processes (default: every core)")
    add_json_option(issue)
    issue.set_defaults(handler=run_issue)


def _issuer(args: argparse.Namespace) -> FleetTemplate:
    if args.ca:
        passwords = CAPasswords.given(read_password(args, "ca_password", prompt=f"Password of CA '{args.ca}': "))
        return issuer_template(args.workspace or default_workspace(), args.ca, passwords)
    if not (args.ca_cert and args.ca_key):
        raise InvalidInputError("Say which CA signs the devices",
                                ("Use --ca NAME for a CA of the store, or --ca-cert FILE with --ca-key FILE.",))
    certs = load_certificates(read_file_bytes(args.ca_cert, "CA certificate"), "CA certificate file")
    extra = load_certificates(read_file_bytes(args.ca_chain, "CA chain"), "CA chain file") if args.ca_chain else []
    key_bytes = read_file_bytes(args.ca_key, "CA key")
    password = None
    if b"ENCRYPTED" in key_bytes:
        password = read_password(args, "ca_password", prompt="CA key password: ")
    issuer = Issuer(certs[0], load_private_key(key_bytes, password))
    return FleetTemplate.for_issuer(issuer, order_chain_above(certs[0], [*certs[1:], *extra]))


def _devices(args: argparse.Namespace) -> list[DeviceEntry]:
    if args.ids_csv:
        return parse_ids_csv(read_file_bytes(args.ids_csv, "ids CSV"), f"'{args.ids_csv}'")
    return ids_from_pattern(args.pattern, args.count, args.start)


def progress_printer(stream: TextIO) -> Callable[[FleetProgress], None]:
    """Progress on stderr: one updating line on a terminal, a line per tenth otherwise (logs stay short)."""
    tty = stream.isatty()
    last = [-1]

    def show(p: FleetProgress) -> None:
        text = f"issued {p.done}/{p.total} devices ({p.rate:.0f}/s)"
        if tty:
            print(f"\r{text}", end="\n" if p.done == p.total else "", file=stream, flush=True)
            return
        tenth = p.done * 10 // p.total
        if tenth > last[0]:
            last[0] = tenth
            print(text, file=stream, flush=True)

    return show


def run_issue(args: argparse.Namespace) -> int:
    """Collect the inputs, check them all before any key is made, then issue on every core."""
    devices = _devices(args)
    spec = KeySpec.parse(args.key_type)
    issuer = _issuer(args)  # the CA's password is the first question, and is checked now
    profile = device_profile(validity_days=args.days, client_auth=not args.no_client_auth)
    key_password = read_password(args, "password", prompt="Password for the device keys: ", confirm=True)
    keystore = None
    truststore = b""
    kind = args.keystore or "pkcs12"
    store_password = None
    if (args.keystore and not args.keystore_password_per_device) or args.truststore_cert:
        store_password = read_password(args, "keystore_password", prompt="Keystore password: ", confirm=True,
                                       required=False) or key_password
        if not store_password:
            raise InvalidInputError("Keystores and truststores need a password",
                                    ("Give --keystore-password-file/-env, or a device key password to reuse.",))
    if args.keystore:
        keystore = KeystoreOptions(kind=args.keystore, password=store_password,
                                   per_device_password=args.keystore_password_per_device)
    if args.truststore_cert:
        trusted = load_certificates(read_file_bytes(args.truststore_cert, "truststore certificate"))
        truststore = device_bundle.truststore(trusted, store_password or b"", kind)
    template = replace(issuer, key_spec=spec, profile=profile, subject_extra=args.subject_extra,
                       key_password=key_password, keystore=keystore, truststore=truststore, truststore_kind=kind)
    request = FleetRequest(template, devices, Path(args.out), jobs=args.jobs, csv_separator=args.csv_separator,
                           device_type=args.device_type, id_type=args.id_type)
    if args.ca:
        run = run_store_fleet(args.workspace or default_workspace(), args.ca, request,
                              progress=progress_printer(sys.stderr))
        show_notes(run.notes)
        if run.recovered is not None:
            emit(args, run.recovered, lambda r: f"The interrupted run into {r['out_dir']} was finished ({r['count']} "
                 "devices); nothing more to issue.")
            return 0
        assert run.result is not None
        result = run.result
    else:
        show_notes(clean_leftovers(Path(args.out).absolute().parent))
        result = issue_fleet(request, progress=progress_printer(sys.stderr))
    emit(args, _summary(result), _human)
    return 0


def _summary(result: FleetResult) -> dict[str, object]:
    return {"out_dir": str(result.out_dir), "count": len(result.records), "seconds": round(result.elapsed, 3),
            "workers": result.workers, "bulk_registration_csv": str(result.csv_path),
            "manifest": str(result.out_dir / "manifest.json"), "chain_to_root": result.manifest.get("chain_to_root"),
            "devices": [{"id": r.device_id, "serial": format(r.serial, "X"), "sha1": r.sha1} for r in result.records]}


def _human(summary: dict) -> str:
    count, seconds = summary["count"], summary["seconds"]
    lines = [f"Issued {count} devices into {summary['out_dir']} in {seconds:.1f} s "
             f"({count / max(seconds, 1e-3):.0f}/s, {summary['workers']} worker(s))",
             f"  registration CSV: {summary['bulk_registration_csv']}  (upload to the platform's bulk registration)",
             f"  manifest:         {summary['manifest']}"]
    if not summary["chain_to_root"]:
        lines.append("  warning: deviceCertChain.pem stops below a root; pass --ca-chain with the certificates above")
    return "\n".join(lines)
