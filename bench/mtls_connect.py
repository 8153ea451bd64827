"""mTLS connect → CONNACK → DISCONNECT per second, our broker vs mosquitto, same certificates and client."""

from __future__ import annotations

import getpass
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from workbench.core.pki.issuance import Issuer, create_root_ca, issue_certificate
from workbench.core.pki.keys import KeySpec, dump_private_key_pem, generate_key
from workbench.core.pki.names import parse_dn
from workbench.core.pki.profiles import device_profile, root_ca_profile, server_profile

CONNECTS = 200
WORKERS = 4


def connect_packet(client_id: str) -> bytes:
    """An MQTT 3.1.1 CONNECT with a unique client id (a shared id would measure session take-over instead)."""
    cid = client_id.encode()
    body = bytes.fromhex("00044d5154540402003c") + len(cid).to_bytes(2, "big") + cid
    return bytes([0x10, len(body)]) + body
PEM = serialization.Encoding.PEM


def make_pki(folder: Path) -> dict[str, Path]:
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
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(connect_packet(f"mtls-{n}"))
        if s.recv(4) != b"\x20\x02\x00\x00":
            raise RuntimeError("connection refused by the broker")
        s.sendall(b"\xe0\x00")


def measure(port: int, pki: dict[str, Path], key: str, pid: int) -> tuple[float, float]:
    ctx = ssl.create_default_context(cafile=str(pki["ca.pem"]))
    ctx.load_cert_chain(str(pki[f"{key}.pem"]), str(pki[f"{key}.key"]))
    one_connect(port, ctx)  # warm up
    cpu_before = cpu_seconds(pid)
    start = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda n: one_connect(port, ctx, n), range(CONNECTS)))
    elapsed = time.perf_counter() - start
    return CONNECTS / elapsed, (cpu_seconds(pid) - cpu_before) / CONNECTS * 1e3


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_ours(pki: dict[str, Path]) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen([sys.executable, "-u", "-m", "embedded_broker", "--sandbox", "--port", "0",
                                "--tls-port", "0", "--cert", str(pki["server.pem"]), "--key", str(pki["server.key"]),
                                "--client-ca",
                                str(pki["ca.pem"]), "--client-cert", "required"], stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()  # type: ignore[union-attr]
    ports = dict(part.split("=") for part in line.split(":", 1)[1].split())
    return process, int(ports["mqtts"])


def start_mosquitto(pki: dict[str, Path], folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = folder / "mosquitto.conf"
    config.write_text(f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\ncafile {pki['ca.pem']}\n"
                      f"certfile {pki['server.pem']}\nkeyfile {pki['server.key']}\nrequire_certificate true\n"
                      "allow_anonymous true\nlog_dest stderr\n")
    process = subprocess.Popen(["mosquitto", "-c", str(config)], stderr=subprocess.PIPE)
    for line in process.stderr:  # type: ignore[union-attr]
        if b" running" in line:
            break
    # Keep reading its log, or mosquitto blocks on a full pipe once connections start.
    threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()  # type: ignore[union-attr]
    return process, port


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pki = make_pki(folder)
        results = {}
        for name, starter in (("ours", lambda: start_ours(pki)), ("mosquitto", lambda: start_mosquitto(pki, folder))):
            process, port = starter()
            try:
                for key in ("rsa", "ec"):
                    results[(name, key)] = measure(port, pki, key, process.pid)
            finally:
                process.terminate()
                process.wait(timeout=10)
        print(f"mTLS connect→CONNACK→DISCONNECT, {CONNECTS} connects, {WORKERS} client threads, TLS 1.3, "
              "EC P-256 server key")
        print(f"{'client key':<12}{'ours /s':>10}{'ours CPU ms':>13}{'mosquitto /s':>14}{'mosq CPU ms':>13}"
              f"{'ratio':>8}{'target':>10}")
        for key in ("rsa", "ec"):
            ours, mosq = results[("ours", key)], results[("mosquitto", key)]
            verdict = "PASS" if ours[0] >= 180 else "FAIL"
            print(f"{key:<12}{ours[0]:>10.0f}{ours[1]:>13.2f}{mosq[0]:>14.0f}{mosq[1]:>13.2f}"
                  f"{ours[0] / mosq[0]:>7.2f}x{'>=180 ' + verdict:>12}")


if __name__ == "__main__":
    main()
