"""The pieces of a connection profile (TLS, last will, proxy, MQTT 5 properties), each validated once when built."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from workbench.errors import ProfileError

DEFAULT_TRUSTED_ALIAS = "servercertificate"  # the guide's `keytool -importcert ... -alias servercertificate`
DEFAULT_KEY_PAIR_ALIAS = "devicekeyentry"  # the guide's `openssl pkcs12 -export -name devicekeyentry`

PROXY_SUPPORT_NOTE = (
    "paho-mqtt 2.x connects through a proxy with Client.proxy_set(), which needs the PySocks package; "
    "without it the connection layer reports the proxy as unsupported."
)


class MqttVersion(Enum):
    """The MQTT protocol versions MQTT.fx offers; the value is what the user sees."""

    V31 = "3.1"
    V311 = "3.1.1"
    V5 = "5.0"

    @property
    def protocol_level(self) -> int:
        """The CONNECT protocol level byte (3, 4, 5) that paho and the broker speak."""
        return {"3.1": 3, "3.1.1": 4, "5.0": 5}[self.value]


class TlsMode(Enum):
    """How the client trusts the broker and proves itself, named as MQTT.fx and the guide name them."""

    NONE = "none"
    CA_SIGNED_SERVER = "ca-signed-server"
    CA_FILE = "ca-certificate-file"
    SELF_SIGNED = "self-signed"
    KEYSTORES = "keystores"

    @property
    def label(self) -> str:
        """The words MQTT.fx and the guide use, for the UI."""
        return _TLS_LABELS[self]


_TLS_LABELS = {
    TlsMode.NONE: "No TLS",
    TlsMode.CA_SIGNED_SERVER: "CA signed server certificate",
    TlsMode.CA_FILE: "CA certificate file",
    TlsMode.SELF_SIGNED: "Self signed certificates",
    TlsMode.KEYSTORES: "Self signed certificates in keystores",
}


class TlsVersion(Enum):
    """The TLS versions a profile may pin (older ones are not offered: the platform refuses them)."""

    V12 = "1.2"
    V13 = "1.3"


class KeystoreType(Enum):
    """Keystore formats MQTT.fx accepts in keystore mode."""

    JKS = "JKS"
    PKCS12 = "PKCS12"


class ProxyKind(Enum):
    """Proxy protocols paho can tunnel through (with PySocks)."""

    HTTP = "http"
    SOCKS4 = "socks4"
    SOCKS5 = "socks5"


class Transport(Enum):
    """How MQTT travels: straight over TCP (mqtt/mqtts), or inside WebSocket frames (ws/wss) through HTTP proxies
    and port 443; TLS applies to both the same way."""

    TCP = "tcp"
    WEBSOCKETS = "websockets"

    def scheme(self, tls: bool) -> str:
        """The URL scheme MQTTX and the brokers' docs use: mqtt, mqtts, ws or wss."""
        return {(Transport.TCP, False): "mqtt", (Transport.TCP, True): "mqtts",
                (Transport.WEBSOCKETS, False): "ws", (Transport.WEBSOCKETS, True): "wss"}[(self, tls)]


class ProfileKind(Enum):
    """What a profile points at; decides the defaults the UI offers (token panel, REST URL)."""

    LOCAL_PLATFORM = "local-platform"
    SANDBOX = "sandbox"
    TENANT = "tenant"
    GENERIC = "generic"


def check_port(port: int, what: str) -> None:
    """Reject a port number that no socket can use, naming the field."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ProfileError(f"{what} {port!r} is not a port number", ("Use a number from 1 to 65535.",))


def check_range(value: int | None, low: int, high: int, what: str) -> None:
    """Reject an integer outside its protocol range, naming the field and the range."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProfileError(f"{what} {value!r} is out of range", (f"Use a whole number from {low} to {high}.",))


def check_topic_name(topic: str, what: str) -> None:
    """A topic to publish to: not empty, no wildcards, no NUL (MQTT 4.7)."""
    if not topic:
        raise ProfileError(f"{what} is empty", ("Enter the topic the message goes to.",))
    if any(ch in topic for ch in "+#\x00"):
        raise ProfileError(f"{what} '{topic}' contains a wildcard or NUL", ("Wildcards are for subscriptions only.",))
    if len(topic.encode("utf-8")) > 65535:
        raise ProfileError(f"{what} is longer than 65535 bytes", ("Shorten the topic.",))


def check_topic_filter(topic_filter: str, what: str) -> None:
    """A filter to subscribe to: not empty, no NUL, '#' only last and '+'/'#' only as whole levels (MQTT 4.7.1)."""
    if not topic_filter:
        raise ProfileError(f"{what} is empty", ("Enter a topic filter such as 's/ds' or 'sensors/#'.",))
    if "\x00" in topic_filter or len(topic_filter.encode("utf-8")) > 65535:
        raise ProfileError(f"{what} '{topic_filter}' contains NUL or is too long", ("Use a shorter filter.",))
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if ("+" in level and level != "+") or ("#" in level and (level != "#" or index != len(levels) - 1)):
            raise ProfileError(f"{what} '{topic_filter}' uses a wildcard inside a level",
                               ("'+' must fill a whole level and '#' must be the whole last level, e.g. 'a/+/c/#'.",))


def check_alpn_protocol(name: str) -> None:
    """An ALPN protocol id (RFC 7301): 1 to 255 bytes; we also keep it printable so it can be typed and listed."""
    if not name or len(name.encode("utf-8")) > 255 or not name.isprintable() or any(c in name for c in " ,"):
        raise ProfileError(f"ALPN protocol {name!r} is not valid",
                           ("Give protocol names such as 'x-amzn-mqtt-ca' or 'mqtt', one each, without spaces or "
                            "commas (1 to 255 characters).",))


