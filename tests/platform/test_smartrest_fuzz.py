"""SmartREST fuzzing of authenticated devices: whatever a device sends, the platform answers on `s/e` or stores
valid data, never logs a traceback, never drops the device, and keeps serving the others.

Two levels, both deterministic: the applier in process (Hypothesis, derandomized) for breadth, and a seeded
generator over real MQTT/TLS next to a "monitor" device whose measurements must all be stored.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import queue
import random
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embedded_broker.platform.core import DeviceIdentity, Platform
from embedded_broker.platform.smartrest import TEMPLATE_IDS
from embedded_broker.platform.smartrest_apply import MAX_LINES_PER_PUBLISH, MAX_PAYLOAD_BYTES, SmartRestApplier
from embedded_broker.store import Store
from tests.broker import wire
from tests.platform.support import WAIT, Rest

SEED = 20240607
TEMPLATES = sorted(TEMPLATE_IDS, key=int)
ODD_TEMPLATES = ["", "0", "999", "106", "510", "-1", "1.0", "٣", "100\x00", '"100"', " 200", "1" * 50]
NUMBERS = ["1e999", "-1e999", "1e-999", "NaN", "inf", "-Infinity", "9" * 400, "9" * 5000, "-0", "0x1F", "1_0",
           ".5", "5.", "+3", "1e308", "1.7976931348623157e309", "٣", "１２"]
BOGUS_IDS = ["999999999", "0", "-1", "abc", "1e5", "9" * 30, "", " 1", "1 ", "١", "\x00", "1,2"]
ODD_TEXT = ['"', '"abc', 'a"b', '"a"b', '\\"', "\\", "\u2028", "\x00", "\x1b[2J", "\ufeff", "\ud7ff", "\U0001F600",
            "\u202e", "\t", "\r", " ", ",", "\n", "x" * 2000, "c8y_" * 100]


class _Tracebacks(logging.Handler):
    """Records every log record of the platform's loggers that carries a traceback or is an error."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.bad: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.bad.append(record)


@pytest.fixture
def tracebacks() -> Iterator[_Tracebacks]:
    handler = _Tracebacks()
    logger = logging.getLogger("embedded_broker")
    old_level = logger.level
    logger.setLevel(min(old_level or logging.WARNING, logging.WARNING))
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def _assert_clean(handler: _Tracebacks) -> None:
    assert not handler.bad, [(r.name, r.getMessage(), r.exc_info and r.exc_info[1]) for r in handler.bad]


# --- generated lines -------------------------------------------------------------------------------------------


def _field(rnd: random.Random) -> str:
    kind = rnd.random()
    if kind < 0.25:
        return rnd.choice(NUMBERS)
    if kind < 0.45:
        return rnd.choice(ODD_TEXT)
    if kind < 0.6:
        return "".join(chr(rnd.choice([rnd.randrange(0x20), rnd.randrange(0x20, 0x800), rnd.randrange(0x800, 0xD800),
                                       rnd.randrange(0xE000, 0x110000)])) for _ in range(rnd.randrange(1, 12)))
    if kind < 0.7:
        return rnd.choice(BOGUS_IDS)
    if kind < 0.8:
        return rnd.choice(["c8y_Restart", "c8y_Command", "c8y_Temperature", "T", "C", "MAJOR", "critical"])
    return str(rnd.choice([rnd.randrange(-1000, 1000), rnd.uniform(-1e6, 1e6)]))


def _line(rnd: random.Random) -> str:
    template = rnd.choice(TEMPLATES) if rnd.random() < 0.85 else rnd.choice(ODD_TEMPLATES)
    fields = [_field(rnd) for _ in range(rnd.choice([0, 1, 1, 2, 2, 3, 4, 5, 6, 9, 13]))]
    if template in ("501", "502", "503", "504", "505", "506") and rnd.random() < 0.5:
        fields = [rnd.choice(BOGUS_IDS), *fields[:2]]
    line = ",".join([template, *fields])
    if rnd.random() < 0.1:  # unbalanced quotes
        line = line.replace(",", ',"', 1)
    return line


