"""`workbench cert expiring | renew`: the certificate lifecycle from the command line (issue #17).

Why: renewal is what breaks fleets a year after rollout; these verbs list every device certificate the workbench
knows with its expiry, and renew the chosen ones (re-issue from the CA store, or re-enrollment over EST), rewriting
their keystores. The work is in `workbench/services/cert_lifecycle.py`; this module reads options and prints.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

from workbench.cli.ca import _ca_password
from workbench.cli.common import add_json_option, add_password_options, emit, read_file_bytes, read_password
from workbench.core.tls import trust_from_pem
from workbench.errors import InvalidInputError, WorkbenchError
from workbench.paths import default_workspace
from workbench.services import cert_lifecycle as lifecycle
from workbench.services.ca_passwords import CAPasswords
from workbench.services.local_platform import LocalPlatformProcess


def add_verbs(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `expiring` and `renew` to the `cert` command."""
    expiring = sub.add_parser("expiring", help="list the device certificates the workbench knows, soonest expiry "
                                               "first; exit 1 when some expire within --days",
                              description="Looks in the CA store (and the folders it wrote), the onboarding "
                                          "devices, remembered folders and the folders given with --folder (a "
                                          "device folder, or a fleet folder of device folders).")
    expiring.add_argument("--days", type=float, default=30.0, metavar="N",
                          help="list those expiring within N days (default 30; like openssl x509 -checkend)")
    expiring.add_argument("--all", action="store_true", help="list every known certificate, expiring or not")
    _sources(expiring)
    add_json_option(expiring)
    expiring.set_defaults(handler=run_expiring)

    renew = sub.add_parser("renew", help="renew device certificates: re-issue from the CA store, or re-enroll "
                                         "over EST (tenant CA), then rewrite their keystores")
    which = renew.add_argument_group("which certificates (at least one)")
    which.add_argument("--device-id", action="append", default=[], metavar="ID", help="this device (repeatable)")
    which.add_argument("--serial", action="append", default=[], metavar="HEX", help="this serial (repeatable)")
    which.add_argument("--expiring", type=float, metavar="DAYS", help="every one expiring within DAYS")
    _sources(renew)
    add_password_options(renew, "ca_password", "the issuing CA's key (re-issue)")
    add_password_options(renew, "keystore_password", "the keystores when no keystorePassword.txt is beside them")
    add_password_options(renew, "key_password", "encrypted deviceKey.pem files")
    where = renew.add_argument_group("the platform (re-enrollment of EST devices)").add_mutually_exclusive_group()
    where.add_argument("--local", action="store_true", help="the local platform (started or reused)")
    where.add_argument("--url", help="a tenant, e.g. https://mytenant.cumulocity.com")
    renew.add_argument("--server-ca", metavar="FILE", help="with --url: the PEM the device trusts (default: system)")
    add_json_option(renew)
    renew.set_defaults(handler=run_renew)


def _sources(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--folder", action="append", default=[], type=Path, metavar="DIR",
                        help="also look in this device or fleet folder (repeatable)")
    parser.add_argument("--workspace", type=Path, help="the CA store folder (default: the user's workspace)")


def _known(args: argparse.Namespace) -> list[lifecycle.KnownCertificate]:
    for folder in args.folder:
        if not folder.is_dir():
            raise InvalidInputError(f"'{folder}' is not a folder", ("Give a device folder or a fleet folder.",))
    return lifecycle.find_certificates(args.workspace or default_workspace(), args.folder)


def _line(k: lifecycle.KnownCertificate, now: dt.datetime) -> str:
    left = k.days_left(now)
    when = "expired" if left < 0 else (f"{left * 24:.1f} h left" if left < 2 else f"{left:.0f} days left")
    how = k.method or f"cannot renew: {k.why_not}"
    where = k.folder or f"CA '{k.ca}'"
    return f"{k.device_id:24} {k.serial_hex:>16}  {k.not_after:%Y-%m-%d %H:%M} UTC  {when:14} {how:10} {where}"