@dataclass(frozen=True)
class Subscription:
    """A topic filter the profile subscribes to: carried over from MQTT.fx and MQTTX, used by `workbench mqtt sub`
    when no topic is given."""

    topic_filter: str
    qos: int = 0

    def __post_init__(self) -> None:
        check_topic_filter(self.topic_filter, "Subscription filter")
        check_range(self.qos, 0, 2, "Subscription QoS")


@dataclass(frozen=True)
class LastWill:
    """The message the broker publishes for this client when it vanishes without DISCONNECT."""

    topic: str
    payload: str = ""
    qos: int = 0
    retain: bool = False

    def __post_init__(self) -> None:
        check_topic_name(self.topic, "Last will topic")
        check_range(self.qos, 0, 2, "Last will QoS")


@dataclass(frozen=True)
class ProxySettings:
    """An HTTP or SOCKS proxy between the client and the broker; its password lives in the secret store."""

    kind: ProxyKind
    host: str
    port: int
    username: str = ""

    def __post_init__(self) -> None:
        if not self.host.strip():
            raise ProfileError("Proxy host is empty", ("Enter the proxy's host name or address, or remove the proxy.",))
        check_port(self.port, "Proxy port")


@dataclass(frozen=True)
class Mqtt5ConnectProperties:
    """MQTT 5 CONNECT properties; None means "not sent" (the broker's default applies)."""

    session_expiry_s: int | None = None
    receive_maximum: int | None = None
    maximum_packet_size: int | None = None
    topic_alias_maximum: int | None = None
    user_properties: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        check_range(self.session_expiry_s, 0, 0xFFFFFFFF, "Session expiry interval")
        check_range(self.receive_maximum, 1, 65535, "Receive maximum")
        check_range(self.maximum_packet_size, 1, 268435455, "Maximum packet size")
        check_range(self.topic_alias_maximum, 0, 65535, "Topic alias maximum")
        for pair in self.user_properties:
            if len(pair) != 2 or not all(isinstance(part, str) for part in pair):
                raise ProfileError(f"User property {pair!r} is not a name/value pair", ("Give each a name and value.",))
            if not pair[0]:
                raise ProfileError("A user property has an empty name", ("Give every user property a name.",))

    @property
    def is_empty(self) -> bool:
        """True when nothing would be sent: lets the profile warn about v5 settings on a v3 connection."""
        return self == Mqtt5ConnectProperties()


@dataclass(frozen=True)
class TlsSettings:
    """Everything TLS: which mode, which files, which versions; passwords live in the secret store.

    Attributes:
        keystore_file: in keystore mode, the *truststore* (MQTT.fx calls it "Keystore File").
        client_keystore_file: in keystore mode, the device keystore with the key pair.
        pem_formatted: MQTT.fx's "PEM formatted" box for the self-signed files.
        sni_override: server name to send and verify instead of the broker address (empty: the address).
    """

    mode: TlsMode = TlsMode.NONE
    ca_file: str = ""
    client_certificate_file: str = ""
    client_key_file: str = ""
    pem_formatted: bool = True
    keystore_file: str = ""
    trusted_keystore_alias: str = DEFAULT_TRUSTED_ALIAS
    trusted_keystore_type: KeystoreType = KeystoreType.PKCS12
    client_keystore_file: str = ""
    client_key_pair_alias: str = DEFAULT_KEY_PAIR_ALIAS
    client_keystore_type: KeystoreType = KeystoreType.PKCS12
    min_version: TlsVersion = TlsVersion.V12
    max_version: TlsVersion = TlsVersion.V13
    sni_override: str = ""
    verify_hostname: bool = True
    alpn_protocols: tuple[str, ...] = ()
    skip_server_verification: bool = False

    def __post_init__(self) -> None:
        if self.min_version == TlsVersion.V13 and self.max_version == TlsVersion.V12:
            raise ProfileError("TLS minimum version 1.3 is above the maximum 1.2", ("Set minimum ≤ maximum.",))
        if any(ch.isspace() for ch in self.sni_override):
            raise ProfileError(f"SNI server name '{self.sni_override}' contains spaces", ("Use a plain host name.",))
        for name in self.alpn_protocols:
            check_alpn_protocol(name)

    @property
    def enabled(self) -> bool:
        """True for every mode except no TLS."""
        return self.mode is not TlsMode.NONE

    def missing(self) -> list[str]:
        """What the chosen mode still needs before a connection can be tried, in the UI's words."""
        trust_fields = {"ca_file", "keystore_file", "trusted_keystore_alias"}
        need: dict[TlsMode, list[tuple[str, str]]] = {
            TlsMode.CA_FILE: [("ca_file", "CA certificate file")],
            TlsMode.SELF_SIGNED: [
                ("ca_file", "CA file"),
                ("client_certificate_file", "Client certificate file"),
                ("client_key_file", "Client key file"),
            ],
            TlsMode.KEYSTORES: [
                ("keystore_file", "Keystore file (the truststore)"),
                ("trusted_keystore_alias", "Trusted keystore alias"),
                ("client_keystore_file", "Client keystore"),
                ("client_key_pair_alias", "Client key-pair alias"),
            ],
        }
        wanted = [(attr, label) for attr, label in need.get(self.mode, [])
                  if not (self.skip_server_verification and attr in trust_fields)]  # nothing to verify with
        return [label for attr, label in wanted if not str(getattr(self, attr)).strip()]