def _payload(rnd: random.Random) -> bytes:
    roll = rnd.random()
    if roll < 0.05:  # thousands of lines
        count = rnd.choice([MAX_LINES_PER_PUBLISH + 1, 2500, 4000])
        return "\n".join(rnd.choice(["105", "125", "1", "211,1", "999"]) for _ in range(count)).encode()
    if roll < 0.08:  # over the size limit
        return b"211,1\n" * (MAX_PAYLOAD_BYTES // 6 + 1)
    if roll < 0.13:  # not UTF-8 at all
        return bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 200)))
    text = "\n".join(_line(rnd) for _ in range(rnd.randrange(1, 12)))
    return text.encode("utf-8", "surrogatepass")[:MAX_PAYLOAD_BYTES]


def _child(rnd: random.Random) -> str | None:
    roll = rnd.random()
    if roll < 0.7:
        return None
    return rnd.choice(["kid", "kid-2", "", "a/b", "dev-monitor", "\u2028", "x" * 300, "kid:grand"])


def _assert_stored_values_valid(platform: Platform, tenant: str, after: int = 0) -> int:
    """Everything stored (records after id `after`) is strict JSON (no NaN/Infinity) with printable types and
    fragment names; returns the last record id."""
    rows = platform.store.all("SELECT id, kind FROM records WHERE tenant = ? AND id > ? ORDER BY id", (tenant, after))
    for row in rows:
        kind = row["kind"]
        record = platform.inventory.get_record(tenant, kind, str(row["id"]))
        json.dumps(record, allow_nan=False)
        assert record["type"].isprintable(), record
        for name, value in record.items():
            assert name.isprintable(), record
            if kind == "measurement" and isinstance(value, dict):
                for series, entry in value.items():
                    assert series.isprintable(), record
                    if isinstance(entry, dict) and "value" in entry:
                        assert math.isfinite(entry["value"]), record
    for mo in platform.inventory.list_objects(tenant, {}):
        json.dumps(mo, allow_nan=False)
        for name in mo.get("c8y_SupportedOperations", []):
            assert name.isprintable(), mo
    return rows[-1]["id"] if rows else after


# --- level 1: the applier in process ---------------------------------------------------------------------------


_IDENTITY = DeviceIdentity("t100", "device_fuzz", "fuzz", "fp")
_CHECKED = [0]  # records already checked by earlier examples


@functools.cache
def _applier() -> SmartRestApplier:
    """One in-memory platform for all examples, so data accumulates (children, operations) as on a real one."""
    platform = Platform(Store(None))
    platform.bootstrap("fuzz-admin-password")
    return SmartRestApplier(platform)


@st.composite
def _payloads(draw: st.DrawFn) -> tuple[str, str | None]:
    rnd = random.Random(draw(st.integers(0, 2**32)))
    payload = _payload(rnd).decode("utf-8", "replace")
    if draw(st.booleans()):
        payload += "\n" + draw(st.text(max_size=200))
    return payload, _child(rnd)


@settings(max_examples=200, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                                     HealthCheck.data_too_large])
@given(_payloads())
def test_applier_answers_every_line_without_error(case: tuple[str, str | None]) -> None:
    handler = _Tracebacks()
    logger = logging.getLogger("embedded_broker")
    logger.addHandler(handler)
    try:
        text, child = case
        replies = _applier().apply(_IDENTITY, "fuzz", text, child)
    finally:
        logger.removeHandler(handler)
    _assert_clean(handler)
    for topic, line in replies:
        assert topic in ("s/e", "s/ds"), (topic, line)
        assert not line.startswith("50,"), line  # 50 means an unexpected exception
    _CHECKED[0] = _assert_stored_values_valid(_applier().platform, "t100", _CHECKED[0])


# --- level 2: over MQTT, next to a monitor device --------------------------------------------------------------


