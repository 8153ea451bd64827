"""The MQTT verbs (publish, subscribe, request/response) in one home: the console and `workbench mqtt` both call
them, so a topic, a QoS or a payload is checked and sent the same way whichever front end asked.

`publish` and `subscribe` act on any connected session (the console's, or the CLI's `BlockingClient`);
`BlockingClient` adds what a script needs on top of the non-blocking `MqttSession`: wait for CONNACK, wait until a
PUBLISH left (QoS 0) or was acknowledged (QoS 1 and 2), take messages with a deadline, and `request` as
`mosquitto_rr` does.
"""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from workbench.core.console.messages import topic_matches
from workbench.core.profiles.parts import check_range, check_topic_filter, check_topic_name
from workbench.errors import InvalidInputError, MqttConnectError, ProfileError, WorkbenchError
from workbench.services.mqtt_session import MqttSession, SessionSettings, SessionState

DEFAULT_TIMEOUT = 10.0


class VerbSession(Protocol):
    """What the verbs need of a connection: `MqttSession` and the console's session both have it."""

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False,
                properties: dict[str, Any] | None = None,
                user_properties: tuple[tuple[str, str], ...] = ()) -> int: ...

    def subscribe(self, topic_filter: str, qos: int = 0, *, no_local: bool = False,
                  retain_as_published: bool = False, retain_handling: int = 0) -> int: ...


def _checked(check: Any, *args: Any) -> None:
    """The profile checks raise ProfileError; for a verb the value is the user's input."""
    try:
        check(*args)
    except ProfileError as exc:
        raise InvalidInputError(exc.summary, exc.causes) from exc


@dataclass(frozen=True)
class PublishRequest:
    """One PUBLISH, checked when built: a topic without wildcards, QoS 0 to 2, MQTT 5 properties as names."""

    topic: str
    payload: bytes = b""
    qos: int = 0
    retain: bool = False
    properties: dict[str, Any] = field(default_factory=dict)
    user_properties: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        _checked(check_topic_name, self.topic, "Topic")
        _checked(check_range, self.qos, 0, 2, "QoS")


@dataclass(frozen=True)
class SubscribeRequest:
    """One SUBSCRIBE filter, checked when built ('+' and '#' as whole levels); the v5 options apply to MQTT 5."""

    topic_filter: str
    qos: int = 0
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0

    def __post_init__(self) -> None:
        _checked(check_topic_filter, self.topic_filter, "Topic filter")
        _checked(check_range, self.qos, 0, 2, "QoS")
        _checked(check_range, self.retain_handling, 0, 2, "Retain handling")


def publish(session: VerbSession, request: PublishRequest) -> int:
    """Send one PUBLISH on a connected session; returns its message id.

    Raises:
        MqttConnectError: not connected, or the client refused the message.
    """
    return session.publish(request.topic, request.payload, request.qos, request.retain, request.properties or None,
                           request.user_properties)


def subscribe(session: VerbSession, request: SubscribeRequest) -> int:
    """Send one SUBSCRIBE on a connected session; returns its message id.

    Raises:
        MqttConnectError: not connected, or the client refused the filter.
    """
    return session.subscribe(request.topic_filter, request.qos, no_local=request.no_local,
                             retain_as_published=request.retain_as_published,
                             retain_handling=request.retain_handling)


