"""Exact wire behaviour with hand-built bytes: CONNACK codes, QoS 2 flow, v5 flow control, errors and closes."""

from __future__ import annotations

from collections.abc import Callable

from embedded_broker import Limits
from tests.broker import wire
from tests.broker.conftest import make_config
from tests.broker.wire import RawClient


def assert_still_serving(port: int) -> None:
    with RawClient(port) as other:
        assert other.connect("bystander") == b"\x20\x02\x00\x00"
        other.send(wire.PINGREQ)
        other.expect(wire.PINGRESP)


def test_connack_v311_and_v31(port: int) -> None:
    with RawClient(port) as client:
        assert client.connect("c311", 4) == b"\x20\x02\x00\x00"
    with RawClient(port) as client:
        assert client.connect("c31", 3) == b"\x20\x02\x00\x00"


def test_v5_connack_has_properties(port: int) -> None:
    with RawClient(port) as client:
        got = client.connect("c5", 5)
        _first, body = wire.split_header(got)
        assert body[:2] == b"\x00\x00" and len(body) > 3


def test_unsupported_protocol_level_gets_return_code_1(port: int) -> None:
    with RawClient(port) as client:
        client.send(wire.connect("bad", 6))
        assert client.expect_closed() == b"\x20\x02\x00\x01"
    assert_still_serving(port)


def test_empty_client_id_without_clean_session_is_rejected(port: int) -> None:
    with RawClient(port) as client:
        client.send(wire.connect("", 4, clean=False))
        assert client.expect_closed() == b"\x20\x02\x00\x02"


def test_first_packet_must_be_connect(port: int) -> None:
    with RawClient(port) as client:
        client.send(wire.PINGREQ)
        assert client.expect_closed() is None
    assert_still_serving(port)


def test_second_connect_closes_the_connection(port: int) -> None:
    with RawClient(port) as client:
        client.connect("twice")
        client.send(wire.connect("twice"))
        assert client.expect_closed() is None


def test_malformed_remaining_length_closes_and_others_keep_working(port: int) -> None:
    with RawClient(port) as client:
        client.connect("broken")
        client.send(b"\x30\xff\xff\xff\xff\x7f")
        assert client.expect_closed() is None
    assert_still_serving(port)


def test_v5_malformed_packet_gets_disconnect_with_reason(port: int) -> None:
    with RawClient(port) as client:
        client.connect("broken5", 5)
        client.send(b"\x82\x02\x00\x01")  # SUBSCRIBE with no properties and no filters
        last = client.expect_closed()
        assert last is not None and last[0] == 0xE0 and wire.split_header(last)[1][0] in (0x81, 0x82)


def test_qos2_exactly_once_flow_v311(port: int) -> None:
    with RawClient(port) as sub, RawClient(port) as pub:
        sub.connect("q2sub")
        sub.send(wire.subscribe(1, ("q2/t", 2)))
        sub.expect(b"\x90\x03\x00\x01\x02")
        pub.connect("q2pub")
        pub.send(wire.publish("q2/t", b"once", qos=2, packet_id=5))
        pub.expect(b"\x50\x02\x00\x05")
        pub.send(wire.publish("q2/t", b"once", qos=2, packet_id=5, dup=True))  # retransmission: not routed again
        pub.expect(b"\x50\x02\x00\x05")
        pub.send(wire.ack(0x62, 5))
        pub.expect(b"\x70\x02\x00\x05")
        topic, payload, qos, pid, _ = wire.parse_publish(sub.recv_packet())  # type: ignore[arg-type]
        assert (topic, payload, qos) == ("q2/t", b"once", 2)
        sub.send(wire.ack(0x50, pid))  # type: ignore[arg-type]
        sub.expect(wire.ack(0x62, pid))  # type: ignore[arg-type]
        sub.send(wire.ack(0x70, pid))  # type: ignore[arg-type]
        sub.send(wire.PINGREQ)
        sub.expect(wire.PINGRESP)  # nothing else (no duplicate) arrived before the ping answer