class _TlsDevice:
    """A one-thread MQTT 3.1.1 device over mutual TLS from raw bytes: it writes and reads on the same thread (paho
    writes from the caller's thread while its loop reads on another, which a TLS socket does not survive under a
    flood of large publishes), and it sees every packet, so a close by the server cannot go unnoticed."""

    def __init__(self, port: int, ca_path: Path, cert: tuple[Path, Path], client_id: str) -> None:
        context = ssl.create_default_context(cafile=str(ca_path))
        context.load_cert_chain(str(cert[0]), str(cert[1]))
        self.raw = wire.RawClient(port, timeout=WAIT)
        self.raw.sock = context.wrap_socket(self.raw.sock, server_hostname="127.0.0.1")
        self.received: list[tuple[str, str]] = []
        self._next_id = 0
        assert self.raw.connect(client_id) == bytes.fromhex("20 02 00 00")

    def _packet_id(self) -> int:
        self._next_id = self._next_id % 65535 + 1
        return self._next_id

    def _until(self, first_byte: int, packet_id: int) -> None:
        """Read (keeping every PUBLISH) until the ack `first_byte` for `packet_id`."""
        while (data := self._read()) is None or data != (first_byte, packet_id):
            pass

    def _read(self) -> tuple[int, int] | None:
        """One packet: a PUBLISH is kept (None), an ack is returned as (first byte, packet id)."""
        data = self.raw.recv_packet()
        assert data is not None, "the platform closed the fuzzing device's connection"
        if data[0] >> 4 == 3:
            topic, payload, _qos, _pid, _props = wire.parse_publish(data)
            self.received.append((topic, payload.decode("utf-8", "replace")))
            return None
        return data[0], int.from_bytes(wire.split_header(data)[1][:2], "big")

    def wait_for(self, topic: str, line: str) -> None:
        """Read until `line` arrived on `topic`."""
        while (topic, line) not in self.received:
            self._read()

    def subscribe(self, *topics: str) -> None:
        pid = self._packet_id()
        self.raw.send(wire.subscribe(pid, *((t, 0) for t in topics)))
        self._until(0x90, pid)

    def publish(self, topic: str, payload: bytes, qos: int) -> None:
        pid = self._packet_id()
        self.raw.send(wire.publish(topic, payload, qos=qos, packet_id=pid))
        if qos:
            self._until(0x40, pid)

    def close(self) -> None:
        self.raw.send(wire.DISCONNECT)
        self.raw.close()


def test_fuzzing_device_stays_connected_and_monitor_is_served(local, rest: Rest, root, device, ca_path: Path,
                                                             tmp_path: Path, tracebacks) -> None:
    rest.upload(root)
    monitor = device(root.issue("dev-monitor"))
    assert monitor.connect() == 0
    monitor.subscribe("s/e")
    fuzz = _TlsDevice(local.ports["mqtts"], ca_path, root.issue("dev-fuzz").write(tmp_path, "fuzz"), "d:dev-fuzz")
    try:
        fuzz.subscribe("s/e", "s/ds")
        fuzz.publish("s/us", b"100", qos=1)
        fuzz_mo = rest.call("GET", "/identity/externalIds/c8y_Serial/dev-fuzz").json["managedObject"]["id"]
        for fragment in ("c8y_Restart", "c8y_Command", "c8y_Restart"):
            assert rest.call("POST", "/devicecontrol/operations", {"deviceId": fuzz_mo, fragment: {}}).status == 201

        rnd = random.Random(SEED)
        measured = 0
        for round_ in range(150):
            child = _child(rnd)
            topic = rnd.choice(["s/us", "s/us", "t/us", "q/us", "c/us"]) if child is None else f"s/us/{child}"
            fuzz.publish(topic, _payload(rnd), qos=rnd.choice([0, 1, 1]))
            if round_ % 3 == 0:
                monitor.publish("s/us", f"200,c8y_Temperature,T,{measured},C", qos=rnd.choice([0, 1]))
                measured += 1
        fuzz.publish("s/us", b"123", qos=1)
        fuzz.wait_for("s/ds", f"124,{fuzz_mo}")  # still connected and served, in order
    finally:
        fuzz.close()

    assert fuzz.received, "the fuzzing device got no replies at all"
    internal = [line for topic, line in fuzz.received if topic == "s/e" and line.startswith("50,")]
    assert internal == [], internal[:5]
    monitor.subscribe("s/ds")
    monitor.publish("s/us", "123", qos=1)
    monitor_mo = monitor.expect("s/ds")[4:]
    with pytest.raises(queue.Empty):
        monitor.messages.get_nowait()  # no error line for the monitor
    page = rest.call("GET", f"/measurement/measurements?source={monitor_mo}&pageSize=2000").json["measurements"]
    assert sorted(m["c8y_Temperature"]["T"]["value"] for m in page) == list(range(measured))
    _assert_clean(tracebacks)
    _assert_stored_values_valid(local.platform, "t100")