@dataclass(frozen=True)
class Message:
    """A received PUBLISH, as the CLI prints it."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    properties: dict[str, Any]
    received_at: float  # time.time()


class _Inbox:
    """Collects what paho's thread reports, for the caller's thread to wait on."""

    def __init__(self) -> None:
        self.states: queue.Queue[tuple[SessionState, WorkbenchError | None]] = queue.Queue()
        self.messages: queue.Queue[Message] = queue.Queue()

    def on_state(self, state: SessionState, error: WorkbenchError | None) -> None:
        self.states.put((state, error))

    def on_message(self, topic: str, payload: bytes, qos: int, retain: bool, properties: dict[str, Any]) -> None:
        self.messages.put(Message(topic, payload, qos, retain, properties, time.time()))


class BlockingClient:
    """A connection for scripts and the CLI: every call returns when its work is done or its deadline passed."""

    def __init__(self, settings: SessionSettings, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self._inbox = _Inbox()
        self.session = MqttSession(settings, self._inbox)

    @property
    def settings(self) -> SessionSettings:
        """The resolved connection settings."""
        return self.session.settings

    def __enter__(self) -> BlockingClient:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        """Block until CONNACK 0.

        Raises:
            MqttConnectError: refused, or the network or TLS failed (the error says what to check), or no answer.
        """
        self.session.connect()
        deadline = time.monotonic() + self.settings.connect_timeout + 1.0
        while True:
            try:
                state, error = self._inbox.states.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                self.close()
                raise MqttConnectError(f"No CONNACK from {self.settings.broker} within "
                                       f"{self.settings.connect_timeout:g} s",
                                       ("The port may not be an MQTT port (check TCP vs WebSocket and TLS).",
                                        "The broker may be overloaded.")) from None
            if state is SessionState.CONNECTED:
                return
            if state is SessionState.FAILED:
                assert error is not None
                raise error

    def publish(self, request: PublishRequest) -> None:
        """Publish and wait until the message left (QoS 0) or the broker acknowledged it (QoS 1, 2).

        Raises:
            MqttConnectError: not connected, or no acknowledgement within the timeout.
        """
        mid = publish(self.session, request)
        if not self.session.wait_published(mid, self.timeout):
            raise MqttConnectError(f"{self.settings.broker} did not acknowledge the message to '{request.topic}' "
                                   f"within {self.timeout:g} s",
                                   ("The broker may refuse this topic for this client (QoS 1/2 need an answer).",
                                    "Check the broker's log and access rules."))

    def subscribe(self, request: SubscribeRequest) -> None:
        """Subscribe one filter (packets leave in order, so a PUBLISH sent next is already covered)."""
        subscribe(self.session, request)

    def next_message(self, timeout: float | None) -> Message | None:
        """The next message, or None when `timeout` seconds pass first (None: wait without end).

        Raises:
            MqttConnectError: the connection was lost while waiting.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._raise_if_lost()
            left = 0.25 if deadline is None else min(0.25, deadline - time.monotonic())
            if left <= 0:
                return None
            try:
                return self._inbox.messages.get(timeout=left)
            except queue.Empty:
                continue

    def messages(self, count: int | None = None, timeout: float | None = None) -> Iterator[Message]:
        """Messages as they arrive, until `count` came or `timeout` seconds passed (both optional)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        seen = 0
        while count is None or seen < count:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return
            message = self.next_message(left)
            if message is None:
                return
            seen += 1
            yield message

    def request(self, request: PublishRequest, response_topic: str, timeout: float | None = None) -> Message:
        """mosquitto_rr: subscribe to `response_topic`, publish, and return the first message that arrives there.

        Over MQTT 5 the request carries the response topic and correlation data, as mosquitto_rr sends them, and a
        response with other correlation data is skipped.

        Raises:
            InvalidInputError: the response topic is not a valid filter.
            MqttConnectError: nothing arrived within the timeout (the causes say what to check).
        """
        self.subscribe(SubscribeRequest(response_topic, max(request.qos, 0)))
        correlation = None
        if self.settings.protocol == 5:
            correlation = os.urandom(8)
            request = PublishRequest(request.topic, request.payload, request.qos, request.retain,
                                     {**request.properties, "response_topic": response_topic,
                                      "correlation_data": correlation}, request.user_properties)
        self.publish(request)
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        while (message := self.next_message(max(deadline - time.monotonic(), 0))) is not None:
            if topic_matches(response_topic, message.topic) and (
                    correlation is None or message.properties.get("CorrelationData") in (None, correlation,
                                                                                         correlation.hex())):
                return message
        raise MqttConnectError(f"No response on '{response_topic}' within {wait:g} s",
                               ("Check the request topic and that something answers on it.",
                                "The broker may not let this client subscribe to the response topic.",
                                "The local platform answers s/uat on s/dat only to a certificate device "
                                "(client id d:<CN>)."))

    def close(self) -> None:
        """DISCONNECT (when connected) and stop paho's thread."""
        if self.session.state is SessionState.CONNECTED:
            self.session.disconnect()
        self.session.release()

    def _raise_if_lost(self) -> None:
        try:
            state, error = self._inbox.states.get_nowait()
        except queue.Empty:
            return
        if state is SessionState.FAILED and error is not None:
            raise error
