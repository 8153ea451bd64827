"""Shared broker fixtures: an in-process BackgroundBroker on 127.0.0.1:0, and a paho client wrapper with queues."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from embedded_broker import BackgroundBroker, BrokerConfig, BrokerEvent, Limits, ListenerConfig

WAIT = 5.0


def make_config(limits: Limits | None = None, **options: Any) -> BrokerConfig:
    options.setdefault("sys_interval", 0)
    return BrokerConfig(listeners=(ListenerConfig("mqtt", "127.0.0.1", 0),),
                        limits=limits or Limits(connect_timeout=3.0), **options)


class EventLog:
    """Collects broker events (delivered on the broker thread) and lets a test wait for one."""

    def __init__(self) -> None:
        self.events: list[BrokerEvent] = []
        self._cond = threading.Condition()

    def __call__(self, event: BrokerEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[BrokerEvent], bool], timeout: float = WAIT) -> BrokerEvent:
        with self._cond:
            found: list[BrokerEvent] = []

            def check() -> bool:
                found[:] = [e for e in self.events if predicate(e)]
                return bool(found)

            assert self._cond.wait_for(check, timeout), f"no matching event in {self.events}"
            return found[0]


@pytest.fixture
def start_broker() -> Iterator[Callable[..., tuple[BackgroundBroker, EventLog]]]:
    """Factory: start a broker with a given config/extension; all are stopped at teardown."""
    started: list[BackgroundBroker] = []

    def start(config: BrokerConfig | None = None, extension: object | None = None) -> tuple[BackgroundBroker, EventLog]:
        background = BackgroundBroker(config or make_config(), extension)
        events = EventLog()
        background.start()
        started.append(background)
        background.call(background.broker.add_event_listener, events)  # type: ignore[union-attr]
        return background, events

    yield start
    for background in started:
        background.stop()


@pytest.fixture
def broker(start_broker: Callable[..., tuple[BackgroundBroker, EventLog]]) -> BackgroundBroker:
    return start_broker()[0]


@pytest.fixture
def port(broker: BackgroundBroker) -> int:
    return broker.ports["mqtt"]


class Paho:
    """paho-mqtt 2.x client on its own network thread (no auto-reconnect), with queues for everything received."""

    def __init__(self, port: int, client_id: str = "", version: int = 5, clean: bool = True,
                 properties: Properties | None = None, keepalive: int = 60,
                 will: tuple[str, bytes, int, bool] | None = None, will_properties: Properties | None = None,
                 connect: bool = True) -> None:
        protocol = mqtt.MQTTv5 if version == 5 else (mqtt.MQTTv311 if version == 4 else mqtt.MQTTv31)
        kwargs: dict[str, Any] = {"client_id": client_id, "protocol": protocol}
        if version != 5:
            kwargs["clean_session"] = clean
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, **kwargs)
        self.version, self.port, self.clean, self.keepalive = version, port, clean, keepalive
        self.properties = properties
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.connacks: queue.Queue[tuple[Any, Any, Any]] = queue.Queue()
        self.subacks: queue.Queue[tuple[int, list[Any], Any]] = queue.Queue()
        self.disconnects: queue.Queue[tuple[Any, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        client = self.client
        client.on_connect = lambda c, u, flags, rc, props: self.connacks.put((rc, flags, props))
        client.on_message = lambda c, u, msg: self.messages.put(msg)
        client.on_subscribe = lambda c, u, mid, codes, props: self.subacks.put((mid, codes, props))
        client.on_disconnect = lambda c, u, flags, rc, props: self.disconnects.put((rc, props))
        if will is not None:
            client.will_set(will[0], will[1], will[2], will[3], properties=will_properties)
        if connect:
            self.connect()

    def connect(self) -> tuple[Any, Any, Any]:
        if self.version == 5:
            self.client.connect("127.0.0.1", self.port, self.keepalive, clean_start=self.clean,
                                properties=self.properties)
        else:
            self.client.connect("127.0.0.1", self.port, self.keepalive)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        rc, flags, props = self.connacks.get(timeout=WAIT)
        self.connack_properties = props
        self.session_present = flags.session_present
        self.connack_reason = rc
        return rc, flags, props

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self.client.loop(0.02) != mqtt.MQTT_ERR_SUCCESS:
                break

    def subscribe(self, topic: str, qos: int = 0, options: mqtt.SubscribeOptions | None = None,
                  properties: Properties | None = None) -> list[Any]:
        if self.version == 5:
            result, mid = self.client.subscribe(topic, options=options or mqtt.SubscribeOptions(qos=qos),
                                                properties=properties)
        else:
            result, mid = self.client.subscribe(topic, qos)
        assert result == mqtt.MQTT_ERR_SUCCESS
        got_mid, codes, _props = self.subacks.get(timeout=WAIT)
        assert got_mid == mid
        return codes

    def publish(self, topic: str, payload: bytes | str = b"", qos: int = 0, retain: bool = False,
                properties: Properties | None = None, wait: bool = True) -> mqtt.MQTTMessageInfo:
        info = self.client.publish(topic, payload, qos, retain, properties=properties)
        if wait:
            info.wait_for_publish(WAIT)
        return info

    def get(self, timeout: float = WAIT) -> mqtt.MQTTMessage:
        return self.messages.get(timeout=timeout)

    def sync(self, topic: str = "sync/barrier") -> list[mqtt.MQTTMessage]:
        """Everything received before a barrier message round-trips through the broker (no sleeping)."""
        barrier = f"{topic}/{id(self)}"
        self.subscribe(barrier, 1)
        self.publish(barrier, b"barrier", qos=1)
        received = []
        while True:
            msg = self.get()
            if msg.topic == barrier:
                return received
            received.append(msg)

    def wait_disconnected(self, timeout: float = WAIT) -> tuple[Any, Any]:
        result = self.disconnects.get(timeout=timeout)
        self._stop.set()
        return result

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self.client.disconnect()
            self._stop.set()
            self._thread.join(WAIT)
        self.client.socket() and self.client.socket().close()  # type: ignore[func-returns-value]


def props(packet_type: int = PacketTypes.CONNECT, **values: Any) -> Properties:
    properties = Properties(packet_type)
    for name, value in values.items():
        setattr(properties, name, value)
    return properties


@pytest.fixture
def paho(port: int) -> Iterator[Callable[..., Paho]]:
    """Factory for connected paho clients on the default broker; all are closed at teardown."""
    clients: list[Paho] = []

    def make(*args: Any, **kwargs: Any) -> Paho:
        client = Paho(port, *args, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
