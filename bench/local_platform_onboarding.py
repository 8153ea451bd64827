"""The local platform under an onboarding crowd: 1,000 certificate devices, 250 at a time, each doing mTLS connect,
token over s/uat and one measurement; connects/s, token round trip p50/p99 and the platform's memory.

The platform runs as its own process (as the workbench starts it); the devices are a tiny asyncio MQTT 3.1.1
client, so the figures measure the platform, not a client library. Each round onboards fresh devices (the first
connect auto-registers them, so a device onboards once); the figures are medians of --rounds rounds (the
platform's database grows from round to round, as it would). The peer, in the same run: mosquitto (configured as
its manual advises: set_tcp_nodelay true, no persistence, warnings only; bench/benchlib.py) with the same client and
certificates, mTLS connect → CONNACK → DISCONNECT only (it has no token or measurements), interleaved with the same
connect-only crowd on our platform (devices already registered): ours, mosquitto, ours, mosquitto, ...
What is parallel: the platform (one asyncio thread + its TLS handshake threads) and mosquitto (one thread) are
their own processes and both run throughout (the one not measured idles); the client is one asyncio process with
--concurrency connections in flight, sharing the cores with the broker it measures.

Run: python bench/local_platform_onboarding.py [--devices 1000] [--concurrency 250] [--paced 10] [--rounds 3]
[--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import benchlib  # noqa: E402

PEM = serialization.Encoding.PEM
GOAL_RATE = 300  # onboardings per second (issue "platform hardening")
GOAL_TOKEN_P99_MS = 25  # token round trip p99 at the paced load


# --- certificates -------------------------------------------------------------------------------------------------
def _cert(cn: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Certificate | None,
          issuer_key: ec.EllipticCurvePrivateKey, server: bool = False) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer.subject if issuer else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True))
    if server:
        import ipaddress

        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def issue_devices(folder: Path, count: int) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, list[str]]:
    """A root CA and `count` EC P-256 devices (chain and key files, 0600)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("Bench Platform CA", ca_key, None, ca_key)
    ids = []
    for n in range(count):
        device_id = f"bench-dev-{n:04d}"
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(device_id, key, ca, ca_key)
        (folder / f"{device_id}.pem").write_bytes(cert.public_bytes(PEM) + ca.public_bytes(PEM))
        key_path = folder / f"{device_id}.key"
        key_path.write_bytes(_key_pem(key))
        key_path.chmod(0o600)
        ids.append(device_id)
    return ca, ca_key, ids


