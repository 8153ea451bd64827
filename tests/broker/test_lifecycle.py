"""The async API (`async with Broker(config)`), graceful stop without leftovers, will delay and session expiry."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from embedded_broker import Broker, EventKind
from tests.broker import wire
from tests.broker.conftest import make_config
from tests.broker.wire import RawClient


def test_async_context_manager_serves_and_leaves_no_tasks() -> None:
    events = []

    async def main() -> None:
        async with Broker(make_config()) as broker:
            broker.add_event_listener(events.append)
            reader, writer = await asyncio.open_connection("127.0.0.1", broker.ports["mqtt"])
            writer.write(wire.connect("async", 5))
            connack = await reader.readexactly(2)
            assert connack[0] == 0x20
            await reader.readexactly(connack[1])
            stop = asyncio.create_task(broker.stop())
            data = await reader.read()  # the server's DISCONNECT, then EOF
            assert data[:1] == b"\xe0" and data[2] == 0x8B
            await stop
            writer.close()
            await writer.wait_closed()
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(main())
    kinds = [e.kind for e in events]
    assert kinds == [EventKind.CONNECTED, EventKind.DISCONNECTED]
    assert events[1].reason_code == 0x8B


def test_will_delay_fires_when_the_client_does_not_return(start_broker: Callable[..., tuple]) -> None:
    background, _ = start_broker()
    port = background.ports["mqtt"]
    with RawClient(port) as watcher:
        watcher.connect("w")
        watcher.send(wire.subscribe(1, ("late/#", 0)))
        watcher.recv_packet()
        with RawClient(port) as client:
            client.connect("leaver", 5, properties=wire.props(wire.prop_int(0x11, 60, 4)),
                           will=("late/will", b"after a second", 0, False),
                           will_properties=wire.props(wire.prop_int(0x18, 1, 4)))
        watcher.send(wire.PINGREQ)
        watcher.expect(wire.PINGRESP)  # not yet: the delay is still running
        assert wire.parse_publish(watcher.recv_packet())[:2] == ("late/will", b"after a second")  # type: ignore[arg-type]


def test_session_expires_after_its_interval(start_broker: Callable[..., tuple]) -> None:
    background, events = start_broker()
    port = background.ports["mqtt"]
    expiry = wire.props(wire.prop_int(0x11, 1, 4))
    with RawClient(port) as client:
        client.connect("brief", 5, clean=False, properties=expiry)
    with RawClient(port) as client:
        assert wire.split_header(client.connect("brief", 5, clean=False, properties=expiry))[1][0] == 1  # present
    events.wait_for(lambda e: e.kind is EventKind.SESSION_EXPIRED and e.client_id == "brief")
    with RawClient(port) as client:
        assert wire.split_header(client.connect("brief", 5, clean=False))[1][0] == 0  # gone


class FakeClock:
    """Stands in for the `time` module of embedded_broker.mqtt.message (the clock is one thing we may fake)."""

    def __init__(self) -> None:
        import time

        self.offset = 0.0
        self._real = time.monotonic

    def monotonic(self) -> float:
        return self._real() + self.offset


def test_queued_message_expires(start_broker: Callable[..., tuple], monkeypatch: pytest.MonkeyPatch) -> None:
    from embedded_broker.mqtt import message as message_module

    clock = FakeClock()
    monkeypatch.setattr(message_module, "time", clock)
    background, _ = start_broker()
    port = background.ports["mqtt"]
    expiry = wire.props(wire.prop_int(0x11, 300, 4))
    with RawClient(port) as sub:
        sub.connect("expiring", 5, clean=False, properties=expiry)
        sub.send(wire.subscribe(1, ("exp/t", 1), version=5))
        sub.recv_packet()
    with RawClient(port) as pub:
        pub.connect("pub", 5)
        pub.send(wire.publish("exp/t", b"short", qos=1, packet_id=1, version=5,
                              properties=wire.props(wire.prop_int(0x02, 10, 4))))
        pub.recv_packet()
        pub.send(wire.publish("exp/t", b"long", qos=1, packet_id=2, version=5,
                              properties=wire.props(wire.prop_int(0x02, 100, 4))))
        pub.recv_packet()
    clock.offset = 30.0
    with RawClient(port) as sub:
        sub.connect("expiring", 5, clean=False, properties=expiry)
        _topic, payload, _qos, _pid, raw_props = wire.parse_publish(sub.recv_packet(), 5)  # type: ignore[arg-type]
        assert payload == b"long"
        remaining = int.from_bytes(raw_props[raw_props.index(0x02) + 1:raw_props.index(0x02) + 5], "big")
        assert 60 <= remaining <= 70  # 100 s minus the 30 s spent queued
