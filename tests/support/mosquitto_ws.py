"""mosquitto with WebSocket listeners (ws://, and wss:// with mutual TLS) beside a plain TCP one, as an independent
broker for the WebSocket transport.

mosquitto 2.0.x starts no WebSocket listener on its own ("Unable to start any listening sockets" when every listener
is a WebSocket one), so a plain TCP listener always comes first; it also lets mosquitto_pub/sub join in over TCP.
libwebsockets ignores the bind address: the WebSocket ports listen on every interface, and tests only connect to
127.0.0.1.
"""

from __future__ import annotations

import contextlib
import getpass
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.mosquitto import _wait_running, free_port


@dataclass
class WebSocketMosquitto:
    """The ports of a running mosquitto: plain TCP, WebSocket, and WebSocket over TLS (None without TLS files)."""

    tcp_port: int
    ws_port: int
    wss_port: int | None


@contextlib.contextmanager
def run_mosquitto_ws(folder: Path, *, tls: tuple[Path, Path, Path] | None = None,
                     require_certificate: bool = True) -> Iterator[WebSocketMosquitto]:
    """Start mosquitto with TCP, ws and (given `tls` = (ca file, server cert, server key)) wss listeners."""
    if shutil.which("mosquitto") is None:
        pytest.fail("mosquitto is not installed (.ci/run installs it)")
    tcp, ws = free_port(), free_port()
    lines = ["log_dest stderr", "log_type all", f"user {getpass.getuser()}", "per_listener_settings true",
             f"listener {tcp} 127.0.0.1", "allow_anonymous true",
             f"listener {ws} 127.0.0.1", "protocol websockets", "allow_anonymous true"]
    wss = None
    if tls is not None:
        wss = free_port()
        ca, cert, key = tls
        lines += [f"listener {wss} 127.0.0.1", "protocol websockets", f"cafile {ca}", f"certfile {cert}",
                  f"keyfile {key}", f"require_certificate {'true' if require_certificate else 'false'}",
                  "allow_anonymous true"]
    config = folder / "mosquitto-ws.conf"
    config.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen(["mosquitto", "-c", str(config)], stdout=subprocess.PIPE, bufsize=0,
                               stderr=subprocess.STDOUT)
    drain = None
    try:
        _wait_running(process)
        drain = threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True)  # type: ignore[union-attr]
        drain.start()
        yield WebSocketMosquitto(tcp, ws, wss)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if drain is not None:
            drain.join(timeout=5)
        if process.stdout:
            process.stdout.close()
