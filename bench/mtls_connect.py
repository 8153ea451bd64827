"""mTLS connect → CONNACK → DISCONNECT per second, our broker vs mosquitto, same certificates and client.

Both brokers run at once and the runs are interleaved (ours, mosquitto, ours, mosquitto, ...) so a change in the
machine's load hits both alike; the figures are medians of ROUNDS runs. mosquitto is configured as its manual
advises for latency-bound clients (`set_tcp_nodelay true`; without it every connect waits ~40 ms on Nagle and
delayed ACKs) and logs only errors and warnings (our broker does not log each connect either).
What runs in parallel: ours is one process (its asyncio loop + N TLS handshake threads), mosquitto one thread; the
client is this process with 4 threads of blocking ssl connects; all share the machine's cores (printed).

Run: python bench/mtls_connect.py [--threads 2] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import benchlib
from cryptography.hazmat.primitives import serialization

from embedded_broker.mqtt.limits import Limits
from workbench.core.pki.issuance import Issuer, create_root_ca, issue_certificate
from workbench.core.pki.keys import KeySpec, dump_private_key_pem, generate_key
from workbench.core.pki.names import parse_dn
from workbench.core.pki.profiles import device_profile, root_ca_profile, server_profile

CONNECTS = 300
WORKERS = 4
ROUNDS = 3
GOAL = 1.5  # our rate over mosquitto's


def connect_packet(client_id: str) -> bytes:
    """An MQTT 3.1.1 CONNECT with a unique client id (a shared id would measure session take-over instead)."""
    cid = client_id.encode()
    body = bytes.fromhex("00044d5154540402003c") + len(cid).to_bytes(2, "big") + cid
    return bytes([0x10, len(body)]) + body
PEM = serialization.Encoding.PEM


def make_pki(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate and one RSA and one EC device, as files."""
    ca_key = generate_key(KeySpec.EC_P256)
    ca = Issuer(create_root_ca(parse_dn("CN=Bench CA"), ca_key, root_ca_profile()), ca_key)
    files: dict[str, bytes] = {"ca.pem": ca.certificate.public_bytes(PEM)}
    server_key = generate_key(KeySpec.EC_P256)
    server = issue_certificate(parse_dn("CN=localhost"), server_key.public_key(), server_profile(), ca)
    files["server.pem"] = server.public_bytes(PEM)
    files["server.key"] = dump_private_key_pem(server_key, None)
    for name, spec in (("rsa", KeySpec.RSA_2048), ("ec", KeySpec.EC_P256)):
        key = generate_key(spec)
        cert = issue_certificate(parse_dn(f"CN=dev-{name}"), key.public_key(), device_profile(), ca)
        files[f"{name}.pem"] = cert.public_bytes(PEM) + ca.certificate.public_bytes(PEM)
        files[f"{name}.key"] = dump_private_key_pem(key, None)
    paths = {}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        paths[name] = folder / name
    return paths


