"""A CONNECT followed at once by a malformed packet: the CONNACK owed for the CONNECT goes out before the close.

mosquitto's answer to the 3.1.1 bytes below is `20 02 00 00` and then the close; MQTT 5 also gets the DISCONNECT
with the reason after the CONNACK.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.broker import wire
from tests.broker.conftest import WAIT
from tests.support.polling import poll

CONNECT_311 = bytes.fromhex("10 12 00 04 4d 51 54 54 04 02 00 3c 00 06 63 6d 70 63 6c 69")
BAD_PUBLISH = bytes.fromhex("36 0a 00 06 66 7a 2f 63 6d 70 00 05")  # QoS 3: a malformed packet


def _everything_until_close(port: int, data: bytes) -> bytes:
    """Send `data` in one write and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(data)
        received = b""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(4096)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        else:
            pytest.fail(f"the server did not close the connection; got {received.hex(' ')}")
        return received


def test_connack_before_close_for_311(port: int) -> None:
    assert _everything_until_close(port, CONNECT_311 + BAD_PUBLISH) == bytes.fromhex("20 02 00 00")


def test_connack_before_close_for_31(port: int) -> None:
    assert _everything_until_close(port, wire.connect("cmpcli31", version=3) + BAD_PUBLISH) == \
        bytes.fromhex("20 02 00 00")


def test_connack_then_disconnect_with_reason_for_v5(port: int) -> None:
    received = _everything_until_close(port, wire.connect("cmpcli5", version=5) + BAD_PUBLISH)
    assert received[0] == 0x20 and received[3] == 0x00, received.hex(" ")  # CONNACK, reason Success
    connack_end = 2 + received[1]
    disconnect = received[connack_end:]
    assert disconnect[0] == 0xE0, received.hex(" ")
    assert disconnect[2] in (0x81, 0x82), received.hex(" ")  # malformed packet / protocol error


def test_a_valid_connect_alone_still_gets_its_connack(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(CONNECT_311)
        assert sock.recv(4) == bytes.fromhex("20 02 00 00")


@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="mosquitto is not installed")
def test_mosquitto_is_the_reference(tmp_path: Path) -> None:
    """The same bytes against mosquitto itself: the expected answer above is the reference's."""
    with socket.socket() as probe:  # a free port the OS chose; mosquitto cannot listen on port 0
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    config = tmp_path / "mosquitto.conf"
    config.write_text(f"listener {free} 127.0.0.1\nallow_anonymous true\n")
    process = subprocess.Popen(["mosquitto", "-c", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        def listening() -> bool:  # a port that is not open yet raises no event to wait on
            try:
                socket.create_connection(("127.0.0.1", free), timeout=WAIT).close()
                return True
            except ConnectionRefusedError:
                return False

        if not poll(lambda: listening() or process.poll() is not None, WAIT) or process.poll() is not None:
            pytest.skip("mosquitto did not start")
        assert _everything_until_close(free, CONNECT_311 + BAD_PUBLISH) == bytes.fromhex("20 02 00 00")
    finally:
        process.terminate()
        process.wait(WAIT)
