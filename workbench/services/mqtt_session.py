"""One live MQTT connection over paho-mqtt: connect off the caller's thread, and report in plain callbacks.

The same code talks to the local platform, mosquitto, any standard broker and a real tenant. paho runs its
network loop in its own thread; callbacks arrive there, so the UI turns them into queued signals.
"""

from __future__ import annotations

import logging
import ssl
import threading
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from workbench.core.mqtt_errors import connack_error, early_disconnect_error
from workbench.core.tls import explain_failure, version_range
from workbench.errors import MqttConnectError, WorkbenchError

log = logging.getLogger("workbench.mqtt")


class _LibraryDiagnostics(logging.Filter):
    """paho's own log lines are diagnostics for `--debug`: what went wrong reaches the user as a SessionState with
    its explanation, so a paho "error" (e.g. its loop finding the socket closed by the server) is kept at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


_PAHO_LOG = logging.getLogger("workbench.mqtt.paho")
_PAHO_LOG.addFilter(_LibraryDiagnostics())

_PAHO_PROTOCOL = {3: paho.MQTTv31, 4: paho.MQTTv311, 5: paho.MQTTv5}
_SENT_KEPT = 1000  # recent PUBLISHes whose completion a caller may still wait for
_V5_PROPERTY_NAMES = {
    "session_expiry_interval": "SessionExpiryInterval", "receive_maximum": "ReceiveMaximum",
    "maximum_packet_size": "MaximumPacketSize", "topic_alias_maximum": "TopicAliasMaximum",
    "content_type": "ContentType", "response_topic": "ResponseTopic", "correlation_data": "CorrelationData",
    "message_expiry_interval": "MessageExpiryInterval", "payload_format_indicator": "PayloadFormatIndicator",
}


class SessionState(Enum):
    """Where the connection is; the console's tab shows it."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    FAILED = "failed"


@dataclass(frozen=True)
class Will:
    """Last will: sent by the broker when this client vanishes."""

    topic: str
    payload: bytes = b""
    qos: int = 0
    retain: bool = False


@dataclass(frozen=True)
class SessionSettings:
    """What a connection needs, already resolved from a profile (passwords read, TLS context built)."""

    host: str
    port: int
    client_id: str
    protocol: int = 4
    keepalive: int = 60
    clean_start: bool = True
    username: str | None = None
    password: str | None = None
    will: Will | None = None
    tls: ssl.SSLContext | None = None
    connect_timeout: float = 10.0
    max_inflight: int = 20
    auto_reconnect: bool = False
    connect_properties: dict[str, Any] = field(default_factory=dict)
    user_properties: tuple[tuple[str, str], ...] = ()
    identity: Any = None  # the ClientIdentity inside `tls`, kept for the TLS handshake inspector
    trust: tuple[Any, ...] = ()  # the certificates `tls` trusts (empty: the system's), for the inspector
    proxy: dict[str, Any] | None = None  # paho proxy_set() arguments (needs PySocks)
    transport: str = "tcp"  # or "websockets": MQTT inside WebSocket frames (ws://, or wss:// with `tls`)
    websocket_path: str = "/mqtt"

    @property
    def broker(self) -> str:
        """host:port for messages (the ws:// or wss:// URL over WebSocket)."""
        if self.transport == "websockets":
            return f"{'wss' if self.tls is not None else 'ws'}://{self.host}:{self.port}{self.websocket_path}"
        return f"{self.host}:{self.port}"


class SessionListener(Protocol):
    """What a session reports; every method may be called from paho's thread."""

    def on_state(self, state: SessionState, error: WorkbenchError | None) -> None: ...

    def on_message(self, topic: str, payload: bytes, qos: int, retain: bool, properties: dict[str, Any]) -> None: ...


def _v5_properties(packet: int, values: dict[str, Any], user: tuple[tuple[str, str], ...] = ()) -> Properties | None:
    if not values and not user:
        return None
    props = Properties(packet)
    for name, value in values.items():
        if value is not None and value != "":
            setattr(props, _V5_PROPERTY_NAMES.get(name, name), value)
    if user:
        props.UserProperty = list(user)
    return props


def _properties_dict(props: Properties | None) -> dict[str, Any]:
    if props is None:
        return {}
    raw = props.json()
    return {k: v for k, v in raw.items() if v not in (None, [], "")}


