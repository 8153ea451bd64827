"""`workbench simulate`: rehearse a fleet of certificate devices against the local platform, a tenant or any broker,
with a one-line live display, a clean Ctrl+C, `--json` for CI, `--locustfile` for runs spread over machines, and
certificate renewal of an EST-enrolled fleet (`--enroll N --renew-cert-at 0.75`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from workbench.core.pki.certio import load_certificates
from workbench.core.tls import server_context, trust_from_pem
from workbench.errors import InvalidInputError
from workbench.paths import default_workspace
from workbench.services.ca_passwords import CAPasswords
from workbench.services.cert_lifecycle import check_fraction
from workbench.services.fleet_simulator import (
    LOCUSTFILE,
    PATTERNS,
    REGISTRATIONS,
    Behaviour,
    Fleet,
    PlatformLink,
    RunOptions,
    Simulator,
    Target,
    enroll_over_est,
    fleet_from_csv,
    fleet_from_folder,
    fleet_from_ids,
    issue_from_store,
    one_line,
)
from workbench.services.local_platform import LocalPlatformProcess
from workbench.services.platform_http import PlatformCredentials

from .common import add_json_option, add_password_options, read_file_bytes, read_password

_QUIET_EVERY = 10.0  # seconds between progress lines when stderr is not a terminal


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `simulate`."""
    p = sub.add_parser("simulate", help="run a fleet of simulated certificate devices (load and recovery rehearsal)",
                       description="Each device connects with its own certificate as d:<CN>, gets a token over "
                                   "s/uat, renews it at half-life, sends measurements, answers operations and "
                                   "reconnects with backoff; with --renew-cert-at, devices enrolled over EST renew "
                                   "their certificates too. Ctrl+C stops cleanly and prints the summary.")
    p.add_argument("--locustfile", action="store_true", help="print the path of the Locust user class and exit")
    src = p.add_argument_group("fleet (one of)")
    src.add_argument("--fleet", metavar="DIR", help="a fleet folder of `workbench fleet issue`")
    src.add_argument("--csv", metavar="FILE", help="a bulk-registration (or ids) CSV; keys from --keys DIR/<id>/")
    src.add_argument("--keys", metavar="DIR", help="with --csv: the folder of the device folders (default: beside)")
    src.add_argument("--issue", type=int, metavar="N", help="issue N devices from --ca into --out (reused if there)")
    src.add_argument("--enroll", type=int, metavar="N",
                     help="enroll N devices over EST with the tenant CA into --out (needs --local or --url; devices "
                          "already there are reused); these can renew their certificates (--renew-cert-at)")
    src.add_argument("--cert-validity", type=int, metavar="SECONDS",
                     help="with --enroll, local platform only: the tenant CA issues certificates valid SECONDS "
                          "(60 or more; the option local-platform/est.certificate.validity.seconds) to rehearse "
                          "renewal in minutes")
    src.add_argument("--ca", metavar="NAME", help="with --issue: a CA of the store")
    src.add_argument("--workspace", type=Path, help="the CA store folder (default: the user's workspace)")
    src.add_argument("--out", metavar="DIR", help="with --issue or --enroll: the fleet folder")
    src.add_argument("--ids", type=int, metavar="N", help="N devices without certificates (plain MQTT only)")
    add_password_options(src, "ca_password", "the CA key (with --issue)")
    add_password_options(src, "key_password", "encrypted device keys")
    src.add_argument("--devices", type=int, metavar="N", help="only the first N devices of the fleet")
    src.add_argument("--slice", metavar="I/N", help="the I-th (from 0) of N disjoint slices, e.g. 0/2")
    tgt = p.add_argument_group("target (one of)")
    tgt.add_argument("--local", action="store_true", help="the local platform (started or reused)")
    tgt.add_argument("--url", help="a tenant's REST URL, e.g. https://t123.example.com (or a local platform's)")
    tgt.add_argument("--user", help="with --url: the admin user, e.g. t123/admin")
    add_password_options(tgt, "tenant_password", "the tenant user")
    tgt.add_argument("--mqtt-host", help="with --url: MQTT host (default: the URL's host)")
    tgt.add_argument("--mqtt-port", type=int, default=8883, help="with --url: MQTT over TLS port (default 8883)")
    tgt.add_argument("--server-ca", metavar="FILE", help="trust these certificates for the server (default: system)")
    tgt.add_argument("--broker", metavar="HOST:PORT", help="a standards MQTT broker: no platform flow")
    tgt.add_argument("--tls", action="store_true", help="with --broker: MQTT over TLS (the device certificates)")
    run = p.add_argument_group("run")
    run.add_argument("--registration", choices=REGISTRATIONS, default=None,
                     help="auto (the CA's auto-registration, default), bulk (upload the CSV) or none (default with "
                          "--enroll: enrolment registered the devices)")
    run.add_argument("--upload-ca", action="store_true",
                     help="upload the fleet's CA to the tenant (auto-registration on) when it is missing")
    run.add_argument("--interval", type=float, default=Behaviour.interval,
                     help="seconds between measurements per device")
    run.add_argument("--pattern", choices=PATTERNS, default=Behaviour.pattern, help="steady, random or burst")
    run.add_argument("--qos", type=int, choices=(0, 1), default=Behaviour.qos,
                     help="QoS of measurements (1 gives latency)")
    run.add_argument("--duration", type=float, help="seconds to run (default: until Ctrl+C)")
    run.add_argument("--concurrency", type=int, default=RunOptions.connect_concurrency,
                     help="TCP+TLS handshakes in flight (default %(default)s)")
    run.add_argument("--ramp", type=float, default=RunOptions.ramp_per_s,
                     help="device starts per second (default: all at once)")
    run.add_argument("--renew-cert-at", type=float, metavar="FRACTION",
                     help="re-enroll each device's certificate over EST once FRACTION (0..1, e.g. 0.75) of its "
                          "validity has passed, then reconnect with it (off by default). Applies to fleets enrolled "
                          "over EST with the tenant CA (--enroll, or their folder); a fleet issued from a CA of the "
                          "store keeps its certificates")
    chaos = p.add_argument_group("chaos")
    chaos.add_argument("--drop", metavar="FRACTION@SECONDS", help="drop a fraction of the connections at a time")
    chaos.add_argument("--ca-off", metavar="SECONDS@AT", help="disable the fleet's CA in the tenant for a while")
    out = p.add_argument_group("output")
    out.add_argument("--events", action="store_true", help="JSON lines on stdout: each request and the figures")
    add_json_option(p)
    p.set_defaults(handler=run_simulate)


