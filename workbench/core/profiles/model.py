"""The ConnectionProfile: every MQTT.fx connection field, immutable and validated, with no secret inside it."""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass, field, replace
from enum import Enum

from cryptography import x509
from cryptography.x509.oid import NameOID

from workbench.errors import ProfileError

from .parts import (
    LastWill,
    Mqtt5ConnectProperties,
    MqttVersion,
    ProfileKind,
    ProxySettings,
    Subscription,
    TlsMode,
    TlsSettings,
    Transport,
    check_port,
    check_range,
    check_topic_filter,
)

SCHEMA_VERSION = 2
DEFAULT_MQTT_PORT = 1883
DEFAULT_MQTTS_PORT = 8883
DEFAULT_WEBSOCKET_PATH = "/mqtt"  # mosquitto's docs, MQTTX, EMQX, HiveMQ and AWS IoT all use /mqtt
PROXY_NOTE_SHORT = "it needs the PySocks package; the connection will say if it is unsupported"
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class SecretName(Enum):
    """The passwords a profile may need; they live in the secret store, never in the profile's JSON."""

    MQTT_PASSWORD = "mqtt-password"
    KEY_PASSWORD = "key-password"
    TRUSTED_KEYSTORE_PASSWORD = "trusted-keystore-password"
    CLIENT_KEYSTORE_PASSWORD = "client-keystore-password"
    CLIENT_KEY_PAIR_PASSWORD = "client-key-pair-password"
    PROXY_PASSWORD = "proxy-password"
    PLATFORM_PASSWORD = "platform-password"


@dataclass(frozen=True)
class ProfileSecrets:
    """The passwords of one profile, as read from or written to the secret store; values never show in repr."""

    mqtt_password: str | None = field(default=None, repr=False)
    key_password: str | None = field(default=None, repr=False)
    trusted_keystore_password: str | None = field(default=None, repr=False)
    client_keystore_password: str | None = field(default=None, repr=False)
    client_key_pair_password: str | None = field(default=None, repr=False)
    proxy_password: str | None = field(default=None, repr=False)
    platform_password: str | None = field(default=None, repr=False)

    def get(self, name: SecretName) -> str | None:
        """One secret by its store name."""
        return getattr(self, name.name.lower())  # type: ignore[no-any-return]

    def items(self) -> list[tuple[SecretName, str | None]]:
        """Every secret slot with its value (None: not set)."""
        return [(name, self.get(name)) for name in SecretName]

    def present(self) -> list[SecretName]:
        """The secrets that have a value, to tell the user what an export would contain."""
        return [name for name, value in self.items() if value is not None]

    @classmethod
    def from_mapping(cls, values: dict[SecretName, str | None]) -> ProfileSecrets:
        """Build from a name → value mapping (importers and the store use this)."""
        return cls(**{name.name.lower(): value for name, value in values.items()})

    def __repr__(self) -> str:
        return f"ProfileSecrets(set={[name.value for name in self.present()]})"


def new_profile_id() -> str:
    """A fresh id: also the file name and the keyring key prefix, so it is plain ASCII."""
    return uuid.uuid4().hex


def check_profile_id(profile_id: str) -> None:
    """Ids become file names and keyring keys: refuse anything that could escape the profiles folder."""
    if not isinstance(profile_id, str) or not _ID_PATTERN.match(profile_id):
        raise ProfileError(f"Profile id {profile_id!r} is not valid",
                           ("Use letters, digits, '-' and '_' only (at most 64), starting with a letter or digit.",))


