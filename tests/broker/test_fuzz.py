"""Random and mutated bytes after a valid CONNECT: the connection closes, and the broker keeps serving others."""

from __future__ import annotations

import itertools
import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embedded_broker import BackgroundBroker, EventKind, Limits
from tests.broker import wire
from tests.broker.conftest import EventLog, make_config
from tests.broker.wire import RawClient

VALID = [
    wire.publish("a/b", b"payload", qos=1, packet_id=3),
    wire.subscribe(2, ("a/+", 2)),
    wire.unsubscribe(4, "a/+"),
    wire.ack(0x62, 7),
    wire.PINGREQ,
]
VALID_V5 = [
    wire.publish("a/b", b"p", qos=2, packet_id=3, version=5, properties=wire.props(wire.prop_int(0x23, 1, 2))),
    wire.subscribe(2, ("a/+", 0x2E), version=5, properties=wire.props(b"\x0b\x05")),
    wire.disconnect_v5(0x04),
]


EVENTS = EventLog()
COUNTER = itertools.count()


@pytest.fixture(scope="module")
def fuzz_broker() -> Iterator[BackgroundBroker]:
    with BackgroundBroker(make_config(Limits(connect_timeout=2.0, max_packet_size=4096))) as background:
        background.call(background.broker.add_event_listener, EVENTS)  # type: ignore[union-attr]
        yield background


def mutate(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    buffer = bytearray(data)
    for position, value in flips:
        buffer[position % len(buffer)] = value
    return bytes(buffer)


def exercise(port: int, version: int, tail: bytes) -> None:
    """Send CONNECT + `tail`: the close has a protocol reason (never an internal error); others are still served."""
    client_id = f"fuzzed-{next(COUNTER)}"
    with RawClient(port, timeout=5.0) as client:
        client.connect(client_id, version)
        try:
            client.send(tail + wire.PINGREQ)
            client.sock.shutdown(socket.SHUT_WR)  # EOF ends any incomplete packet at once
            while (got := client.recv_packet()) is not None:
                if got == wire.PINGRESP:
                    break
        except (TimeoutError, ConnectionResetError, BrokenPipeError):
            pass
    with RawClient(port) as other:
        assert other.connect("bystander") == b"\x20\x02\x00\x00"
    closed = EVENTS.wait_for(lambda e: e.kind is EventKind.DISCONNECTED and e.client_id == client_id)
    assert closed.reason_code != 0x83, f"internal error on {tail!r}: {closed.reason}"
    assert closed.reason


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(version=st.sampled_from([4, 5]), tail=st.binary(min_size=1, max_size=64))
def test_random_bytes_after_connect(fuzz_broker: BackgroundBroker, version: int, tail: bytes) -> None:
    exercise(fuzz_broker.ports["mqtt"], version, tail)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(version=st.sampled_from([4, 5]), index=st.integers(0, 100),
       flips=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), min_size=1, max_size=4))
def test_mutated_valid_packets(fuzz_broker: BackgroundBroker, version: int, index: int,
                               flips: list[tuple[int, int]]) -> None:
    packets = VALID + (VALID_V5 if version == 5 else [])
    exercise(fuzz_broker.ports["mqtt"], version, mutate(packets[index % len(packets)], flips))


@pytest.mark.slow
@settings(max_examples=2000, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(version=st.sampled_from([3, 4, 5]), index=st.integers(0, 100), tail=st.binary(max_size=256),
       flips=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=8))
def test_long_fuzz_run(fuzz_broker: BackgroundBroker, version: int, index: int, tail: bytes,
                       flips: list[tuple[int, int]]) -> None:
    packets = VALID + (VALID_V5 if version == 5 else [])
    exercise(fuzz_broker.ports["mqtt"], version, mutate(packets[index % len(packets)], flips) + tail)
