"""MQTTX export JSON → profiles, with the field names of MQTTX's ConnectionModel (emqx/MQTTX src/types)."""

from __future__ import annotations

import json
from typing import Any

from workbench.core.console.saved_messages import SavedMessage
from workbench.errors import ProfileError

from ..model import ConnectionProfile, ProfileSecrets, SecretName, default_port
from ..parts import LastWill, Mqtt5ConnectProperties, MqttVersion, Subscription, TlsMode, TlsSettings, Transport
from ..report import FieldRecorder, ImportedProfile, ImportResult

MAX_JSON_BYTES = 50_000_000  # exports may carry message history
# bookkeeping of MQTTX itself: nothing the connection needs, so not worth a line in the report
_SILENT = {"id", "createAt", "updateAt", "unreadMessageCount", "parentId", "isCollection", "orderId", "client",
           "isEdit", "children"}
_VERSIONS = {"3.1": MqttVersion.V31, "3.1.1": MqttVersion.V311, "5.0": MqttVersion.V5, "5": MqttVersion.V5}
MAX_SAVED_MESSAGES = 100  # MQTTX keeps every message; the sent ones become saved messages, the latest first
_V5_FIELDS = {"sessionExpiryInterval": "session_expiry_s", "receiveMaximum": "receive_maximum",
              "maximumPacketSize": "maximum_packet_size", "topicAliasMaximum": "topic_alias_maximum"}


def import_mqttx(raw: bytes, source: str = "MQTTX export") -> ImportResult:
    """Read an MQTTX export: an array of connections (collections are flattened) or a single connection object.

    Raises:
        ProfileError: not JSON, or no connection list in it. One bad connection is skipped and listed instead.
    """
    if len(raw) > MAX_JSON_BYTES:
        raise ProfileError(f"'{source}' is too large for an MQTTX export", ("Check you chose the right file.",))
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProfileError(f"'{source}' is not valid JSON", (str(exc), "MQTTX exports are .json files.")) from exc
    items: list[ImportedProfile] = []
    skipped: list[tuple[str, str]] = []
    for index, entry in enumerate(_connections(data, source)):
        label = str(entry.get("name") or entry.get("host") or f"connection {index + 1}")
        try:
            items.append(_import_connection(entry, label))
        except ProfileError as exc:
            skipped.append((label, str(exc)))
    return ImportResult(source, tuple(items), tuple(skipped))


def _connections(data: object, source: str) -> list[dict[str, Any]]:
    if isinstance(data, dict) and "host" in data:
        entries: list[object] = [data]
    elif isinstance(data, dict) and isinstance(data.get("connections"), list):
        entries = data["connections"]
    elif isinstance(data, list):
        entries = data
    else:
        raise ProfileError(f"'{source}' is not an MQTTX export",
                           ("Expected a list of connections, or one connection object with 'host'.",))
    flat: list[dict[str, Any]] = []
    for entry in entries:
        if isinstance(entry, dict) and entry.get("isCollection") and isinstance(entry.get("children"), list):
            flat.extend(_connections(entry["children"], source))
        elif isinstance(entry, dict):
            flat.append(entry)
    return flat


class _Reader:
    """Typed reads from one connection object; records each key as imported or unmapped."""

    def __init__(self, entry: dict[str, Any], recorder: FieldRecorder) -> None:
        self.entry = entry
        self.recorder = recorder
        self.done: set[str] = set(_SILENT)

    def get(self, key: str, kind: type, where: str = "") -> Any:
        self.done.add(key)
        value = self.entry.get(key)
        if value is None or value == "":
            return None
        if kind is int and isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if (kind is int and (isinstance(value, bool) or not isinstance(value, int))) or not isinstance(value, kind):
            self.recorder.warn(f"{where or key} = {value!r} is not {kind.__name__}; the default was used")
            self.recorder.left(where or key, value)
            return None
        self.recorder.took(where or key)
        return value

    def leave(self, key: str, why: str | None = None, where: str = "") -> None:
        self.done.add(key)
        value = self.entry.get(key)
        if value in (None, "", [], {}):
            return
        self.recorder.left(where or key, value)
        if why:
            self.recorder.warn(why)

    def rest(self) -> None:
        for key, value in self.entry.items():
            if key not in self.done and value not in (None, "", [], {}):
                self.recorder.left(key, value)