def _at(text: str | None, what: str) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        value, at = text.split("@", 1)
        return float(value), float(at)
    except ValueError:
        raise InvalidInputError(f"--{what} '{text}' is not VALUE@SECONDS", (f"For example --{what} 0.5@10.",)) \
            from None


def _fleet(args: argparse.Namespace) -> Fleet | None:
    """The fleet, checked before anything starts; None for --enroll (enrolled once the target is known)."""
    chosen = [name for name in ("fleet", "csv", "issue", "enroll", "ids") if getattr(args, name) is not None]
    if len(chosen) != 1:
        raise InvalidInputError("Say which fleet to simulate (one source)",
                                ("Use --fleet DIR, --csv FILE, --issue N --ca NAME --out DIR, --enroll N --out DIR, "
                                 "or --ids N.",))
    if args.renew_cert_at is not None:
        check_fraction(args.renew_cert_at)
    if args.cert_validity is not None and args.enroll is None:
        raise InvalidInputError("--cert-validity goes with --enroll", ("It sets the validity of enrolled devices.",))
    if args.enroll is not None:
        if not args.out or args.enroll < 1:
            raise InvalidInputError("--enroll N needs --out DIR (and N >= 1)", ())
        if args.broker:
            raise InvalidInputError("--enroll needs the platform's EST endpoints", ("Use --local or --url.",))
        return None
    key_password = read_password(args, "key_password", required=False) \
        if args.key_password_file or args.key_password_env else None
    if args.fleet:
        fleet = fleet_from_folder(Path(args.fleet), key_password)
    elif args.csv:
        fleet = fleet_from_csv(Path(args.csv), Path(args.keys) if args.keys else None, key_password,
                               with_keys=not (args.broker and not args.tls))
    elif args.issue is not None:
        if not (args.ca and args.out) or args.issue < 1:
            raise InvalidInputError("--issue N needs --ca NAME and --out DIR (and N >= 1)", ())
        password = read_password(args, "ca_password", prompt=f"Password of CA '{args.ca}': ")
        fleet = issue_from_store(args.workspace or default_workspace(), args.ca, args.issue, Path(args.out),
                                 CAPasswords.given(password))
    else:
        if not args.broker or args.tls:
            raise InvalidInputError("--ids is for a plain MQTT broker (--broker without --tls)",
                                    ("Certificate devices need a fleet: --fleet, --csv or --issue.",))
        fleet = fleet_from_ids(args.ids)
    return _narrow(args, fleet)


def _narrow(args: argparse.Namespace, fleet: Fleet) -> Fleet:
    """--devices and --slice."""
    fleet = fleet.first(args.devices)
    if args.slice:
        try:
            index, count = (int(x) for x in args.slice.split("/", 1))
        except ValueError:
            raise InvalidInputError(f"--slice '{args.slice}' is not I/N", ("For example --slice 0/2.",)) from None
        fleet = fleet.slice(index, count)
    return fleet


