"""Run the machine's mosquitto on 127.0.0.1 as an independent broker, from a config file we write."""

from __future__ import annotations

import contextlib
import getpass
import selectors
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def free_port() -> int:
    """mosquitto cannot bind port 0, so ask the OS for a free one (tiny race accepted for a test peer)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_running(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Block until mosquitto logs that it runs (it opens its listeners before that line)."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    seen = b""
    while time.monotonic() < deadline:
        if not selector.select(timeout=deadline - time.monotonic()):
            break
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"mosquitto exited: {seen.decode(errors='replace')}")
        seen += line
        if b" running" in line:
            return
    raise TimeoutError(f"mosquitto did not start: {seen.decode(errors='replace')}")


@dataclass
class Mosquitto:
    """A running mosquitto with its ports."""

    plain_port: int
    tls_port: int | None


@contextlib.contextmanager
def run_mosquitto(folder: Path, *, tls: tuple[Path, Path, Path] | None = None, require_certificate: bool = True,
                  password_file: Path | None = None) -> Iterator[Mosquitto]:
    """Start mosquitto; `tls` is (ca file, server cert, server key) for a mutual-TLS listener."""
    if shutil.which("mosquitto") is None:
        pytest.fail("mosquitto is not installed (.ci/run installs it)")
    plain = free_port()
    # mosquitto started as root switches to its own user and then cannot read our 0700 key folders.
    lines = ["log_dest stderr", "log_type all", f"user {getpass.getuser()}", "per_listener_settings true",
             f"listener {plain} 127.0.0.1"]
    lines += [f"password_file {password_file}", "allow_anonymous false"] if password_file else \
        ["allow_anonymous true"]
    tls_port = None
    if tls is not None:
        tls_port = free_port()
        ca, cert, key = tls
        lines += [f"listener {tls_port} 127.0.0.1", f"cafile {ca}", f"certfile {cert}", f"keyfile {key}",
                  f"require_certificate {'true' if require_certificate else 'false'}", "allow_anonymous true"]
    config = folder / "mosquitto.conf"
    config.write_text("\n".join(lines) + "\n")
    # Unbuffered: select() must see every line, not just the ones Python has not read ahead yet.
    process = subprocess.Popen(["mosquitto", "-c", str(config)], stdout=subprocess.PIPE, bufsize=0,
                               stderr=subprocess.STDOUT)
    try:
        _wait_running(process)
        drain = threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True)  # keep the pipe empty
        drain.start()
        yield Mosquitto(plain, tls_port)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if "drain" in locals():
            drain.join(timeout=5)
        if process.stdout:
            process.stdout.close()