# --- a tiny MQTT 3.1.1 client -------------------------------------------------------------------------------------
def _string(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def _packet(first: int, body: bytes) -> bytes:
    length, encoded = len(body), bytearray()
    while True:
        digit, length = length % 128, length // 128
        encoded.append(digit | (0x80 if length else 0))
        if not length:
            return bytes([first]) + bytes(encoded) + body


async def _read(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first = (await reader.readexactly(1))[0]
    multiplier, length = 1, 0
    while True:
        digit = (await reader.readexactly(1))[0]
        length += (digit & 127) * multiplier
        multiplier *= 128
        if not digit & 128:
            break
    return first, await reader.readexactly(length)


def _context(folder: Path, device_id: str, server_ca: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(server_ca))
    context.load_cert_chain(str(folder / f"{device_id}.pem"), str(folder / f"{device_id}.key"))
    return context


async def connect_device(port: int, context: ssl.SSLContext, device_id: str, keepalive: int = 60
                         ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """mTLS connect and CONNECT as d:<id>; returns the open streams after CONNACK 0."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="localhost")
    writer.write(_packet(0x10, _string("MQTT") + bytes([4, 0x02]) + keepalive.to_bytes(2, "big")
                         + _string(f"d:{device_id}")))
    kind, body = await _read(reader)
    if kind != 0x20 or body[1] != 0:
        writer.close()
        raise RuntimeError(f"{device_id}: CONNACK {body[1]}")
    return reader, writer


async def request_token(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, device_id: str) -> float:
    """SUBSCRIBE s/dat, PUBLISH an empty s/uat and read the `71,<jwt>` answer; seconds from the request to it."""
    writer.write(_packet(0x82, (1).to_bytes(2, "big") + _string("s/dat") + b"\x00"))
    await _read(reader)
    asked = time.perf_counter()
    writer.write(_packet(0x30, _string("s/uat")))
    kind, body = await _read(reader)
    rtt = time.perf_counter() - asked
    topic_length = int.from_bytes(body[:2], "big")
    if kind & 0xF0 != 0x30 or not body[2 + topic_length:].startswith(b"71,"):
        raise RuntimeError(f"{device_id}: no token ({body[:60]!r})")
    return rtt


async def onboard_device(port: int, context: ssl.SSLContext, device_id: str, full: bool) -> tuple[float, float]:
    """Connect as d:<id>; with `full`, get a token and send one measurement. Returns (connect s, token RTT s)."""
    started = time.perf_counter()
    reader, writer = await connect_device(port, context, device_id)
    try:
        connected = time.perf_counter() - started
        rtt = 0.0
        if full:
            rtt = await request_token(reader, writer, device_id)
            writer.write(_packet(0x32, _string("s/us") + (2).to_bytes(2, "big") + b"211,25.3"))
            kind, _ = await _read(reader)
            if kind != 0x40:
                raise RuntimeError(f"{device_id}: no PUBACK")
        writer.write(b"\xe0\x00")
        await writer.drain()
        return connected, rtt
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass


async def crowd(port: int, contexts: dict[str, ssl.SSLContext], concurrency: int, full: bool
                ) -> tuple[float, list[float], list[float], int]:
    """Every device once, `concurrency` at a time: wall time, connect times, token RTTs, failures."""
    gate = asyncio.Semaphore(concurrency)
    connects: list[float] = []
    rtts: list[float] = []
    failures: list[str] = []

    async def one(device_id: str) -> None:
        async with gate:
            try:
                connected, rtt = await onboard_device(port, contexts[device_id], device_id, full)
            except (OSError, RuntimeError, asyncio.IncompleteReadError, ssl.SSLError) as exc:
                failures.append(f"{device_id}: {exc}")
                return
            connects.append(connected)
            if full:
                rtts.append(rtt)

    started = time.perf_counter()
    await asyncio.gather(*(one(d) for d in contexts))
    if failures:
        print("failures:", *failures[:5], sep="\n  ")
    return time.perf_counter() - started, connects, rtts, len(failures)


# --- the platform process -----------------------------------------------------------------------------------------
def start_platform() -> tuple[subprocess.Popen[str], dict[str, int], Path, str]:
    """`embedded-broker --ephemeral` on free ports; its banner gives ports, CA file and admin password."""
    process = subprocess.Popen([sys.executable, "-m", "embedded_broker", "--ephemeral", "--mqtt-port", "0",
                                "--mqtts-port", "0", "--https-port", "0", "--sys-interval", "0"],
                               stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert process.stdout is not None
    ports_line, ca_line, password_line = (process.stdout.readline().strip() for _ in range(3))
    ports = {k: int(v) for k, v in (p.split("=") for p in ports_line.split(": ", 1)[1].split())}
    return process, ports, Path(ca_line.split(": ", 1)[1]), password_line.rsplit(" ", 1)[1]


def memory_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values["VmRSS"], values["VmHWM"]


def rest(port: int, ca: Path, password: str, method: str, path: str, body: object = None) -> object:
    """A Basic-auth call to the platform's REST API."""
    request = urllib.request.Request(f"https://localhost:{port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Authorization", "Basic " + base64.b64encode(f"t100/admin:{password}".encode()).decode())
    request.add_header("Accept", "application/json")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=str(ca)), timeout=30) as answer:
        return json.loads(answer.read() or b"null")


def main() -> int:
    """Run the crowds round by round, interleave the connect-only comparison, print medians; non-zero exit if any
    device failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=250)
    parser.add_argument("--paced", type=int, default=10,
                        help="concurrency of a second crowd (fresh devices) that measures latency off saturation")
    parser.add_argument("--paced-devices", type=int, default=200)
    benchlib.add_arguments(parser)
    args = parser.parse_args()
    if args.quick:
        args.devices, args.concurrency, args.paced, args.paced_devices, args.rounds = 20, 10, 2, 6, 1
    benchlib.begin(f"local platform onboarding crowd: {args.devices:,} devices, {args.concurrency} at a time, "
                   f"{args.rounds} rounds (medians)",
                   "platform (asyncio + TLS handshake threads) and mosquitto (one thread) in their own processes; "
                   f"one asyncio client process with {args.concurrency} connections in flight", args)
    folder = Path(tempfile.mkdtemp(prefix="bench-platform-"))
    started = time.perf_counter()
    per_round = args.devices + args.paced_devices
    ca, ca_key, all_ids = issue_devices(folder, per_round * args.rounds)
    print(f"issued {len(all_ids):,} EC P-256 device certificates in {time.perf_counter() - started:.1f} s (not timed)")
    key = ec.generate_private_key(ec.SECP256R1())
    (folder / "mosq-ca.pem").write_bytes(ca.public_bytes(PEM))
    (folder / "mosq-server.pem").write_bytes(_cert("localhost", key, ca, ca_key, server=True).public_bytes(PEM))
    (folder / "mosq-server.key").write_bytes(_key_pem(key))
    (folder / "mosq-server.key").chmod(0o600)
    process, ports, server_ca, password = start_platform()
    failures = 0
    figures: dict[str, list[float]] = {}

    def keep(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)

    try:
        rest(ports["https"], server_ca, password, "POST", "/tenant/tenants/t100/trusted-certificates",
             {"name": "Bench CA", "status": "ENABLED", "autoRegistrationEnabled": True,
              "certInPemFormat": ca.public_bytes(PEM).decode()})
        idle, _ = memory_mib(process.pid)
        with benchlib.mosquitto(folder, (folder / "mosq-ca.pem", folder / "mosq-server.pem",
                                         folder / "mosq-server.key")) as peer:
            assert peer.tls_port is not None
            for round_ in range(args.rounds):
                chunk = all_ids[round_ * per_round:(round_ + 1) * per_round]
                ids, paced_ids = chunk[:args.devices], chunk[args.devices:]
                contexts = {d: _context(folder, d, server_ca) for d in ids}
                cpu = benchlib.cpu_seconds(process.pid), benchlib.cpu_seconds()
                wall, connects, rtts, failed = asyncio.run(crowd(ports["mqtts"], contexts, args.concurrency, True))
                keep("platform CPU ms", (benchlib.cpu_seconds(process.pid) - cpu[0]) / len(ids) * 1e3)
                keep("client CPU ms", (benchlib.cpu_seconds() - cpu[1]) / len(ids) * 1e3)
                paced = {d: _context(folder, d, server_ca) for d in paced_ids}
                _wall, _connects, paced_rtts, paced_failed = asyncio.run(crowd(ports["mqtts"], paced, args.paced,
                                                                               True))
                failures += failed + paced_failed
                keep("onboardings/s", len(connects) / wall)
                for label, values in (("saturated", rtts), ("paced", paced_rtts)):
                    p50, _p95, p99 = _percentiles(values)
                    keep(f"{label} p50", p50)
                    keep(f"{label} p99", p99)
                # connect only, interleaved: ours (devices registered by now), then mosquitto, same client and ids
                wall, connects, _rtts, failed = asyncio.run(crowd(ports["mqtts"], contexts, args.concurrency, False))
                keep("ours connects/s", len(connects) / wall)
                failures += failed
                mosq = {d: _context(folder, d, folder / "mosq-ca.pem") for d in ids}
                wall, connects, _rtts, failed = asyncio.run(crowd(peer.tls_port, mosq, args.concurrency, False))
                keep("mosquitto connects/s", len(connects) / wall)
                failures += failed
                print(f"  round {round_ + 1}: {figures['onboardings/s'][-1]:,.0f} onboardings/s, token p50 "
                      f"{figures['saturated p50'][-1]:.1f} ms saturated / {figures['paced p50'][-1]:.1f} ms paced; "
                      f"connect only {figures['ours connects/s'][-1]:,.0f}/s vs mosquitto "
                      f"{figures['mosquitto connects/s'][-1]:,.0f}/s; {benchlib.load()}", flush=True)
        rss, peak = memory_mib(process.pid)
        found = rest(ports["https"], server_ca, password, "GET", "/measurement/measurements?pageSize=1"
                     "&withTotalElements=true")
        total = found["statistics"].get("totalElements", 0) if isinstance(found, dict) else 0
    finally:
        process.terminate()
        process.communicate(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)

    def m(name: str) -> float:
        return benchlib.median(figures[name])

    print(f"platform: {m('onboardings/s'):,.0f} onboardings/s (median; mTLS connect + auto-registration + token + "
          f"measurement), {args.devices:,} devices {args.concurrency} at a time; runs "
          f"{benchlib.runs_text(figures['onboardings/s'], '{:.0f}')}; goal ≥ {GOAL_RATE}/s: "
          f"{'met' if m('onboardings/s') >= GOAL_RATE else 'NOT met'}")
    cores = os.cpu_count() or 1
    print(f"CPU per onboarding: platform {m('platform CPU ms'):.2f} ms, client {m('client CPU ms'):.2f} ms (medians); "
          f"the client shares the {cores} cores, so no platform exceeds {cores} cores / (its + the client's CPU "
          f"per onboarding): {cores * 1000 / (m('platform CPU ms') + m('client CPU ms')):,.0f}/s at this platform's "
          "CPU")
    for label, what in (("saturated", f"{args.concurrency} concurrent (loop saturated by TLS handshakes)"),
                        ("paced", f"{args.paced} concurrent, {args.paced_devices} fresh devices")):
        goal = "" if label == "saturated" else f"; goal p99 ≤ {GOAL_TOKEN_P99_MS} ms: " + \
            ("met" if m(label + " p99") <= GOAL_TOKEN_P99_MS else "NOT met")
        print(f"token round trip (s/uat → 71,<jwt>), {what}: p50 {m(label + ' p50'):.1f} ms, p99 "
              f"{m(label + ' p99'):.1f} ms (medians){goal}")
    print(f"mTLS connect → CONNACK → DISCONNECT, {args.concurrency} concurrent, same client and certificates: ours "
          f"{m('ours connects/s'):,.0f}/s, mosquitto {m('mosquitto connects/s'):,.0f}/s "
          f"({benchlib.ratio(m('ours connects/s'), m('mosquitto connects/s'))}; medians, interleaved)")
    print(f"platform memory: {idle:.0f} MiB idle, {rss:.0f} MiB after, peak {peak:.0f} MiB; {total:,} measurements "
          "stored")
    benchlib.end()
    met = m("onboardings/s") >= GOAL_RATE and m("paced p99") <= GOAL_TOKEN_P99_MS
    return 1 if failures or total < 1 or not (met or args.quick) else 0


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99 in milliseconds."""
    if not values:
        return float("nan"), float("nan"), float("nan")
    ordered = sorted(values)
    pick = lambda q: ordered[min(int(len(ordered) * q), len(ordered) - 1)] * 1000  # noqa: E731
    return statistics.median(ordered) * 1000, pick(0.95), pick(0.99)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