class _TrackingContext:
    """Delegates to the real SSLContext but remembers the socket it wrapped.

    paho leaves the SSL socket open when the handshake fails; the session closes it so no descriptor leaks.
    """

    def __init__(self, inner: ssl.SSLContext) -> None:
        self._inner = inner
        self.last_socket: ssl.SSLSocket | None = None

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self.last_socket = self._inner.wrap_socket(sock, *args, **kwargs)
        return self.last_socket

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class MqttSession:
    """A connection that never blocks its caller: connect() returns at once, results come as callbacks."""

    def __init__(self, settings: SessionSettings, listener: SessionListener) -> None:
        self.settings = settings
        self._listener = listener
        self.state = SessionState.DISCONNECTED
        self._connack_seen = False
        self._closing = False
        self._sent: dict[int, paho.MQTTMessageInfo] = {}  # recent PUBLISHes, for wait_published
        self._ws_socket: Any = None
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=settings.client_id,
                             protocol=_PAHO_PROTOCOL[settings.protocol],
                             clean_session=settings.clean_start if settings.protocol != 5 else None,
                             transport="websockets" if settings.transport == "websockets" else "tcp")
        if settings.transport == "websockets":
            client.ws_set_options(path=settings.websocket_path)
            self._track_websocket_socket(client)
        client.max_inflight_messages_set(settings.max_inflight)
        client.enable_logger(_PAHO_LOG)  # packets for `--debug` (never payloads)
        if settings.username is not None:
            client.username_pw_set(settings.username, settings.password)
        if settings.will is not None:
            w = settings.will
            client.will_set(w.topic, w.payload, w.qos, w.retain)
        self._tls = _TrackingContext(settings.tls) if settings.tls is not None else None
        if self._tls is not None:
            client.tls_set_context(self._tls)  # type: ignore[arg-type]
            if not self._tls._inner.check_hostname:  # else paho checks the name again itself, with ssl.match_hostname
                client.tls_insecure_set(True)
        if settings.proxy is not None:
            client.proxy_set(**settings.proxy)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client

    # --- commands -------------------------------------------------------------------------------------------
    def connect(self) -> None:
        """Open the connection on a short-lived thread (TCP and TLS block); report through the listener."""
        self._set_state(SessionState.CONNECTING, None)
        self._connack_seen = False
        self._closing = False
        threading.Thread(target=self._connect_blocking, name=f"mqtt-connect-{self.settings.client_id}",
                         daemon=True).start()

    def _connect_blocking(self) -> None:
        s = self.settings
        self._client.connect_timeout = s.connect_timeout
        props = _v5_properties(PacketTypes.CONNECT, s.connect_properties, s.user_properties) if s.protocol == 5 \
            else None
        try:
            self._client.connect(s.host, s.port, keepalive=s.keepalive,
                                 clean_start=s.clean_start if s.protocol == 5 else paho.MQTT_CLEAN_START_FIRST_ONLY,
                                 properties=props)
        except Exception as exc:  # every connect failure is reported in words, never raised into paho's thread
            if self._tls is not None and self._tls.last_socket is not None:
                self._tls.last_socket.close()
            if self._ws_socket is not None:  # paho leaves it open when the WebSocket upgrade fails
                self._ws_socket.close()
            self.release()
            if isinstance(exc, paho.WebsocketConnectionError):
                error = MqttConnectError(f"{s.broker} did not accept the WebSocket upgrade ({exc})",
                                         (f"Check the path: is '{s.websocket_path}' the broker's MQTT WebSocket "
                                          "path? Most brokers use /mqtt.",
                                          "Check the port: it must be the broker's WebSocket listener, not its "
                                          "plain MQTT port."))
            else:
                error = explain_failure(exc, host=s.host, port=s.port, timeout=s.connect_timeout,
                                        kind=MqttConnectError, **version_range(s.tls))
            self._set_state(SessionState.FAILED, error)
            return
        self._client.loop_start()

    def release(self) -> None:
        """Close paho's sockets (its wake-up pair too) of a session that is over: now, not whenever the garbage
        collector gets to them (uses paho's private `_reset_sockets`; without it nothing worse than a warning)."""
        reset = getattr(self._client, "_reset_sockets", None)
        if reset is not None and self.state is not SessionState.CONNECTED:
            self._client.loop_stop()
            reset()

    def _track_websocket_socket(self, client: paho.Client) -> None:
        """Remember the TCP socket paho opens under the WebSocket, to close it when the upgrade is refused (paho's
        `_create_socket_connection` is private; without it only a ResourceWarning is lost, so absence is fine)."""
        create = getattr(client, "_create_socket_connection", None)
        if create is None:
            return

        def tracked() -> Any:
            self._ws_socket = create()
            return self._ws_socket

        client._create_socket_connection = tracked  # type: ignore[method-assign]

    def disconnect(self) -> None:
        """Close cleanly (DISCONNECT, so the broker drops the will)."""
        self._closing = True
        self._client.disconnect()
        self._client.loop_stop()
        self._set_state(SessionState.DISCONNECTED, None)
        self.release()

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False,
                properties: dict[str, Any] | None = None,
                user_properties: tuple[tuple[str, str], ...] = ()) -> int:
        """Queue a PUBLISH; returns paho's message id.

        Raises:
            MqttConnectError: not connected, or the topic is invalid.
        """
        self._require_connected("publish")
        props = _v5_properties(PacketTypes.PUBLISH, properties or {}, user_properties) \
            if self.settings.protocol == 5 else None
        try:
            info = self._client.publish(topic, payload, qos, retain, properties=props)
        except ValueError as exc:
            raise MqttConnectError(f"Cannot publish to '{topic}'", (str(exc),
                                   "A topic name must not contain + or #.")) from exc
        self._sent[info.mid] = info
        while len(self._sent) > _SENT_KEPT:
            self._sent.pop(next(iter(self._sent)))
        return info.mid

    def wait_published(self, mid: int, timeout: float) -> bool:
        """Wait until the message `mid` left (QoS 0) or was acknowledged (QoS 1, 2); False when time ran out."""
        info = self._sent.get(mid)
        if info is None:
            return True  # older than the last _SENT_KEPT messages: long done
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError):  # the connection dropped, or paho's queue refused the message
            return False
        return info.is_published()

    def subscribe(self, topic_filter: str, qos: int = 0, *, no_local: bool = False,
                  retain_as_published: bool = False, retain_handling: int = 0) -> int:
        """Subscribe one filter (v5 options apply to MQTT 5 only); returns the message id."""
        self._require_connected("subscribe")
        if self.settings.protocol == 5:
            options = paho.SubscribeOptions(qos=qos, noLocal=no_local, retainAsPublished=retain_as_published,
                                            retainHandling=retain_handling)
            result, mid = self._client.subscribe(topic_filter, options=options)
        else:
            result, mid = self._client.subscribe(topic_filter, qos)
        if result != paho.MQTT_ERR_SUCCESS:
            raise MqttConnectError(f"Cannot subscribe to '{topic_filter}'", (paho.error_string(result),))
        return int(mid or 0)

    def unsubscribe(self, topic_filter: str) -> None:
        """Stop receiving a filter."""
        self._require_connected("unsubscribe")
        self._client.unsubscribe(topic_filter)

    def _require_connected(self, what: str) -> None:
        if self.state is not SessionState.CONNECTED:
            raise MqttConnectError(f"Cannot {what}: the connection is {self.state.value}",
                                   ("Connect first (Ctrl+Shift+C).",))

    # --- paho callbacks (paho's thread) --------------------------------------------------------------------------
    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._connack_seen = True
        code = reason.value if hasattr(reason, "value") else int(reason)
        if code == 0:
            self._set_state(SessionState.CONNECTED, None)
            return
        reason_string = getattr(props, "ReasonString", "") if props is not None else ""
        self._closing = True
        self._set_state(SessionState.FAILED, connack_error(_v3_code(code, self.settings.protocol),
                                                           self.settings.protocol, self.settings.broker,
                                                           reason_string))
        client.disconnect()

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if self._closing or self.state is SessionState.FAILED:
            return
        if not self._connack_seen:
            error = early_disconnect_error(self.settings.broker, self.settings.tls is not None)
        else:
            error = MqttConnectError(f"{self.settings.broker} closed the connection ({reason})",
                                     ("The broker may have taken over this client id from another connection.",
                                      "Check the keep alive and the broker's log."))
        if not self.settings.auto_reconnect:
            client.loop_stop()
        self._set_state(SessionState.FAILED, error)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        props = _properties_dict(getattr(message, "properties", None))
        self._listener.on_message(message.topic, bytes(message.payload), message.qos, bool(message.retain), props)

    def _set_state(self, state: SessionState, error: WorkbenchError | None) -> None:
        self.state = state
        if error is not None:
            log.info("%s: %s", self.settings.broker, error.summary)
        self._listener.on_state(state, error)


def _v3_code(code: int, protocol: int) -> int:
    """paho 2 reports v3 CONNACK codes as v5 reason codes; give the table the code the broker sent."""
    if protocol == 5 or code < 0x80:
        return code
    return {0x84: 1, 0x85: 2, 0x88: 3, 0x86: 4, 0x87: 5}.get(code, code)