def test_redelivery_with_dup_after_reconnect(port: int) -> None:
    with RawClient(port) as sub:
        sub.connect("redeliver", clean=False)
        sub.send(wire.subscribe(1, ("rd/t", 1)))
        sub.recv_packet()
        with RawClient(port) as pub:
            pub.connect("rdpub")
            pub.send(wire.publish("rd/t", b"again", qos=1, packet_id=1))
            pub.expect(b"\x40\x02\x00\x01")
        first = sub.recv_packet()
        assert first is not None and not first[0] & 0x08
    with RawClient(port) as back:
        assert back.connect("redeliver", clean=False) == b"\x20\x02\x01\x00"  # session present
        again = back.recv_packet()
        assert again is not None and again[0] & 0x08  # DUP set
        assert wire.parse_publish(again)[:2] == ("rd/t", b"again")


def test_receive_maximum_limits_unacknowledged_deliveries(port: int) -> None:
    with RawClient(port) as sub, RawClient(port) as pub:
        sub.connect("flow", 5, properties=wire.props(wire.prop_int(0x21, 2, 2)))
        sub.send(wire.subscribe(1, ("flow/t", 1), version=5))
        sub.recv_packet()
        pub.connect("flowpub", 4)
        for n in range(4):
            pub.send(wire.publish("flow/t", str(n).encode(), qos=1, packet_id=n + 1))
            pub.recv_packet()
        got = [wire.parse_publish(sub.recv_packet(), 5) for _ in range(2)]  # type: ignore[arg-type]
        sub.send(wire.PINGREQ)
        sub.expect(wire.PINGRESP)  # the window is full: no third PUBLISH before the ping answer
        sub.send(wire.ack(0x40, got[0][3]))  # type: ignore[arg-type]
        third = wire.parse_publish(sub.recv_packet(), 5)  # type: ignore[arg-type]
        assert [g[1] for g in got] + [third[1]] == [b"0", b"1", b"2"]


def test_outgoing_topic_alias(port: int) -> None:
    with RawClient(port) as sub, RawClient(port) as pub:
        sub.connect("aliased", 5, properties=wire.props(wire.prop_int(0x22, 4, 2)))
        sub.send(wire.subscribe(1, ("al/t", 0), version=5))
        sub.recv_packet()
        pub.connect("alpub")
        pub.send(wire.publish("al/t", b"1"))
        pub.send(wire.publish("al/t", b"2"))
        first = wire.parse_publish(sub.recv_packet(), 5)  # type: ignore[arg-type]
        second = wire.parse_publish(sub.recv_packet(), 5)  # type: ignore[arg-type]
        assert first[0] == "al/t" and b"\x23\x00\x01" in first[4]
        assert second[0] == "" and b"\x23\x00\x01" in second[4] and second[1] == b"2"


def test_invalid_incoming_topic_alias_disconnects_with_0x94(port: int) -> None:
    with RawClient(port) as client:
        client.connect("badalias", 5)
        client.send(wire.publish("x", b"", version=5, properties=wire.props(wire.prop_int(0x23, 999, 2))))
        last = client.expect_closed()
        assert last is not None and wire.split_header(last) [1][0] == 0x94


def test_packet_too_large_disconnects_with_0x95(start_broker: Callable[..., tuple]) -> None:
    background, _ = start_broker(make_config(Limits(max_packet_size=256)))
    with RawClient(background.ports["mqtt"]) as client:
        client.connect("big", 5)
        client.send(wire.publish("big/t", b"x" * 1000, version=5))
        last = client.expect_closed()
        assert last is not None and wire.split_header(last)[1][0] == 0x95


def test_receive_maximum_exceeded_disconnects_with_0x93(start_broker: Callable[..., tuple]) -> None:
    background, _ = start_broker(make_config(Limits(receive_maximum=2)))
    with RawClient(background.ports["mqtt"]) as client:
        client.connect("greedy", 5)
        for pid in (1, 2, 3):
            client.send(wire.publish("rm/t", b"x", qos=2, packet_id=pid, version=5))
        last = client.expect_closed()
        assert last is not None and wire.split_header(last)[1][0] == 0x93


