"""Bulk registration never freezes the platform: probes stay prompt during a large upload, broken multipart bodies
get a 4xx envelope, and re-posting a CSV (also after a kill -9 mid-upload) finishes the job."""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
import urllib.error
from pathlib import Path
from typing import Any

import pytest

from tests.platform.support import Rest, start_platform, stop_platform

BULK = "/devicecontrol/bulkNewDeviceRequests"
PROMPT = 1.0  # seconds: a probe that waited longer was stuck behind the upload (it used to wait for all of it)


def csv_rows(count: int, basic: int = 0, start: int = 0) -> bytes:
    """A CSV of `count` devices (ids from `start`); the first `basic` of them BASIC, the rest CERTIFICATES."""
    lines = ["ID;AUTH_TYPE;CREDENTIALS;TYPE;NAME;com_cumulocity_model_Agent.active"]
    for n in range(start, start + count):
        kind, secret = ("BASIC", f"pw-{n}-Secret") if n - start < basic else ("CERTIFICATES", "")
        lines.append(f"load-dev-{n:05d};{kind};{secret};c8y_Device;Load {n};true")
    return ("\n".join(lines) + "\n").encode()


def mqtt_connack_seconds(port: int, client_id: str) -> float:
    """Open a plain MQTT connection, send CONNECT (no credentials) and time the CONNACK, whatever its code."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        variable = b"\x00\x04MQTT\x04\x02\x00\x1e" + len(client_id).to_bytes(2, "big") + client_id.encode()
        sock.sendall(bytes([0x10, len(variable)]) + variable)
        answer = b""
        while len(answer) < 4:
            chunk = sock.recv(4 - len(answer))
            assert chunk, "connection closed before CONNACK"
            answer += chunk
    assert answer[0] == 0x20, answer
    return time.monotonic() - started


def test_platform_answers_promptly_during_a_large_upload(local, rest: Rest) -> None:
    """/health and a plain MQTT CONNACK stay prompt while 2,000 rows (80 with a password hash) are registered.

    Before the fix the loop was blocked for the whole upload (about 2.5 s here), so a probe sent during it waited
    that long; now the rows go in short transactions and the hashes on a thread pool.
    """
    outcome: list[Any] = []
    csv = csv_rows(2000, basic=80)
    rest.call("GET", "/health", auth=False)  # warm up (first TLS handshake, CA load, admin password check)
    assert rest.call("GET", "/user/currentUser").status == 200
    uploader = threading.Thread(target=lambda: outcome.append(_catch(post_csv, rest, csv)))
    health: list[float] = []
    connacks: list[float] = []
    uploader.start()
    deadline = time.monotonic() + 60
    while uploader.is_alive() and time.monotonic() < deadline:
        started = time.monotonic()
        assert rest.call("GET", "/health", auth=False).status == 200
        health.append(time.monotonic() - started)
        connacks.append(mqtt_connack_seconds(local.ports["mqtt"], f"probe-{len(connacks)}"))
        uploader.join(0.02)
    uploader.join(60)
    assert max(health) < PROMPT, f"/health waited {max(health):.2f} s during the upload"
    assert max(connacks) < PROMPT, f"CONNACK waited {max(connacks):.2f} s during the upload"
    assert outcome and isinstance(outcome[0], dict), outcome
    assert (outcome[0]["numberOfAll"], outcome[0]["numberOfSuccessful"]) == (2000, 2000)
    assert len(health) >= 3, "the upload finished before the probes could overlap it"


MALFORMED = {
    "no boundary": ("multipart/form-data", b"ID\nx\n"),
    "garbage after the boundary": ("multipart/form-data; boundary=abc", b"--abc\r\n\x00\x01 garbage, no headers"),
    "no starting boundary": ("multipart/form-data; boundary=abc", b"hello world"),
    "cut off before the closing boundary": (
        "multipart/form-data; boundary=abc",
        b'--abc\r\nContent-Disposition: form-data; name="file"\r\n\r\nID;CREDENTIALS\nx;pw\n'),
    "boundary too long": ("multipart/form-data; boundary=" + "b" * 100, b"--" + b"b" * 100 + b"\r\n\r\nx\r\n"),
    "nested multipart without boundary": (
        "multipart/form-data; boundary=abc", b"--abc\r\nContent-Type: multipart/mixed\r\n\r\nxx\r\n--abc--\r\n"),
}


@pytest.mark.parametrize("content_type, body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_multipart_gets_a_4xx_envelope(rest: Rest, caplog: pytest.LogCaptureFixture, content_type: str,
                                                 body: bytes) -> None:
    caplog.set_level(logging.INFO)
    answer = rest.call("POST", BULK, raw=body, content_type=content_type)
    assert answer.status in (400, 422), answer.body
    envelope = answer.json
    assert set(envelope) == {"error", "message", "info"}
    assert envelope["error"].startswith("devicecontrol/")
    assert "multipart/form-data" in envelope["message"] and "'file'" in envelope["message"]
    assert "Error" not in envelope["message"] and "Traceback" not in answer.body.decode()
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


def test_oversized_upload_gets_413_before_the_body_is_read(rest: Rest) -> None:
    """A Content-Length over the documented limit is refused at once (nothing is buffered)."""
    head = (f"POST {BULK} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {rest.basic_auth}\r\n"
            "Accept: application/json\r\nContent-Type: multipart/form-data; boundary=abc\r\n"
            "Content-Length: 40000000\r\n\r\n")
    with socket.create_connection(("127.0.0.1", rest.port), timeout=10) as raw, \
            rest.context().wrap_socket(raw, server_hostname="localhost") as sock:
        sock.sendall(head.encode() + b"--abc\r\n")
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < 20:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    status_line, _, rest_of = data.partition(b"\r\n")
    assert status_line.split()[1] == b"413", data[:300]
    body = rest_of.split(b"\r\n\r\n", 1)[1]
    assert b"devicecontrol/Request Entity Too Large" in body and b"MiB" in body


def test_repost_of_the_same_csv_completes_the_job(rest: Rest) -> None:
    """Rows registered by an earlier (partial) post count as successful updates; the rest are created."""
    first = rest.multipart(BULK, "devices.csv", csv_rows(30, basic=10))
    assert first.status == 201 and first.json["numberOfSuccessful"] == 30
    whole = rest.multipart(BULK, "devices.csv", csv_rows(60, basic=10) + b"bad:id;CERTIFICATES;;x;x;true\n")
    assert whole.status == 201, whole.body
    body = whole.json
    assert (body["numberOfAll"], body["numberOfSuccessful"], body["numberOfCreated"], body["numberOfFailed"]) == \
        (61, 60, 30, 1)
    assert [e["deviceId"] for e in body["credentialUpdatedList"]] == [f"load-dev-{n:05d}" for n in range(30)]
    assert {e["bulkNewDeviceStatus"] for e in body["credentialUpdatedList"]} == {"CREDENTIAL_UPDATED"}
    assert body["failedCreationList"][0]["deviceId"] == "bad:id"
    devices = rest.call("GET", "/inventory/managedObjects?type=c8y_Device&pageSize=1&withTotalElements=true").json
    assert devices["statistics"]["totalElements"] == 60  # no duplicate managed objects
    password = rest.as_user("t100/device_load-dev-00003", "pw-3-Secret")
    assert password.call("GET", "/user/currentUser").status == 200  # the BASIC password works after the re-post


# --- kill -9 mid-upload, restart, re-post ------------------------------------------------------------------------
def post_csv(rest: Rest, csv: bytes) -> Any:
    """The upload with a generous timeout (the kill test's client waits for the reset); the answer's JSON."""
    return rest.multipart(BULK, "d.csv", csv, timeout=60).json


def test_kill_mid_upload_then_repost_finishes_the_job(tmp_path: Path) -> None:
    """kill -9 halfway: the client gets a reset, finished chunks stay, and a re-post completes every row."""
    rows = 2000
    csv = csv_rows(rows)
    process, rest = start_platform(tmp_path / "data")
    outcome: list[Any] = []
    try:
        uploader = threading.Thread(target=lambda: outcome.append(_catch(post_csv, rest, csv)))
        uploader.start()
        deadline = time.monotonic() + 30
        while rest.call("GET", "/identity/externalIds/c8y_Serial/load-dev-00050").status != 200:
            assert time.monotonic() < deadline and uploader.is_alive(), "no row was committed"
        process.send_signal(signal.SIGKILL)
        uploader.join(30)
    finally:
        stop_platform(process, signal.SIGKILL)
    assert outcome and isinstance(outcome[0], (ConnectionError, urllib.error.URLError, OSError)), outcome
    process, rest = start_platform(tmp_path / "data")
    try:
        body = post_csv(rest, csv)
        devices = rest.call("GET", "/inventory/managedObjects?type=c8y_Device&pageSize=1&withTotalElements=true")
    finally:
        stop_platform(process, signal.SIGTERM)
    assert (body["numberOfAll"], body["numberOfSuccessful"], body["numberOfFailed"]) == (rows, rows, 0)
    kept = len(body["credentialUpdatedList"])
    assert kept >= 50 and body["numberOfCreated"] == rows - kept > 0, (kept, body["numberOfCreated"])
    assert devices.json["statistics"]["totalElements"] == rows  # no duplicates from the interrupted upload


def _catch(function: Any, *args: Any) -> Any:
    try:
        return function(*args)
    except BaseException as exc:  # the caller asserts on what the client saw
        return exc