def one_connect(port: int, ctx: ssl.SSLContext, n: int = 0) -> None:
    """One mTLS connect, CONNECT, CONNACK, DISCONNECT."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(connect_packet(f"mtls-{n}"))
        if s.recv(4) != b"\x20\x02\x00\x00":
            raise RuntimeError("connection refused by the broker")
        s.sendall(b"\xe0\x00")


def measure(port: int, pki: dict[str, Path], key: str, pid: int) -> tuple[float, float, float]:
    """(connects per second, the broker's and this client's CPU milliseconds per connect) for one run."""
    ctx = ssl.create_default_context(cafile=str(pki["ca.pem"]))
    ctx.load_cert_chain(str(pki[f"{key}.pem"]), str(pki[f"{key}.key"]))
    one_connect(port, ctx)  # warm up
    cpu_before, client_before = benchlib.cpu_seconds(pid), benchlib.cpu_seconds()
    start = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda n: one_connect(port, ctx, n), range(CONNECTS)))
    elapsed = time.perf_counter() - start
    return (CONNECTS / elapsed, (benchlib.cpu_seconds(pid) - cpu_before) / CONNECTS * 1e3,
            (benchlib.cpu_seconds() - client_before) / CONNECTS * 1e3)


_RUN_OURS = """
import asyncio, dataclasses, sys
from embedded_broker.__main__ import build_parser, run_broker, sandbox_config
config = sandbox_config(build_parser().parse_args(sys.argv[2:]))
limits = dataclasses.replace(config.limits, tls_handshake_threads=int(sys.argv[1]))
asyncio.run(run_broker(dataclasses.replace(config, limits=limits)))
"""


def start_ours(pki: dict[str, Path], threads: int) -> tuple[subprocess.Popen[str], int]:
    """Our broker as `embedded-broker --sandbox` with a mutual-TLS listener (the platform's 8883 code path),
    with `threads` TLS handshake threads."""
    process = subprocess.Popen([sys.executable, "-u", "-c", _RUN_OURS, str(threads), "--sandbox", "--port", "0",
                                "--tls-port", "0", "--cert", str(pki["server.pem"]), "--key", str(pki["server.key"]),
                                "--client-ca", str(pki["ca.pem"]), "--client-cert", "required"],
                               stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()  # type: ignore[union-attr]
    ports = dict(part.split("=") for part in line.split(":", 1)[1].split())
    return process, int(ports["mqtts"])


def main() -> int:
    """Start the brokers, interleave the runs, print medians, the load and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default=str(Limits().tls_handshake_threads),
                        help="comma-separated TLS handshake thread counts of our broker to compare (default: ours)")
    benchlib.add_arguments(parser, rounds=ROUNDS)
    args = parser.parse_args()
    global CONNECTS
    if args.quick:
        CONNECTS, args.rounds = 20, 1
    print(f"machine: {benchlib.machine()}" + ("; --quick: a smoke run, do not quote these figures" if args.quick
                                               else ""))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pki = make_pki(folder)
        ours = {f"ours/{n}": start_ours(pki, int(n)) for n in args.threads.split(",")}
        runs: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
        load_before = os.getloadavg()
        try:
            with benchlib.mosquitto(folder, (pki["ca.pem"], pki["server.pem"], pki["server.key"])) as peer:
                assert peer.tls_port is not None
                servers: dict[str, tuple[subprocess.Popen[Any], int]] = {**ours,
                                                                         "mosquitto": (peer.process, peer.tls_port)}
                for _round in range(args.rounds):
                    for key in ("rsa", "ec"):
                        for name, (process, port) in servers.items():
                            runs.setdefault((name, key), []).append(measure(port, pki, key, process.pid))
        finally:
            for process, _port in ours.values():
                process.terminate()
                process.wait(timeout=10)
        load_after = os.getloadavg()
    print(f"mTLS connect→CONNACK→DISCONNECT: {CONNECTS} connects per run, {WORKERS} client threads (blocking ssl), "
          f"TLS 1.3, EC P-256 server key; medians of {args.rounds} interleaved runs")
    print("parallel: ours/N = 1 event-loop thread + N TLS handshake threads (OpenSSL releases the GIL in "
          "SSL_do_handshake); mosquitto 2 = one thread (set_tcp_nodelay true); the client (this process) and the "
          f"brokers share {os.cpu_count()} CPUs")
    print(f"load average (1/5/15 min) before {_load(load_before)}, after {_load(load_after)}")
    print(f"{'broker':<12}{'key':<5}{'connects/s':>11}{'broker CPU ms':>15}{'client CPU ms':>15}{'vs mosquitto':>14}"
          "   runs /s")
    for key in ("rsa", "ec"):
        reference = _medians(runs[("mosquitto", key)])[0]
        for name in servers:
            rate, cpu, client = _medians(runs[(name, key)])
            verdict = "" if name == "mosquitto" else \
                f" (goal >= {GOAL}x: {'met' if rate / reference >= GOAL else 'NOT met'})"
            print(f"{name:<12}{key:<5}{rate:>11.0f}{cpu:>15.2f}{client:>15.2f}{rate / reference:>13.2f}x   "
                  f"{_rates(runs[(name, key)])}{verdict}")
    cores = os.cpu_count() or 1
    print("A connect costs client + broker CPU on the same cores: the machine cannot exceed cores / (client + broker "
          "CPU per connect) whichever broker runs. Our handshake is the same OpenSSL's, so it costs at least "
          "mosquitto's CPU per connect; the ceiling for any broker here:")
    for key in ("rsa", "ec"):
        rate, cpu, client = _medians(runs[("mosquitto", key)])
        ceiling = cores * 1000 / (cpu + client)
        print(f"  {key}: {cores} cores / ({client:.2f} + {cpu:.2f} ms) = {ceiling:,.0f}/s = {ceiling / rate:.2f}x "
              f"mosquitto's rate (the goal asks {GOAL}x)")
    met = all(_medians(runs[(name, key)])[0] >= GOAL * _medians(runs[("mosquitto", key)])[0]
              for name in servers if name != "mosquitto" for key in ("rsa", "ec"))
    return 0 if met or args.quick else 1


def _medians(runs: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    return (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
            statistics.median(r[2] for r in runs))


def _rates(runs: list[tuple[float, float, float]]) -> str:
    return ", ".join(f"{r[0]:.0f}" for r in runs)


def _load(load: tuple[float, float, float]) -> str:
    return "/".join(f"{v:.2f}" for v in load)


if __name__ == "__main__":
    sys.exit(main())
