"""The guide's token request over MQTT: connect as `d:<CN>` with mutual TLS, subscribe `s/dat`, publish an empty
`s/uat`, and read `71,<jwt>`. Works the same against the local platform and a real tenant.
"""

from __future__ import annotations

import queue
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from workbench.core.platform_client.smartrest import ErrorLine, parse_error_line, parse_token_line
from workbench.core.platform_client.tokens import DeviceToken, decode_token, verify_with_jwks
from workbench.errors import WorkbenchError
from workbench.services.mqtt_session import MqttSession, SessionSettings, SessionState

DEFAULT_TIMEOUT = 15.0


class TokenFlowError(WorkbenchError):
    """The token did not arrive; the causes say what the platform or the TLS layer answered."""


@dataclass
class TokenFlowResult:
    """The token, what it claims, and the `s/e` lines the platform sent meanwhile."""

    token: DeviceToken
    errors: list[ErrorLine] = field(default_factory=list)
    verified: bool = False
    seconds: float = 0.0


class _Inbox:
    """Collects state changes and messages from paho's thread."""

    def __init__(self) -> None:
        self.states: queue.Queue[tuple[SessionState, WorkbenchError | None]] = queue.Queue()
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()

    def on_state(self, state: SessionState, error: WorkbenchError | None) -> None:
        self.states.put((state, error))

    def on_message(self, topic: str, payload: bytes, qos: int, retain: bool, properties: dict[str, Any]) -> None:
        self.messages.put((topic, payload))


class DeviceConnection:
    """A device's MQTT connection for scripted steps (CLI onboarding, tests): connect, send, wait for lines."""

    def __init__(self, host: str, port: int, client_id: str, tls: ssl.SSLContext | None, *,
                 timeout: float = DEFAULT_TIMEOUT, username: str | None = None,
                 password: str | None = None) -> None:
        self.timeout = timeout
        self._inbox = _Inbox()
        # username/password: a password device (bootstrap registration) instead of a client certificate
        self.session = MqttSession(SessionSettings(host, port, client_id, protocol=4, tls=tls,
                                                   connect_timeout=timeout, username=username, password=password),
                                   self._inbox)
        self.errors: list[ErrorLine] = []

    def connect(self) -> None:
        """Block until CONNACK 0.

        Raises:
            WorkbenchError: the connection failed; the error names the CONNACK code or the TLS cause.
        """
        self.session.connect()
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                state, error = self._inbox.states.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                self.session.disconnect()
                raise TokenFlowError(f"no answer from {self.session.settings.broker} within {self.timeout:g} s",
                                     ("the port may be filtered, or the server is not an MQTT broker",)) from None
            if state is SessionState.CONNECTED:
                return
            if state is SessionState.FAILED:
                assert error is not None
                raise error

    def subscribe(self, *topics: str) -> None:
        """Subscribe to downstream topics (QoS 0)."""
        for topic in topics:
            self.session.subscribe(topic, 0)

    def publish(self, topic: str, payload: bytes | str = b"", qos: int = 1) -> None:
        """Publish upstream (QoS 1 by default, so it is acknowledged before the next step)."""
        self.session.publish(topic, payload.encode() if isinstance(payload, str) else payload, qos)

    def wait_line(self, topic: str, timeout: float | None = None) -> str | None:
        """The next line on `topic`; `s/e` lines seen meanwhile are collected in `errors`. None on timeout."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            try:
                got, payload = self._inbox.messages.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                return None
            text = payload.decode("utf-8", "replace")
            if got == "s/e":
                self.errors += [parse_error_line(line) for line in text.splitlines() if line]
            if got == topic:
                return text
            if time.monotonic() > deadline:
                return None

    def request_token(self, jwks: dict[str, Any] | None = None) -> TokenFlowResult:
        """`s/uat` → `71,<jwt>`; decoded, and verified when a JWKS is given (the local platform has one).

        Raises:
            TokenFlowError: no token arrived; the causes list the `s/e` lines and the likely reasons.
        """
        started = time.monotonic()
        self.subscribe("s/dat", "s/e")
        self.publish("s/uat", b"", qos=0)
        line = self.wait_line("s/dat")
        raw = parse_token_line(line) if line is not None else None
        if raw is None:
            causes = [e.describe() for e in self.errors] or [
                "the platform sends tokens only to certificate devices (client id d:<CN> with the device's chain)",
                "nothing arrives before the device subscribed to s/dat in this connection"]
            raise TokenFlowError("no device token arrived on s/dat", tuple(causes))
        token = decode_token(raw)
        verified = False
        if jwks is not None:
            token = verify_with_jwks(token, jwks)
            verified = True
        return TokenFlowResult(token, list(self.errors), verified, time.monotonic() - started)

    def close(self) -> None:
        """DISCONNECT and stop paho's thread; its sockets close now even when the server closed the connection first
        (a bootstrap login after its credentials), instead of paho reconnecting in the background."""
        if self.session.state is SessionState.CONNECTED:
            self.session.disconnect()
        else:
            self.session.release()