def _import_connection(entry: dict[str, Any], label: str) -> ImportedProfile:
    recorder = FieldRecorder(label)
    read = _Reader(entry, recorder)
    host = read.get("host", str)
    protocol = read.get("protocol", str)
    if host and "://" in host:
        scheme, host = host.split("://", 1)
        protocol = protocol or scheme
    protocol = (protocol or "mqtt").lower()
    if protocol not in ("mqtt", "mqtts", "ws", "wss"):
        raise ProfileError(f"it uses the protocol '{protocol}'", ("Use mqtt, mqtts, ws or wss.",))
    if not host:
        raise ProfileError("it has no host", ("Enter the broker address by hand.",))
    tls = _tls(read, protocol)
    port = read.get("port", int)
    version_text = read.get("mqttVersion", str)
    version = _VERSIONS.get(version_text or "3.1.1")
    if version is None:
        recorder.warn(f"MQTT version '{version_text}' is not 3.1, 3.1.1 or 5.0; 3.1.1 was used")
        version = MqttVersion.V311
    kwargs: dict[str, Any] = {
        "name": read.get("name", str) or host,
        "broker_host": host,
        "broker_port": port if port is not None else default_port(tls.enabled),
        "client_id": read.get("clientId", str) or "",
        "username": read.get("username", str) or "",
        "mqtt_version": version,
        "tls": tls,
    }
    for key, target, kind in (("clean", "clean_session", bool), ("keepalive", "keep_alive_s", int),
                              ("connectTimeout", "connect_timeout_s", int), ("reconnect", "auto_reconnect", bool)):
        value = read.get(key, kind)
        if value is not None:
            kwargs[target] = value
    if entry.get("clientIdWithTime"):
        read.leave("clientIdWithTime", "MQTTX appended a timestamp to this client id; the workbench uses it as written")
    read.done.add("clientIdWithTime")
    read.leave("reconnectPeriod")
    if protocol in ("ws", "wss"):
        kwargs["transport"] = Transport.WEBSOCKETS
        path = read.get("path", str) or "/mqtt"
        kwargs["websocket_path"] = path if path.startswith("/") else f"/{path}"
    else:
        read.done.add("path")  # only meaningful for WebSocket
    kwargs["subscriptions"] = _subscriptions(read)
    saved = _sent_messages(read)
    kwargs["last_will"] = _will(read)
    kwargs["mqtt5"] = _properties(read)
    password = read.get("password", str)
    if password:
        recorder.warn("the password from the file went to the secret store, not the profile")
    read.rest()
    profile = ConnectionProfile(**kwargs)
    secrets = ProfileSecrets.from_mapping({SecretName.MQTT_PASSWORD: password})
    return ImportedProfile(profile, secrets, recorder.report(), saved)


def _subscriptions(read: _Reader) -> tuple[Subscription, ...]:
    """MQTTX's subscriptions (topic, qos); its colours, aliases and v5 options have no place yet."""
    raw = read.entry.get("subscriptions")
    read.done.add("subscriptions")
    if not isinstance(raw, list) or not raw:
        return ()
    out: list[Subscription] = []
    for item in raw:
        topic = item.get("topic") if isinstance(item, dict) else None
        qos = item.get("qos", 0) if isinstance(item, dict) else 0
        try:
            subscription = Subscription(str(topic or ""), qos if isinstance(qos, int) else 0)
        except ProfileError as exc:
            read.recorder.warn(f"subscription {topic!r} not imported: {exc.summary}")
            continue
        if subscription not in out:
            out.append(subscription)
    if out:
        read.recorder.took("subscriptions")
    return tuple(out)


def _sent_messages(read: _Reader) -> tuple[SavedMessage, ...]:
    """The messages this connection published in MQTTX (`out: true`), newest first and once each, become saved
    messages; received messages are history and stay behind."""
    raw = read.entry.get("messages")
    read.done.add("messages")
    if not isinstance(raw, list) or not raw:
        return ()
    seen: set[tuple[str, str, int, bool]] = set()
    saved: list[SavedMessage] = []
    for item in reversed(raw):
        if not isinstance(item, dict) or not item.get("out") or not isinstance(item.get("topic"), str):
            continue
        payload = str(item["payload"]) if isinstance(item.get("payload"), str) else ""
        qos = int(item["qos"]) if item.get("qos") in (0, 1, 2) else 0
        key: tuple[str, str, int, bool] = (str(item["topic"]), payload, qos, bool(item.get("retain")))
        if key in seen or not item["topic"] or any(ch in item["topic"] for ch in "+#"):
            continue
        seen.add(key)
        saved.append(SavedMessage(f"MQTTX {len(saved) + 1}: {item['topic']}", *key))
        if len(saved) == MAX_SAVED_MESSAGES:
            break
    received = sum(1 for item in raw if isinstance(item, dict) and not item.get("out"))
    if saved:
        read.recorder.took("messages")
        read.recorder.warn(f"{len(saved)} sent message(s) became saved messages of the publish editor")
    if received:
        read.recorder.warn(f"{received} received message(s) are history and were not imported")
    return tuple(saved)