def test_disconnect_with_will_0x04_sends_the_will(port: int) -> None:
    with RawClient(port) as watcher:
        watcher.connect("w")
        watcher.send(wire.subscribe(1, ("will/#", 0)))
        watcher.recv_packet()
        with RawClient(port) as client:
            client.connect("dying", 5, will=("will/x", b"bye", 0, False))
            client.send(wire.disconnect_v5(0x04))
            assert client.expect_closed() is None
        assert wire.parse_publish(watcher.recv_packet())[:2] == ("will/x", b"bye")  # type: ignore[arg-type]


def test_keepalive_timeout_closes_and_sends_will(port: int) -> None:
    with RawClient(port) as watcher:
        watcher.connect("w")
        watcher.send(wire.subscribe(1, ("will/#", 0)))
        watcher.recv_packet()
        with RawClient(port) as client:
            client.connect("silent", 4, keepalive=1, will=("will/silent", b"timeout", 0, False))
            assert client.expect_closed() is None  # 1.5 s without a packet
        assert wire.parse_publish(watcher.recv_packet())[:2] == ("will/silent", b"timeout")  # type: ignore[arg-type]


def test_slowloris_connection_is_closed_after_connect_timeout(start_broker: Callable[..., tuple]) -> None:
    background, events = start_broker(make_config(Limits(connect_timeout=0.3)))
    port = background.ports["mqtt"]
    with RawClient(port) as client:
        client.send(b"\x10")  # a CONNECT that never completes
        assert client.expect_closed() is None
    events.wait_for(lambda e: e.kind.value == "refused")
    assert_still_serving(port)


def test_max_connections(start_broker: Callable[..., tuple]) -> None:
    background, _ = start_broker(make_config(Limits(max_connections=1, connect_timeout=3)))
    port = background.ports["mqtt"]
    with RawClient(port) as first:
        first.connect("only")
        with RawClient(port) as second:
            assert second.expect_closed() is None


def test_graceful_stop_sends_0x8b(start_broker: Callable[..., tuple]) -> None:
    background, _ = start_broker()
    with RawClient(background.ports["mqtt"]) as client:
        client.connect("stopper", 5)
        background.stop()
        last = client.expect_closed()
        assert last is not None and wire.split_header(last) == (0xE0, wire.split_header(last)[1])
        assert wire.split_header(last)[1][0] == 0x8B


def test_unsubscribe_v5_reason_codes(port: int) -> None:
    with RawClient(port) as client:
        client.connect("unsub", 5)
        client.send(wire.subscribe(1, ("u/a", 0), version=5))
        client.recv_packet()
        client.send(wire.unsubscribe(2, "u/a", "u/never", version=5))
        first, body = wire.split_header(client.recv_packet())  # type: ignore[arg-type]
        assert first == 0xB0 and body[-2:] == b"\x00\x11"


def test_invalid_filter_in_subscribe_v311_gets_0x80(port: int) -> None:
    with RawClient(port) as client:
        client.connect("badfilter")
        client.send(wire.subscribe(3, ("a/#/b", 1), ("ok/+", 1)))
        client.expect(b"\x90\x04\x00\x03\x80\x01")


def test_take_over_is_deterministic(port: int) -> None:
    """[MQTT-3.1.4-2]: the old connection's DISCONNECT 0x8E and its will are written before the new CONNACK."""
    with RawClient(port) as watcher, RawClient(port) as old, RawClient(port) as new:
        watcher.connect("watcher")
        watcher.send(wire.subscribe(1, ("takeover/will", 0)))
        watcher.recv_packet()
        old.connect("twin", 5, will=("takeover/will", b"old one", 0, False))
        new.connect("twin", 5)  # returns once the CONNACK arrived
        for sock in (old.sock, watcher.sock):
            sock.setblocking(False)  # loopback: whatever was written before the CONNACK is already here
        last = old.recv_packet()
        assert last is not None and wire.split_header(last) == (0xE0, last[2:])
        assert last[2] == 0x8E
        assert wire.parse_publish(watcher.recv_packet())[:2] == ("takeover/will", b"old one")  # type: ignore[arg-type]