def run_expiring(args: argparse.Namespace) -> int:
    """Exit 0 when none expires within --days, 1 when some do (a failed check), as `openssl x509 -checkend`."""
    now = dt.datetime.now(dt.UTC)
    known = _known(args)
    soon = lifecycle.expiring(known, args.days, now)
    shown = known if args.all else soon
    result = {"days": args.days, "expiring": len(soon), "certificates": [k.to_dict(now) for k in shown]}
    emit(args, result, lambda _r: "\n".join([_line(k, now) for k in shown]
                                            + [f"{len(soon)} of {len(known)} device certificate(s) expire within "
                                               f"{args.days:g} days"]))
    return 1 if soon else 0


def _choose(args: argparse.Namespace, known: list[lifecycle.KnownCertificate]) -> list[lifecycle.KnownCertificate]:
    if not (args.device_id or args.serial or args.expiring is not None):
        raise InvalidInputError("Say which certificates to renew", ("Pass --device-id, --serial or --expiring DAYS; "
                                                                    "`workbench cert expiring` lists them.",))
    serials = {s.strip().lower().removeprefix("0x").lstrip("0") for s in args.serial}
    chosen = [k for k in known if k.device_id in args.device_id or k.serial_hex.lstrip("0") in serials]
    missing = [d for d in args.device_id if all(k.device_id != d for k in known)]
    missing += [s for s in serials if all(k.serial_hex.lstrip("0") != s for k in known)]
    if missing:
        raise InvalidInputError(f"No known device certificate for {', '.join(missing)}",
                                ("Add the folder holding it with --folder; `workbench cert expiring --all` lists "
                                 "what is known.",))
    if args.expiring is not None:
        chosen += [k for k in lifecycle.expiring(known, args.expiring) if k not in chosen]
    return chosen


def _target(args: argparse.Namespace) -> tuple[lifecycle.EstTarget | None, LocalPlatformProcess | None]:
    if args.server_ca and not args.url:
        raise InvalidInputError("--server-ca goes with --url", ("The local platform's CA is known already.",))
    if args.local:
        local = LocalPlatformProcess()
        info = local.start_or_reuse()
        return lifecycle.EstTarget(info.rest_url, tuple(trust_from_pem(info.server_ca.read_bytes()))), local
    if args.url:
        trust = tuple(trust_from_pem(read_file_bytes(args.server_ca, "server CA"))) if args.server_ca else ()
        return lifecycle.EstTarget(args.url.rstrip("/"), trust), None
    return None, None


def run_renew(args: argparse.Namespace) -> int:
    """Renew the chosen certificates; exit 0 when all were renewed, 1 when any failed."""
    chosen = _choose(args, _known(args))
    keystore_password = read_password(args, "keystore_password") if (args.keystore_password_file or
                                                                     args.keystore_password_env) else None
    key_password = read_password(args, "key_password") if (args.key_password_file or args.key_password_env) else None
    cas = {k.ca for k in chosen if k.method == lifecycle.REISSUE and k.ca}
    asked = {name: _ca_password(args, name) for name in sorted(cas)}  # asked before any work starts
    passwords = CAPasswords(lambda name: asked[name](name) if name in asked else None)
    target, local = _target(args) if any(k.method == lifecycle.REENROLL for k in chosen) else (None, None)
    try:
        request = lifecycle.RenewRequest(args.workspace or default_workspace(), passwords, target,
                                         keystore_password, key_password)
        results = asyncio.run(lifecycle.renew_many(chosen, request))
    finally:
        if local is not None and local.process is not None:
            local.stop()
    rows: list[dict[str, Any]] = []
    for item, outcome in zip(chosen, results, strict=True):
        if isinstance(outcome, WorkbenchError):
            rows.append({"deviceId": item.device_id, "previousSerialHex": item.serial_hex, "ok": False,
                         "error": outcome.to_dict()})
        else:
            rows.append({**outcome.to_dict(), "ok": True})
    failed = sum(1 for r in rows if not r["ok"])
    emit(args, {"renewed": len(rows) - failed, "failed": failed, "results": rows}, lambda _r: "\n".join(
        [f"renewed {r['deviceId']} ({r['method']}): {r['previousSerialHex']} → {r['serialHex']}, valid until "
         f"{r['notAfter'][:16]}, {r['folder']}" if r["ok"] else
         f"✗ {r['deviceId']} ({r['previousSerialHex']}): {r['error']['summary']}"
         + "".join(f"\n    {c}" for c in r["error"].get("causes", [])) for r in rows]
        + [f"{len(rows) - failed} renewed, {failed} failed" if rows else "nothing to renew"]))
    return 1 if failed else 0