@dataclass(frozen=True)
class ConnectionProfile:
    """One broker connection as MQTT.fx describes it, plus the platform's REST URL; validated at construction.

    Passwords are not here (see ProfileSecrets). Build edited copies with `dataclasses.replace` or `with_changes`.
    """

    name: str
    broker_host: str
    broker_port: int = DEFAULT_MQTT_PORT
    id: str = field(default_factory=new_profile_id)
    kind: ProfileKind = ProfileKind.GENERIC
    client_id: str = ""
    connect_timeout_s: int = 30
    keep_alive_s: int = 60
    clean_session: bool = True
    auto_reconnect: bool = False
    max_inflight: int = 10
    mqtt_version: MqttVersion = MqttVersion.V311
    username: str = ""
    last_will: LastWill | None = None
    proxy: ProxySettings | None = None
    tls: TlsSettings = field(default_factory=TlsSettings)
    mqtt5: Mqtt5ConnectProperties = field(default_factory=Mqtt5ConnectProperties)
    rest_base_url: str = ""
    transport: Transport = Transport.TCP
    websocket_path: str = DEFAULT_WEBSOCKET_PATH
    subscriptions: tuple[Subscription, ...] = ()
    # (subscription filter, payload decoder) pairs the console and `workbench mqtt sub` decode with, e.g.
    # ('spBv1.0/#', 'sparkplug') or ('plant/#', 'protobuf:/path/plant.proto:plant.Reading')
    payload_decoders: tuple[tuple[str, str], ...] = ()
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        check_profile_id(self.id)
        if not self.name.strip():
            raise ProfileError("The profile has no name", ("Give the profile a name you will recognise.",))
        if not self.broker_host.strip() or any(ch.isspace() for ch in self.broker_host):
            raise ProfileError(f"Broker address {self.broker_host!r} is not a host name or IP address",
                               ("Enter a host name such as 'localhost' or an address such as '127.0.0.1'.",))
        check_port(self.broker_port, "Broker port")
        check_range(self.connect_timeout_s, 1, 3600, "Connect timeout (seconds)")
        check_range(self.keep_alive_s, 0, 65535, "Keep alive (seconds)")
        check_range(self.max_inflight, 1, 65535, "Max in-flight")
        if "\x00" in self.client_id or len(self.client_id.encode("utf-8")) > 65535:
            raise ProfileError("The client id contains NUL or is too long", ("Use a short printable client id.",))
        if not self.client_id and not self.clean_session:
            raise ProfileError("An empty client id needs clean session on",
                               ("Enter a client id, or turn clean session on (MQTT 3.1.1, 3.1.3-8).",))
        if self.rest_base_url and not re.match(r"^https?://[^\s/]+", self.rest_base_url):
            raise ProfileError(f"REST base URL {self.rest_base_url!r} is not an http(s) URL",
                               ("Use a URL such as 'https://tenant.example.com' or 'http://127.0.0.1:8111'.",))
        for topic_filter, decoder in self.payload_decoders:
            check_topic_filter(topic_filter, "The filter of a payload decoder")
            if not decoder.strip():
                raise ProfileError(f"The payload decoder for '{topic_filter}' is empty",
                                   ("Choose a decoder such as 'cbor', 'sparkplug' or 'protobuf:<file>:<Type>'.",))
        if not self.websocket_path.startswith("/") or any(ch.isspace() for ch in self.websocket_path):
            raise ProfileError(f"WebSocket path {self.websocket_path!r} is not a URL path",
                               ("Start it with '/' and leave out spaces, e.g. '/mqtt'.",))
        if self.schema_version != SCHEMA_VERSION:
            raise ProfileError(f"Profile schema version {self.schema_version} is not {SCHEMA_VERSION}",
                               ("Load older profiles through the store, which migrates them.",))

    def with_changes(self, **changes: object) -> ConnectionProfile:
        """An edited copy, validated again (the UI's save button)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def uses_tls(self) -> bool:
        """True when the connection is encrypted."""
        return self.tls.enabled

    @property
    def url(self) -> str:
        """Where the profile connects, as one URL (mqtts://host:8883, wss://host:443/mqtt), for lists and logs."""
        host = f"[{self.broker_host}]" if ":" in self.broker_host else self.broker_host
        path = self.websocket_path if self.transport is Transport.WEBSOCKETS else ""
        return f"{self.transport.scheme(self.uses_tls)}://{host}:{self.broker_port}{path}"

    def warnings(self) -> list[str]:
        """Human warnings about settings that work but are risky or ignored; the editor shows them."""
        out: list[str] = []
        if self.uses_tls and self.tls.skip_server_verification:
            out.append("server certificate verification is OFF: any server can pose as the broker and read "
                       "everything, passwords included; use it only with a broken test broker")
        if self.uses_tls and not self.tls.verify_hostname:
            out.append("hostname verification is off: anyone can impersonate the broker")
        if not self.uses_tls and not _is_loopback(self.broker_host):
            out.append("TLS is off: the connection, including any password, is sent unencrypted")
        if self.uses_tls and self.broker_port == DEFAULT_MQTT_PORT:
            out.append("TLS is on but the port is 1883, usually the plain MQTT port (TLS is normally 8883)")
        if not self.uses_tls and self.broker_port == DEFAULT_MQTTS_PORT:
            out.append("TLS is off but the port is 8883, usually the TLS port")
        if self.mqtt_version is not MqttVersion.V5 and not self.mqtt5.is_empty:
            out.append("MQTT 5 connect properties are set but the version is not 5.0: they are not sent")
        if self.mqtt_version is MqttVersion.V31 and not 1 <= len(self.client_id) <= 23:
            out.append("MQTT 3.1 brokers refuse client ids that are empty or longer than 23 characters")
        if self.proxy is not None:
            out.append("a proxy is set: " + PROXY_NOTE_SHORT)
        if not self.uses_tls and self.kind in (ProfileKind.TENANT, ProfileKind.LOCAL_PLATFORM):
            out.append("certificate devices need TLS: choose 'Self signed certificates in keystores' or similar")
        return out

    def missing(self) -> list[str]:
        """What must still be filled in before connecting (files of the TLS mode), in the UI's words."""
        return self.tls.missing()

    def secret_names(self) -> list[SecretName]:
        """The secrets this profile's settings can use, so the editor shows only the relevant fields."""
        names = [SecretName.MQTT_PASSWORD]
        if self.tls.mode is TlsMode.SELF_SIGNED:
            names.append(SecretName.KEY_PASSWORD)
        if self.tls.mode is TlsMode.KEYSTORES:
            names += [SecretName.TRUSTED_KEYSTORE_PASSWORD, SecretName.CLIENT_KEYSTORE_PASSWORD,
                      SecretName.CLIENT_KEY_PAIR_PASSWORD]
        if self.proxy is not None:
            names.append(SecretName.PROXY_PASSWORD)
        return names



def _is_loopback(host: str) -> bool:
    """Plain MQTT to this machine is fine; anywhere else deserves a warning."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_port(tls: bool) -> int:
    """8883 with TLS, 1883 without: what the editor fills in when the TLS mode changes."""
    return DEFAULT_MQTTS_PORT if tls else DEFAULT_MQTT_PORT


def client_id_from_common_name(common_name: str, *, device_prefix: bool = True) -> str:
    """The "use certificate CN" button: the platform wants the client id to be `d:<CN>` (or the bare CN).

    Raises:
        ProfileError: the CN is empty or contains ':' (the platform's client-id separator).
    """
    cn = common_name.strip()
    if not cn:
        raise ProfileError("The certificate has no common name (CN)", ("Issue the device certificate with a CN.",))
    if ":" in cn:
        raise ProfileError(f"The common name '{cn}' contains ':'",
                           ("The platform separates client-id fields with ':'; issue a certificate without it.",))
    return f"d:{cn}" if device_prefix else cn


def client_id_from_certificate(certificate: x509.Certificate, *, device_prefix: bool = True) -> str:
    """Same as client_id_from_common_name, reading the CN from a loaded device certificate."""
    attrs = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = attrs[0].value if attrs else ""
    cn = value if isinstance(value, str) else value.decode("utf-8", "replace")
    return client_id_from_common_name(cn, device_prefix=device_prefix)
