"""The platform extension interface: authentication on every CONNECT, authorisation, hooks, admin verbs, events."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from embedded_broker import Action, AuthResult, ClientInfo, EventKind
from tests.broker import wire
from tests.broker.conftest import Paho
from tests.broker.wire import RawClient


class Platform:
    """A toy extension: user "device" with password "secret" is a device; "reserved/#" is consumed."""

    def __init__(self) -> None:
        self.authenticated: list[str] = []
        self.consumed: list[tuple[str, bytes]] = []
        self.connected: list[str] = []
        self.disconnected: list[tuple[str, int]] = []
        self.hold = False
        self.lock = threading.Lock()

    async def authenticate(self, connect: Any, tls_peer: Any, listener: str) -> AuthResult:
        with self.lock:
            self.authenticated.append(connect.client_id)
        if connect.username == "device" and connect.password == b"secret":
            return AuthResult.accept({"device": connect.client_id})
        if connect.username == "guest":
            return AuthResult.accept(None)
        return AuthResult.refuse(0x86, "bad user name or password")

    def authorize(self, identity: Any, action: Action, topic: str) -> int:
        if identity is None and (topic.startswith("private/") or topic.startswith("$share/g/private")):
            return 0x87
        return 0

    def on_publish(self, client: ClientInfo, topic: str, payload: bytes, qos: int, properties: Any) -> bool:
        if topic.startswith("reserved/"):
            self.consumed.append((topic, payload))
            return True
        return False

    def hold_delivery(self, client: ClientInfo) -> bool:
        return self.hold

    def on_connected(self, client: ClientInfo) -> None:
        self.connected.append(client.client_id)

    def on_disconnected(self, client: ClientInfo, reason_code: int, reason: str) -> None:
        self.disconnected.append((client.client_id, reason_code))


def login(client: Paho, user: str, password: str | None = None) -> None:
    client.client.username_pw_set(user, password)


def test_refused_connect_v311_and_v5_and_event(start_broker: Callable[..., tuple]) -> None:
    background, events = start_broker(extension=Platform())
    port = background.ports["mqtt"]
    with RawClient(port) as client:
        client.send(wire.connect("intruder", 4, username="x", password=b"y"))
        assert client.expect_closed() == b"\x20\x02\x00\x04"  # v3 "bad user name or password"
    with RawClient(port) as client:
        client.send(wire.connect("intruder5", 5, username="x", password=b"y"))
        last = client.expect_closed()
        assert last is not None and wire.split_header(last)[1][:2] == b"\x00\x86"
    refused = events.wait_for(lambda e: e.kind is EventKind.REFUSED and e.client_id == "intruder5")
    assert refused.reason_code == 0x86 and "password" in refused.reason


def test_authentication_runs_on_every_connect_and_never_comes_from_the_session(
    start_broker: Callable[..., tuple],
) -> None:
    platform = Platform()
    background, _ = start_broker(extension=platform)
    port = background.ports["mqtt"]
    with RawClient(port) as device:
        device.connect("dev-1", 4, clean=False, username="device", password=b"secret")
        device.send(wire.subscribe(1, ("private/x", 1)))
        device.expect(b"\x90\x03\x00\x01\x01")
    with RawClient(port) as impostor:  # same client id, persistent session, but no credentials
        impostor.send(wire.connect("dev-1", 4, clean=False))
        assert impostor.expect_closed() == b"\x20\x02\x00\x04"
    assert platform.authenticated == ["dev-1", "dev-1"]


def test_subscribe_refused_per_filter_v3_and_v5(start_broker: Callable[..., tuple]) -> None:
    background, _ = start_broker(extension=Platform())
    port = background.ports["mqtt"]
    with RawClient(port) as client:
        client.connect("guest3", 4, username="guest")
        client.send(wire.subscribe(1, ("private/a", 1), ("public/a", 1)))
        client.expect(b"\x90\x04\x00\x01\x80\x01")
    with RawClient(port) as client:
        client.connect("guest5", 5, username="guest")
        client.send(wire.subscribe(1, ("private/a", 1), ("public/a", 1), version=5))
        client.expect(b"\x90\x05\x00\x01\x00\x87\x01")


def test_refused_publish_dropped_v3_answered_v5(start_broker: Callable[..., tuple]) -> None:
    background, _ = start_broker(extension=Platform())
    port = background.ports["mqtt"]
    with RawClient(port) as client:
        client.connect("g3", 4, username="guest")
        client.send(wire.publish("private/t", b"x", qos=1, packet_id=9))
        client.expect(b"\x40\x02\x00\x09")
    with RawClient(port) as client:
        client.connect("g5", 5, username="guest")
        client.send(wire.publish("private/t", b"x", qos=1, packet_id=9, version=5))
        first, body = wire.split_header(client.recv_packet())  # type: ignore[arg-type]
        assert first == 0x40 and body[:3] == b"\x00\x09\x87"


def test_on_publish_consumes_reserved_topics(start_broker: Callable[..., tuple]) -> None:
    platform = Platform()
    background, _ = start_broker(extension=platform)
    sub = Paho(background.ports["mqtt"], "watch", connect=False)
    login(sub, "guest")
    sub.connect()
    try:
        sub.subscribe("reserved/#", 1)
        sub.publish("reserved/x", b"for the platform", qos=1)
        assert sub.sync() == []
        assert platform.consumed == [("reserved/x", b"for the platform")]
    finally:
        sub.close()


def test_hold_delivery_until_released_and_send_to_client(start_broker: Callable[..., tuple]) -> None:
    platform = Platform()
    platform.hold = True
    background, _ = start_broker(extension=platform)
    held = Paho(background.ports["mqtt"], "held", connect=False)
    login(held, "guest")
    held.connect()
    try:
        held.subscribe("ops/#", 1)
        assert background.call(background.broker.send_to_client, "held", "ops/direct", b"1", 1)
        assert held.messages.empty()
        assert background.call(background.broker.release_delivery, "held")
        assert held.get().payload == b"1"
        assert not background.call(background.broker.send_to_client, "nobody", "x", b"")
    finally:
        held.close()


def test_disconnect_clients_by_predicate_and_lifecycle_hooks(start_broker: Callable[..., tuple]) -> None:
    platform = Platform()
    background, events = start_broker(extension=platform)
    port = background.ports["mqtt"]
    device = Paho(port, "dev", connect=False)
    login(device, "device", "secret")
    device.connect()
    guest = Paho(port, "guest", connect=False)
    login(guest, "guest")
    guest.connect()
    try:
        count = background.call(background.broker.disconnect_clients, lambda info: info.identity is not None,
                                0x98, "certificate revoked")
        assert count == 1
        rc, _ = device.wait_disconnected()
        assert rc == 0x98
        event = events.wait_for(lambda e: e.kind is EventKind.DISCONNECTED and e.client_id == "dev")
        assert event.reason == "certificate revoked"
        assert "dev" in platform.connected and ("dev", 0x98) in platform.disconnected
        assert [c.client_id for c in background.call(background.broker.clients)] == ["guest"]
        guest.subscribe("x/y", 0)
        events.wait_for(lambda e: e.kind is EventKind.SUBSCRIBED and e.detail["topic_filter"] == "x/y")
    finally:
        device.close()
        guest.close()


def test_paho_sees_refusal_reason(start_broker: Callable[..., tuple]) -> None:
    background, _ = start_broker(extension=Platform())
    client = Paho(background.ports["mqtt"], "nope", connect=False)
    client.client.username_pw_set("x", "y")
    try:
        rc, _flags, _props = client.connect()
        assert rc == mqtt.ReasonCode(mqtt.PacketTypes.CONNACK, identifier=0x86)
    finally:
        client.close()
