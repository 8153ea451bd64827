"""Scenario tests with paho-mqtt as an independent client: QoS, retained, wills, sessions, v5 features."""

from __future__ import annotations

from collections.abc import Callable

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes

from tests.broker.conftest import Paho, props

PUB = PacketTypes.PUBLISH
SUB = PacketTypes.SUBSCRIBE

MakePaho = Callable[..., Paho]


@pytest.mark.parametrize("version", [3, 4, 5])
@pytest.mark.parametrize("qos", [0, 1, 2])
def test_publish_subscribe_every_qos_and_version(paho: MakePaho, version: int, qos: int) -> None:
    sub = paho("sub", version=version)
    pub = paho("pub", version=version)
    sub.subscribe("t/qos", qos)
    pub.publish("t/qos", b"hello", qos=qos)
    msg = sub.get()
    assert (msg.topic, msg.payload, msg.qos, msg.retain) == ("t/qos", b"hello", qos, False)


def test_qos_is_downgraded_to_the_subscription_maximum_never_upgraded(paho: MakePaho) -> None:
    sub0, sub2 = paho("s0"), paho("s2")
    sub0.subscribe("t/dg", 0)
    sub2.subscribe("t/dg", 2)
    pub = paho("p")
    pub.publish("t/dg", b"two", qos=2)
    pub.publish("t/dg", b"one", qos=1)
    assert {m.payload: m.qos for m in (sub0.get(), sub0.get())} == {b"two": 0, b"one": 0}
    # paho hands a QoS 2 message to the application only after PUBREL, so the two may arrive in either order.
    assert {m.payload: m.qos for m in (sub2.get(), sub2.get())} == {b"two": 2, b"one": 1}


@pytest.mark.parametrize("version", [4, 5])
def test_retained_message_delivered_on_subscribe_and_deleted_by_empty_payload(paho: MakePaho, version: int) -> None:
    pub = paho("pub", version=version)
    pub.publish("t/retained", b"kept", qos=1, retain=True)
    first = paho("s1", version=version)
    first.subscribe("t/+", 1)
    msg = first.get()
    assert (msg.payload, msg.retain) == (b"kept", True)
    pub.publish("t/retained", b"", qos=1, retain=True)
    assert first.get().payload == b""  # live subscribers see the deletion as a normal message
    second = paho("s2", version=version)
    second.subscribe("t/#", 1)
    assert second.sync() == []


@pytest.mark.parametrize("version", [4, 5])
def test_will_is_sent_on_abnormal_close_but_not_on_normal_disconnect(paho: MakePaho, version: int) -> None:
    watcher = paho("watcher", version=version)
    watcher.subscribe("wills/#", 1)
    polite = paho("polite", version=version, will=("wills/polite", b"bye", 1, False))
    polite.close()
    rude = paho("rude", version=version, will=("wills/rude", b"gone", 1, False))
    rude.client.socket().close()  # no DISCONNECT: abnormal
    msg = watcher.get()
    assert (msg.topic, msg.payload) == ("wills/rude", b"gone")
    assert watcher.sync() == []


def test_will_delay_is_cancelled_by_reconnecting_in_time(paho: MakePaho) -> None:
    watcher = paho("watcher")
    watcher.subscribe("wills/#", 1)
    connect_props = props(SessionExpiryInterval=60)
    will_props = props(PacketTypes.WILLMESSAGE, WillDelayInterval=30)
    first = paho("delayed", clean=False, properties=connect_props, will=("wills/delayed", b"late", 1, False),
                 will_properties=will_props)
    first.client.socket().close()
    again = paho("delayed", clean=False, properties=connect_props)
    assert again.session_present
    assert watcher.sync() == []


def test_will_delay_ends_with_the_session(paho: MakePaho) -> None:
    watcher = paho("watcher")
    watcher.subscribe("wills/#", 1)
    will_props = props(PacketTypes.WILLMESSAGE, WillDelayInterval=30)
    first = paho("short", clean=True, properties=props(SessionExpiryInterval=0),
                 will=("wills/short", b"now", 1, False), will_properties=will_props)
    first.client.socket().close()
    assert watcher.get().payload == b"now"  # session expiry 0 ends the session at once, so the will goes now


@pytest.mark.parametrize("version", [4, 5])
def test_take_over_closes_the_old_connection_first(paho: MakePaho, version: int) -> None:
    old = paho("same-id", version=version)
    new = paho("same-id", version=version)
    rc, _props = old.wait_disconnected()
    if version == 5:
        assert rc == 0x8E  # session taken over
    new.subscribe("t/after", 0)
    new.publish("t/after", b"x")
    assert new.get().payload == b"x"


@pytest.mark.parametrize("version", [4, 5])
def test_offline_messages_are_queued_for_a_persistent_session(paho: MakePaho, version: int) -> None:
    session_props = props(SessionExpiryInterval=300) if version == 5 else None
    sub = paho("durable", version=version, clean=False, properties=session_props)
    sub.subscribe("t/offline", 1)
    sub.close()
    pub = paho("pub")
    for n in range(3):
        pub.publish("t/offline", str(n), qos=1)
    pub.publish("t/offline", b"qos0 not queued", qos=0)
    back = paho("durable", version=version, clean=False, properties=session_props)
    assert back.session_present
    assert [back.get().payload for _ in range(3)] == [b"0", b"1", b"2"]
    assert back.sync() == []