def _target(args: argparse.Namespace) -> tuple[Target, PlatformLink | None, LocalPlatformProcess | None]:
    chosen = [name for name in ("local", "url", "broker") if getattr(args, name)]
    if len(chosen) != 1:
        raise InvalidInputError("Say where the devices connect (one target)",
                                ("Use --local, --url URL --user T/U, or --broker HOST:PORT.",))
    trust = tuple(load_certificates(read_file_bytes(args.server_ca, "server CA"), "server CA file")) \
        if args.server_ca else ()
    if args.broker:
        host, _, port = args.broker.rpartition(":")
        if not host or not port.isdigit():
            raise InvalidInputError(f"--broker '{args.broker}' is not HOST:PORT", ("For example localhost:1883.",))
        return Target(host, int(port), platform=False, tls=args.tls, server_trust=trust), None, None
    if args.local:
        local = LocalPlatformProcess()
        info = local.start_or_reuse()
        trust = trust_from_pem(info.server_ca.read_bytes())
        link = PlatformLink(info.rest_url, PlatformCredentials("admin", info.admin_password, "t100"),
                            server_context(trust))
        return Target("localhost", info.ports["mqtts"], server_trust=trust), link, local
    if not args.user:
        raise InvalidInputError("--url needs --user", ("For example --user t123/admin.",))
    password = read_password(args, "tenant_password", prompt=f"Password for {args.user} at {args.url}: ")
    tenant, _, user = args.user.rpartition("/")
    link = PlatformLink(args.url.rstrip("/"), PlatformCredentials(user, (password or b"").decode(), tenant or None),
                        server_context(trust))
    host = args.mqtt_host or args.url.split("://", 1)[-1].split("/")[0].rsplit(":", 1)[0]
    return Target(host, args.mqtt_port, server_trust=trust), link, None


class _Progress:
    """One updating line on a terminal; a line every few seconds otherwise; JSON lines with --events."""

    def __init__(self, stream: TextIO, events: bool) -> None:
        self.stream, self.events, self.tty = stream, events, stream.isatty()
        self.last = 0.0

    def request(self, kind: str, seconds: float, error: str | None) -> None:
        print(json.dumps({"event": "request", "kind": kind, "ms": round(seconds * 1000, 3), "error": error}),
              flush=True)

    def tick(self, snap: dict[str, Any]) -> None:
        if self.events:
            print(json.dumps({"event": "figures", "figures": snap}), flush=True)
        line = one_line(snap)
        if self.tty:
            print(f"\r\x1b[2K{line[:400]}", end="", file=self.stream, flush=True)
        elif time.monotonic() - self.last >= _QUIET_EVERY:
            self.last = time.monotonic()
            print(line, file=self.stream, flush=True)

    def end(self) -> None:
        if self.tty:
            print(file=self.stream, flush=True)


async def _main(args: argparse.Namespace, sim: Simulator, progress: _Progress) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, sim.stop)
    for note in await sim.register():
        print(note, file=sys.stderr, flush=True)
    chaos: list[asyncio.Task[Any]] = []
    drop, ca_off = _at(args.drop, "drop"), _at(args.ca_off, "ca-off")

    async def later(at: float, action: Any) -> None:
        await asyncio.sleep(at)
        result = action()
        if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
            await result

    if drop is not None:
        chaos.append(asyncio.create_task(later(drop[1], lambda: sim.drop(drop[0]))))
    if ca_off is not None:
        chaos.append(asyncio.create_task(later(ca_off[1], lambda: sim.start_disable_ca(ca_off[0]))))
    try:
        return await sim.run(args.duration, progress.tick)
    finally:
        for task in chaos:
            task.cancel()
        await asyncio.gather(*chaos, return_exceptions=True)
        progress.end()


def _enroll(args: argparse.Namespace, target: Target, link: PlatformLink | None) -> Fleet:
    """--enroll N: the devices enrolled over EST into --out (those already there reused)."""
    assert link is not None  # --enroll is refused with --broker

    async def main() -> Fleet:
        async with link.session() as http:
            return await enroll_over_est(http, args.enroll, Path(args.out), target.server_trust,
                                         validity_seconds=args.cert_validity)

    print(f"enrolling {args.enroll} devices over EST into {args.out}", file=sys.stderr, flush=True)
    return asyncio.run(main())


def run_simulate(args: argparse.Namespace) -> int:
    """Check every input first, then run until Ctrl+C or --duration; exit 1 when no device ever connected."""
    if args.locustfile:
        print(LOCUSTFILE)
        return 0
    chosen = _fleet(args)
    target, link, local = _target(args)
    try:
        fleet = chosen if chosen is not None else _narrow(args, _enroll(args, target, link))
        progress = _Progress(sys.stderr, args.events)
        registration = args.registration or ("none" if args.enroll is not None else RunOptions.registration)
        sim = Simulator(fleet, target, Behaviour(interval=args.interval, pattern=args.pattern, qos=args.qos,
                                                 renew_cert_at=args.renew_cert_at), link,
                        RunOptions(registration=registration, upload_ca=args.upload_ca,
                                   connect_concurrency=args.concurrency, ramp_per_s=args.ramp,
                                   on_request=progress.request if args.events else None))
        print(f"simulating {len(fleet)} devices of {fleet.origin} against {target.describe()}; Ctrl+C stops",
              file=sys.stderr, flush=True)
        summary = asyncio.run(_main(args, sim, progress))
    finally:
        if local is not None and local.process is not None:
            local.stop()
    if args.events:
        print(json.dumps({"event": "summary", "figures": summary}), flush=True)
    elif args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(one_line(summary))
        for reason, count in summary["errors"].items():
            print(f"  {count:>6} x {reason}")
    return 0 if summary["totals"].get("connects", 0) else 1
