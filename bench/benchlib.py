"""What every benchmark prints and does alike, so its figures can be read and compared: the machine and its load
before and after, interleaved rounds (ours, peer, ours, peer, ...), medians of at least 3, and a --quick mode (few
rounds, small loads) with which tests/test_bench_quick.py runs every benchmark to completion.

Not a benchmark itself: `make bench` runs every other bench/*.py.
"""

from __future__ import annotations

import argparse
import getpass
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
MIN_ROUNDS = 3


def load() -> str:
    """The machine's load averages (1/5/15 min) and its core count: the context of every figure."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}/{fifteen:.2f} on {os.cpu_count()} cores"


def machine() -> str:
    """The CPU model, core count, OS and Python: what the figures were measured on."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def add_arguments(parser: argparse.ArgumentParser, rounds: int = MIN_ROUNDS) -> None:
    """--rounds (interleaved rounds; the medians need at least 3) and --quick (a smoke run: tiny loads)."""
    parser.add_argument("--rounds", type=int, default=rounds,
                        help=f"interleaved rounds, ours then the peer in each (default {rounds}; at least 3 for a "
                             "figure worth quoting)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run with small loads (tests/test_bench_quick.py): figures NOT to be quoted")


def begin(title: str, parallel: str, args: argparse.Namespace | None = None) -> None:
    """The header every benchmark prints first: what is measured, on what, what runs in parallel, the load."""
    print(title)
    print(f"machine: {machine()}; {load()} before")
    print(f"parallel: {parallel}")
    if args is not None and getattr(args, "quick", False):
        print("--quick: a smoke run with small loads; do not quote these figures")
    elif args is not None and getattr(args, "rounds", MIN_ROUNDS) < MIN_ROUNDS:
        print(f"fewer than {MIN_ROUNDS} rounds: medians of too few runs to quote")
    sys.stdout.flush()


def end() -> None:
    """The load after the run (a rise means the benchmark itself, or a neighbour, loaded the machine)."""
    print(f"{load()} after")
    sys.stdout.flush()


def interleave(rounds: int, sides: dict[str, Callable[[], T]],
               report: Callable[[int, str, T], None] | None = None) -> dict[str, list[T]]:
    """Run each side once per round, in order (ours, peer, ours, peer, ...), so a change in the machine's load
    hits every side alike; `report` sees each result as it comes."""
    results: dict[str, list[T]] = {name: [] for name in sides}
    for round_ in range(rounds):
        for name, run in sides.items():
            result = run()
            results[name].append(result)
            if report is not None:
                report(round_ + 1, name, result)
    return results


def median(values: Iterable[float]) -> float:
    """The median (NaN for none)."""
    ordered = list(values)
    return statistics.median(ordered) if ordered else float("nan")


def runs_text(values: Iterable[float], fmt: str = "{:.2f}") -> str:
    """Every run's figure, for the reader to see the spread behind a median."""
    return ", ".join(fmt.format(v) for v in values)


def ratio(ours: float, peer: float) -> str:
    """ours / peer as `1.23x` (n/a when the peer measured nothing)."""
    return f"{ours / peer:.2f}x" if peer else "n/a"


@dataclass
class MosquittoPeer:
    """A running mosquitto: its process, plain port and (with TLS) mutual-TLS port."""

    process: subprocess.Popen[bytes]
    port: int
    tls_port: int | None


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (default: this one), all its threads."""
    fields = Path(f"/proc/{pid or os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_ports(count: int) -> list[int]:
    """`count` different free loopback ports (mosquitto cannot bind port 0; a tiny race is accepted for a
    benchmark). All are held open until all are chosen, or the OS could hand out one port twice."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@contextmanager
def mosquitto(folder: Path, tls: tuple[Path, Path, Path] | None = None, *, use_identity: bool = False,
              extra: tuple[str, ...] = ()) -> Iterator[MosquittoPeer]:
    """mosquitto configured as its manual advises for a benchmark of connects and messages: TCP_NODELAY on
    (`set_tcp_nodelay true`, as asyncio does for ours), no persistence, only errors and warnings logged, to a file
    (a pipe drained by a thread of the benchmark would cost the measuring process CPU per message). `tls` is
    (CA file, server certificate, server key) for a mutual-TLS listener that requires a client certificate;
    `extra` lines are per-listener settings (per_listener_settings is on), given to every listener."""
    if shutil.which("mosquitto") is None:
        raise SystemExit("mosquitto is not installed (the peer of this benchmark)")
    port, tls_port = free_ports(2)
    lines = [f"user {getpass.getuser()}", "per_listener_settings true", "persistence false",
             "log_dest stderr", "log_type error", "log_type warning", "set_tcp_nodelay true",
             f"listener {port} 127.0.0.1", "allow_anonymous true", *extra]
    if tls is None:
        tls_port = None
    else:
        ca, cert, key = tls
        lines += [f"listener {tls_port} 127.0.0.1", f"cafile {ca}", f"certfile {cert}", f"keyfile {key}",
                  "require_certificate true", "allow_anonymous true", *extra]
        if use_identity:
            lines.append("use_identity_as_username true")
    config = folder / "bench-mosquitto.conf"
    config.write_text("\n".join(lines) + "\n")
    log = (folder / "bench-mosquitto.log").open("wb")
    process = subprocess.Popen(["mosquitto", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 10
        for probe_port in (port, tls_port):
            while probe_port is not None:
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", probe_port)) == 0:
                        break
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit(f"mosquitto did not start: {(folder / 'bench-mosquitto.log').read_text()}")
                time.sleep(0.05)  # bench only: the child binds its listeners
        yield MosquittoPeer(process, port, tls_port)
    finally:
        process.terminate()
        process.wait(10)
        log.close()
