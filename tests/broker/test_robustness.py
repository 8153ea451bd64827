"""Backpressure, queue bounds, $SYS statistics, configuration errors and the background broker lifecycle."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from embedded_broker import BrokerConfig, ConfigError, Limits, ListenerConfig
from tests.broker import wire
from tests.broker.conftest import Paho, make_config
from tests.broker.wire import RawClient


def test_slow_qos0_subscriber_is_dropped_with_a_counter(start_broker: Callable[..., tuple]) -> None:
    background, _ = start_broker(make_config(Limits(max_write_buffer=16_384)))
    port = background.ports["mqtt"]
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect, so the TCP window stays small
    slow.connect(("127.0.0.1", port))
    try:
        slow.sendall(wire.connect("slow") + wire.subscribe(1, ("flood/t", 0)))
        with RawClient(port) as pub:
            pub.connect("flooder")
            payload = b"x" * 16_000
            for _ in range(1000):  # 16 MB towards a reader that never reads
                pub.send(wire.publish("flood/t", payload))
            pub.send(wire.PINGREQ)
            pub.expect(wire.PINGRESP)
        stats = background.call(lambda: background.broker.stats)
        assert stats["dropped_qos0"] > 0
    finally:
        slow.close()


def test_v5_subscriber_over_its_queue_is_disconnected_with_0x97(start_broker: Callable[..., tuple]) -> None:
    background, _ = start_broker(make_config(Limits(max_queued=5, max_inflight=2)))
    port = background.ports["mqtt"]
    with RawClient(port) as sub, RawClient(port) as pub:
        sub.connect("hoarder", 5)
        sub.send(wire.subscribe(1, ("q/t", 1), version=5))
        sub.recv_packet()
        pub.connect("pub")
        for pid in range(1, 12):  # 2 in flight + 5 queued, then the quota is exceeded
            pub.send(wire.publish("q/t", b"x", qos=1, packet_id=pid))
        last = sub.expect_closed()
        assert last is not None and wire.split_header(last) [0] == 0xE0
        assert wire.split_header(last)[1][0] == 0x97


def test_sys_topics_are_published_retained(start_broker: Callable[..., tuple]) -> None:
    background, _ = start_broker(make_config(sys_interval=0.2))
    client = Paho(background.ports["mqtt"], "sys")
    try:
        client.subscribe("$SYS/broker/#", 0)
        seen = {}
        wanted = {"clients/connected", "uptime", "version", "bytes/received", "messages/sent"}
        while not wanted <= seen.keys() or seen["clients/connected"] == b"0":  # the first update predates us
            msg = client.get()
            seen[msg.topic.removeprefix("$SYS/broker/")] = msg.payload
        assert seen["version"].startswith(b"embedded-broker")
        assert seen["uptime"].endswith(b"seconds")
        assert int(seen["clients/connected"]) >= 1
    finally:
        client.close()


def test_hash_does_not_match_sys(start_broker: Callable[..., tuple]) -> None:
    background, _ = start_broker(make_config(sys_interval=0.1))
    client = Paho(background.ports["mqtt"], "all")
    try:
        client.subscribe("#", 0)
        client.subscribe("$SYS/broker/uptime", 0)
        msg = client.get()
        assert msg.topic == "$SYS/broker/uptime"  # only through the explicit filter
    finally:
        client.close()


def test_config_errors_list_every_problem() -> None:
    with pytest.raises(ConfigError) as info:
        BrokerConfig(listeners=(ListenerConfig("a", port=70000), ListenerConfig("a")),
                     limits=Limits(max_packet_size=-1), sys_interval=-1)
    text = str(info.value)
    for part in ("port must be", "used more than once", "max_packet_size", "sys_interval"):
        assert part in text


def test_config_from_toml(tmp_path: object) -> None:
    path = tmp_path / "broker.toml"  # type: ignore[operator]
    path.write_text('sys_interval = 5\n[limits]\nmax_queued = 7\n[[listeners]]\nname = "m"\nport = 0\n')
    config = BrokerConfig.from_toml(path)
    assert config.limits.max_queued == 7 and config.listeners[0].name == "m" and config.sys_interval == 5
    path.write_text("[limits]\nbogus = 1\n")
    with pytest.raises(ConfigError, match="bogus"):
        BrokerConfig.from_toml(path)


def test_port_in_use_is_a_clear_error() -> None:
    from embedded_broker import BackgroundBroker, BrokerError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = BrokerConfig(listeners=(ListenerConfig("mqtt", "127.0.0.1", port),), sys_interval=0)
        with pytest.raises(BrokerError, match="cannot listen"):
            BackgroundBroker(config).start()