def test_clean_start_discards_the_old_session(paho: MakePaho) -> None:
    sub = paho("fresh", clean=False, properties=props(SessionExpiryInterval=300))
    sub.subscribe("t/clean", 1)
    sub.close()
    again = paho("fresh", clean=True)
    assert not again.session_present
    paho("pub").publish("t/clean", b"x", qos=1)
    assert again.sync() == []


def test_shared_subscription_round_robin(paho: MakePaho) -> None:
    a, b = paho("a"), paho("b")
    a.subscribe("$share/workers/jobs/+", 1)
    b.subscribe("$share/workers/jobs/+", 1)
    pub = paho("pub")
    for n in range(4):
        pub.publish(f"jobs/{n}", str(n), qos=1)
    got_a = [m.payload for m in a.sync()]
    got_b = [m.payload for m in b.sync()]
    assert len(got_a) == 2 and len(got_b) == 2
    assert sorted(got_a + got_b) == [b"0", b"1", b"2", b"3"]


def test_subscription_identifiers_are_returned(paho: MakePaho) -> None:
    sub = paho("ids")
    sub.subscribe("ids/+", 1, properties=props(SUB, SubscriptionIdentifier=7))
    sub.subscribe("ids/#", 1, properties=props(SUB, SubscriptionIdentifier=9))
    paho("pub").publish("ids/a", b"x", qos=1)
    msg = sub.get()
    assert sorted(msg.properties.SubscriptionIdentifier) == [7, 9]


def test_no_local_and_retain_as_published(paho: MakePaho) -> None:
    me = paho("me")
    me.subscribe("nl/t", options=mqtt.SubscribeOptions(qos=1, noLocal=True))
    rap = paho("rap")
    rap.subscribe("nl/t", options=mqtt.SubscribeOptions(qos=1, retainAsPublished=True))
    me.publish("nl/t", b"r", qos=1, retain=True)
    got = rap.get()
    assert got.retain  # retain-as-published keeps the flag on live delivery
    assert me.sync() == []


def test_retain_handling_options(paho: MakePaho) -> None:
    paho("pub").publish("rh/t", b"kept", qos=1, retain=True)
    never = paho("never")
    never.subscribe("rh/t", options=mqtt.SubscribeOptions(qos=1, retainHandling=2))
    assert never.sync() == []
    once = paho("once")
    once.subscribe("rh/t", options=mqtt.SubscribeOptions(qos=1, retainHandling=1))
    assert once.get().payload == b"kept"
    once.subscribe("rh/t", options=mqtt.SubscribeOptions(qos=1, retainHandling=1))
    assert once.sync() == []


def test_message_properties_are_passed_through(paho: MakePaho) -> None:
    sub = paho("sub")
    sub.subscribe("props/t", 1)
    publish_props = props(PUB, PayloadFormatIndicator=1, ContentType="text/plain", ResponseTopic="reply/here",
                          CorrelationData=b"\x01\x02", UserProperty=[("k", "v")], MessageExpiryInterval=60)
    paho("pub").publish("props/t", "hi", qos=1, properties=publish_props)
    got = sub.get().properties
    assert got.PayloadFormatIndicator == 1 and got.ContentType == "text/plain"
    assert got.ResponseTopic == "reply/here" and got.CorrelationData == b"\x01\x02"
    assert got.UserProperty == [("k", "v")]
    assert 0 < got.MessageExpiryInterval <= 60


def test_topic_alias_from_client(paho: MakePaho) -> None:
    sub = paho("sub")
    sub.subscribe("alias/t", 1)
    pub = paho("pub")
    pub.publish("alias/t", b"first", qos=1, properties=props(PUB, TopicAlias=1))
    pub.publish("", b"second", qos=1, properties=props(PUB, TopicAlias=1))
    assert [(m.topic, m.payload) for m in (sub.get(), sub.get())] == [("alias/t", b"first"), ("alias/t", b"second")]


def test_server_keep_alive_and_connack_properties(start_broker: Callable[..., tuple]) -> None:
    from tests.broker.conftest import make_config

    background, _events = start_broker(make_config(server_keep_alive=20))
    client = Paho(background.ports["mqtt"], "ka", keepalive=100)
    try:
        got = client.connack_properties
        assert got.ServerKeepAlive == 20
        assert got.TopicAliasMaximum >= 1 and got.MaximumPacketSize > 0
    finally:
        client.close()


def test_assigned_client_identifier(paho: MakePaho) -> None:
    client = paho("")
    assigned = client.connack_properties.AssignedClientIdentifier
    assert assigned
    client.subscribe("assigned/t", 0)


def test_maximum_packet_size_towards_the_client(paho: MakePaho) -> None:
    small = paho("small", properties=props(MaximumPacketSize=64))
    small.subscribe("size/t", 0)
    pub = paho("pub")
    pub.publish("size/t", b"x" * 200)
    pub.publish("size/t", b"ok")
    assert small.get().payload == b"ok"