def _tls(read: _Reader, protocol: str) -> TlsSettings:
    ssl_on = read.get("ssl", bool)
    enabled = bool(ssl_on) or protocol in ("mqtts", "wss")
    cert_type = read.get("certType", str) or ""
    files: dict[str, Any] = {}  # TlsSettings keyword arguments: the three file paths
    for key, target in (("ca", "ca_file"), ("cert", "client_certificate_file"), ("key", "client_key_file")):
        value = read.entry.get(key)
        if isinstance(value, str) and value.lstrip().startswith("-----BEGIN"):
            read.leave(key, f"'{key}' holds PEM text, not a file path; save it to a file and choose that file")
        elif value:
            files[target] = str(read.get(key, str))
        else:
            read.done.add(key)
    skip = read.entry.get("rejectUnauthorized") is False
    read.done.add("rejectUnauthorized")
    if skip:
        read.recorder.took("rejectUnauthorized")
        read.recorder.warn("server certificate verification is OFF, as in MQTTX (rejectUnauthorized: false); turn "
                           "it on once the broker's CA file is set" if enabled else
                           "rejectUnauthorized: false was kept: it skips server certificate checks once TLS is on")
    extra: dict[str, Any] = {"skip_server_verification": skip, "alpn_protocols": _alpn(read)}
    if not enabled:
        if files or cert_type:
            read.recorder.warn("SSL/TLS is off in MQTTX; the certificate settings were kept but TLS stays off")
        return TlsSettings(mode=TlsMode.NONE, **files, **extra)
    if cert_type == "self":
        mode = TlsMode.SELF_SIGNED if files.get("client_certificate_file") or files.get("client_key_file") else (
            TlsMode.CA_FILE if files.get("ca_file") else TlsMode.CA_SIGNED_SERVER)
    else:
        mode = TlsMode.CA_SIGNED_SERVER
        if cert_type not in ("", "server"):
            read.recorder.warn(f"certType '{cert_type}' is not known; system trust (CA signed server) was used")
    return TlsSettings(mode=mode, **files, **extra)


def _alpn(read: _Reader) -> tuple[str, ...]:
    """MQTTX's ALPNProtocols: a list, or one comma-separated string."""
    raw = read.entry.get("ALPNProtocols")
    read.done.add("ALPNProtocols")
    names = raw if isinstance(raw, list) else str(raw).replace(" ", ",").split(",") if raw else []
    out = tuple(str(n).strip() for n in names if str(n).strip())
    try:
        TlsSettings(alpn_protocols=out)
    except ProfileError as exc:
        read.recorder.warn(f"ALPNProtocols not imported: {exc.summary}")
        read.recorder.left("ALPNProtocols", raw)
        return ()
    if out:
        read.recorder.took("ALPNProtocols")
    return out


def _will(read: _Reader) -> LastWill | None:
    will = read.entry.get("will")
    read.done.add("will")
    if not isinstance(will, dict) or not will.get("lastWillTopic"):
        return None
    sub = _Reader(will, read.recorder)
    topic = sub.get("lastWillTopic", str, "will.lastWillTopic")
    payload = sub.get("lastWillPayload", str, "will.lastWillPayload") or ""
    qos = sub.get("lastWillQos", int, "will.lastWillQos") or 0
    retain = bool(sub.get("lastWillRetain", bool, "will.lastWillRetain"))
    if will.get("properties"):
        sub.leave("properties", "the last will's MQTT 5 properties were not imported", "will.properties")
    sub.done.add("properties")
    for key, value in will.items():
        if key not in sub.done and value not in (None, "", [], {}):
            read.recorder.left(f"will.{key}", value)
    try:
        return LastWill(topic, payload, qos, retain)
    except ProfileError as exc:
        read.recorder.warn(f"last will not imported: {exc.summary}")
        return None


def _properties(read: _Reader) -> Mqtt5ConnectProperties:
    props = read.entry.get("properties")
    read.done.add("properties")
    source = dict(props) if isinstance(props, dict) else {}
    for key in _V5_FIELDS:  # MQTTX 1.4 kept them at the top level
        if key in read.entry:
            source.setdefault(key, read.entry[key])
            read.done.add(key)
    sub = _Reader(source, read.recorder)
    values: dict[str, Any] = {}
    for key, target in _V5_FIELDS.items():
        value = sub.get(key, int, f"properties.{key}")
        if value is not None:
            values[target] = value
    user = source.get("userProperties")
    sub.done.add("userProperties")
    if isinstance(user, dict) and user:
        pairs: list[tuple[str, str]] = []
        for name, value in user.items():
            for item in value if isinstance(value, list) else [value]:
                pairs.append((str(name), str(item)))
        values["user_properties"] = tuple(pairs)
        read.recorder.took("properties.userProperties")
    for key, value in source.items():
        if key not in sub.done and value not in (None, "", [], {}, False):
            read.recorder.left(f"properties.{key}", value)
    try:
        return Mqtt5ConnectProperties(**values)
    except ProfileError as exc:
        read.recorder.warn(f"MQTT 5 properties not imported: {exc.summary}")
        return Mqtt5ConnectProperties()
