"""MQTT.fx 1.x `mqttfx-config.xml` → profiles; what has no documented meaning is reported, not guessed.

Field names come from two sources, kept apart so the report can say which is which:
- CONFIRMED: read by MQTTk's MQTT.fx importer (matesh/mqttk, mqttk/mqtt_fx_config_parser.py), i.e. seen in real
  files: configuration/connectionProfiles/connectionProfile with profileName, brokerAddress, brokerPort and
  connectionOptions/{clientId, userName, password, connectionTimeout, keepAliveInterval, mqttVersion, caFile,
  clientCertificateFile, clientKeyFile}, plus preDefinedMessages, recentPublishTopics, recentSubscriptionTopics.
- BY LABEL: the remaining MQTT.fx editor fields (the guide's "Keystore File", "Trusted Keystore Alias", ...),
  matched by their label written in MQTT.fx's camelCase style. Every profile that uses one says so in its report.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from workbench.core.console.saved_messages import SavedMessage
from workbench.errors import ProfileError

from ..model import ConnectionProfile, ProfileSecrets, SecretName, default_port
from ..parts import (
    LastWill,
    MqttVersion,
    ProxyKind,
    ProxySettings,
    Subscription,
    TlsMode,
    TlsSettings,
    TlsVersion,
)
from ..report import FieldRecorder, ImportedProfile, ImportResult
from .common import keystore_type_for, tls_mode_from_files
from .safe_xml import local_name, parse_xml
from .xmlfields import LeafValues

MQTTFX5_MESSAGE = ("MQTT.fx 5 profiles use a different format; export from MQTT.fx 1.x or enter the profile "
                   "by hand")
_LISTS = frozenset({"predefinedmessages", "recentpublishtopics", "recentsubscriptiontopics", "topics"})

# tolerant keys (lower case, no '_'/'-'), first CONFIRMED spelling first
_BY_LABEL: dict[str, tuple[str, ...]] = {
    "clean_session": ("cleansession",),
    "auto_reconnect": ("autoreconnect",),
    "max_inflight": ("maxinflight",),
    "tls_enabled": ("enablessltls", "enablessl", "sslenabled", "ssltlsenabled", "usessl", "ssl", "tls"),
    "tls_mode": ("ssltlsmode", "sslmode", "tlsmode", "certificatemode"),
    "tls_version": ("ssltlsprotocol", "tlsprotocol", "sslprotocol", "protocol", "tlsversion"),
    "key_password": ("clientkeypassword", "keypassword"),
    "pem_formatted": ("pemformatted", "clientkeypem"),
    "keystore_file": ("keystorefile", "truststorefile"),
    "trusted_alias": ("trustedkeystorealias", "truststorealias"),
    "trusted_password": ("trustedkeystorepassword", "truststorepassword"),
    "client_keystore": ("clientkeystore", "clientkeystorefile"),
    "client_keystore_password": ("clientkeystorepassword",),
    "key_pair_alias": ("clientkeypairalias",),
    "key_pair_password": ("clientkeypairpassword",),
    "keystore_type": ("keystoretype",),
    "lwt_topic": ("lwttopic",),
    "lwt_payload": ("lwtmessage", "lwtpayload"),
    "lwt_qos": ("lwtqos",),
    "lwt_retain": ("lwtretained", "lwtretain"),
    "proxy_use": ("proxyuseproxy", "useproxy", "proxyenabled"),
    "proxy_type": ("proxytype",),
    "proxy_host": ("proxyhost", "proxyaddress"),
    "proxy_port": ("proxyport",),
    "proxy_user": ("proxyuser", "proxyusername"),
    "proxy_password": ("proxypassword",),
    "sni": ("sniservername", "servername", "sni"),
}


def import_mqttfx(raw: bytes, source: str = "mqttfx-config.xml") -> ImportResult:
    """Read every connection profile of an MQTT.fx 1.x configuration file.

    Raises:
        ProfileError: the file is MQTT.fx 5, JSON, not XML, declares entities, or is not an MQTT.fx 1.x file.
            A single profile that cannot be read is skipped and listed in `ImportResult.skipped` instead.
    """
    if raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"[")):
        raise ProfileError(f"'{source}' is JSON, not an MQTT.fx 1.x XML file",
                           (MQTTFX5_MESSAGE + ".", "If it is an MQTTX export, use the MQTTX importer."))
    root = parse_xml(raw, source)
    container = next((child for child in root if local_name(child.tag) == "connectionprofiles"), None)
    if local_name(root.tag) != "configuration" or container is None:
        if _looks_like_mqttfx5(root):
            raise ProfileError(MQTTFX5_MESSAGE, (f"'{source}' has no <configuration><connectionProfiles> section "
                                                 "as MQTT.fx 1.x writes it.",))
        raise ProfileError(f"'{source}' is not an MQTT.fx 1.x configuration",
                           ("MQTT.fx 1.x keeps its profiles in mqttfx-config.xml under <configuration>"
                            "<connectionProfiles>.",))
    items: list[ImportedProfile] = []
    skipped: list[tuple[str, str]] = []
    for index, element in enumerate(c for c in container if local_name(c.tag) == "connectionprofile"):
        label = _profile_label(element, index)
        try:
            items.append(_import_profile(element, label))
        except ProfileError as exc:
            skipped.append((label, str(exc)))
    return ImportResult(source, tuple(items), tuple(skipped))


def _profile_label(element: ET.Element, index: int) -> str:
    name = next((c.text for c in element if local_name(c.tag) == "profilename"), None)
    return (name or "").strip() or f"profile {index + 1}"


def _looks_like_mqttfx5(root: ET.Element) -> bool:
    """MQTT.fx 5 identifies itself (root name or a version ≥ 5) but lacks the 1.x profile section."""
    if "mqttfx" in local_name(root.tag):
        return True
    for element in root.iter():
        for attr, value in element.attrib.items():
            if "version" in attr.lower() and re.match(r"^\s*5(\.|\s*$)", value):
                return True
    return False


class _ByLabel:
    """Reads the BY LABEL fields and remembers which were used, for the report's "check these" warning."""

    def __init__(self, leaves: LeafValues) -> None:
        self._leaves = leaves
        self.used: list[str] = []

    def _note(self, field: str, value: object) -> None:
        if value is not None:
            keys = _BY_LABEL[field]
            self.used.append(next(self._leaves.path_of(k) for k in keys if k in self._leaves.used_keys()))

    def text(self, field: str) -> str | None:
        value = self._leaves.text(*_BY_LABEL[field])
        self._note(field, value)
        return value

    def integer(self, field: str) -> int | None:
        value = self._leaves.integer(*_BY_LABEL[field])
        self._note(field, value)
        return value

    def boolean(self, field: str) -> bool | None:
        value = self._leaves.boolean(*_BY_LABEL[field])
        self._note(field, value)
        return value


def _import_profile(element: ET.Element, label: str) -> ImportedProfile:
    recorder = FieldRecorder(label)
    leaves = LeafValues(element, recorder, _LISTS)
    labelled = _ByLabel(leaves)

    name = leaves.text("profilename") or label
    host = leaves.text("brokeraddress")
    if not host:
        raise ProfileError("it has no brokerAddress", ("Enter the broker address by hand.",))
    port = leaves.integer("brokerport")
    secrets: dict[SecretName, str | None] = {
        SecretName.MQTT_PASSWORD: leaves.text("password"),
        SecretName.KEY_PASSWORD: labelled.text("key_password"),
        SecretName.TRUSTED_KEYSTORE_PASSWORD: labelled.text("trusted_password"),
        SecretName.CLIENT_KEYSTORE_PASSWORD: labelled.text("client_keystore_password"),
        SecretName.CLIENT_KEY_PAIR_PASSWORD: labelled.text("key_pair_password"),
        SecretName.PROXY_PASSWORD: labelled.text("proxy_password"),
    }
    tls = _tls(leaves, labelled, recorder)
    version = _mqtt_version(leaves.text("mqttversion"), recorder)
    kwargs: dict[str, object] = {
        "name": name,
        "broker_host": host,
        "broker_port": port if port is not None else default_port(tls.enabled),
        "client_id": leaves.text("clientid") or "",
        "username": leaves.text("username") or "",
        "tls": tls,
        "mqtt_version": version,
    }
    for target, value in (("connect_timeout_s", leaves.integer("connectiontimeout")),
                          ("keep_alive_s", leaves.integer("keepaliveinterval")),
                          ("clean_session", labelled.boolean("clean_session")),
                          ("auto_reconnect", labelled.boolean("auto_reconnect")),
                          ("max_inflight", labelled.integer("max_inflight"))):
        if value is not None:
            kwargs[target] = value
    kwargs["last_will"] = _last_will(labelled, recorder)
    kwargs["proxy"] = _proxy(labelled, recorder)
    saved = _predefined_messages(element, recorder)
    kwargs["subscriptions"] = _recent_subscriptions(element, recorder)
    for key, (path, count) in leaves.list_sizes.items():
        if count and key not in ("predefinedmessages", "recentsubscriptiontopics"):
            recorder.left(path, f"{count} entr{'y' if count == 1 else 'ies'}")
    leaves.report_unused()
    if labelled.used:
        recorder.warn("mapped by MQTT.fx's field label, not confirmed against a real MQTT.fx file; check: "
                      + ", ".join(labelled.used))
    present = [n for n, v in secrets.items() if v]
    if present:
        recorder.warn(f"{len(present)} password(s) from the file went to the secret store, not the profile")
    profile = ConnectionProfile(**kwargs)  # type: ignore[arg-type]
    return ImportedProfile(profile, ProfileSecrets.from_mapping(secrets), recorder.report(), saved)


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element if local_name(c.tag) == name), None)


def _text_of(element: ET.Element | None, *path: str) -> str:
    """The text at a path of child names (tolerant names), '' when absent; `topic` may be a leaf or hold <name>."""
    for name in path:
        if element is None:
            return ""
        element = _child(element, name)
    if element is None:
        return ""
    if len(element):  # <topic><name>s/us</name></topic>
        return _text_of(element, "name")
    return (element.text or "").strip()


def _qos(text: str) -> int:
    return int(text) if text in ("0", "1", "2") else 0


def _predefined_messages(element: ET.Element, recorder: FieldRecorder) -> tuple[SavedMessage, ...]:
    """preDefinedMessages/message/{name, topic/name, qos, retained, payload} → the publish editor's saved messages."""
    container = _child(element, "predefinedmessages")
    if container is None:
        return ()
    saved: list[SavedMessage] = []
    for index, message in enumerate(c for c in container if local_name(c.tag) == "message"):
        topic = _text_of(message, "topic")
        name = _text_of(message, "name") or f"message {index + 1}"
        if not topic or any(ch in topic for ch in "+#"):
            recorder.warn(f"saved message '{name}' has no usable topic and was not imported")
            continue
        retained = _text_of(message, "retained").lower() in ("true", "1", "yes")
        payload = "" if (node := _child(message, "payload")) is None else (node.text or "")
        saved = [m for m in saved if m.name != name] + [SavedMessage(name, topic, payload,
                                                                     _qos(_text_of(message, "qos")), retained)]
    if saved:
        recorder.took("preDefinedMessages")
        recorder.warn(f"{len(saved)} saved message(s) went to the publish editor's saved messages")
    return tuple(saved)


def _recent_subscriptions(element: ET.Element, recorder: FieldRecorder) -> tuple[Subscription, ...]:
    """recentSubscriptionTopics/topic/{name, qos?} → the profile's subscriptions (colours are left behind)."""
    container = _child(element, "recentsubscriptiontopics")
    if container is None:
        return ()
    out: list[Subscription] = []
    for topic in (c for c in container if local_name(c.tag) == "topic"):
        name = _text_of(topic, "name") if len(topic) else (topic.text or "").strip()
        try:
            subscription = Subscription(name, _qos(_text_of(topic, "qos")))
        except ProfileError as exc:
            recorder.warn(f"subscription {name!r} not imported: {exc.summary}")
            continue
        if subscription not in out:
            out.append(subscription)
    if out:
        recorder.took("recentSubscriptionTopics")
    return tuple(out)


def _mqtt_version(raw: str | None, recorder: FieldRecorder) -> MqttVersion:
    if raw is None:
        return MqttVersion.V311
    digits = re.sub(r"\D", "", raw)
    found = {"31": MqttVersion.V31, "311": MqttVersion.V311, "5": MqttVersion.V5, "50": MqttVersion.V5}.get(digits)
    if found is None:
        recorder.warn(f"MQTT version '{raw}' is not 3.1, 3.1.1 or 5.0; 3.1.1 was used")
        return MqttVersion.V311
    return found


def _tls(leaves: LeafValues, get: _ByLabel, recorder: FieldRecorder) -> TlsSettings:
    files = {
        "ca_file": leaves.text("cafile") or "",
        "client_certificate_file": leaves.text("clientcertificatefile") or "",
        "client_key_file": leaves.text("clientkeyfile") or "",
        "keystore_file": get.text("keystore_file") or "",
        "client_keystore_file": get.text("client_keystore") or "",
    }
    enabled = get.boolean("tls_enabled")
    mode_text = get.text("tls_mode")
    mode = _mode_from_text(mode_text) if mode_text else None
    if mode_text and mode is None:
        recorder.warn(f"TLS mode '{mode_text}' is not known; it was inferred from the files present")
    if enabled is False:
        mode = TlsMode.NONE
        if any(files.values()):
            recorder.warn("TLS is off in MQTT.fx but certificate files are set; they were kept, TLS stays off")
    elif mode is None:
        mode = tls_mode_from_files(files)
        if enabled or mode is not TlsMode.NONE:
            mode = mode if mode is not TlsMode.NONE else TlsMode.CA_SIGNED_SERVER
            recorder.warn(f"TLS mode inferred from the files present: {mode.label}")
    extra: dict[str, object] = {}
    version = get.text("tls_version")
    if version:
        pinned = _tls_version(version, recorder)
        if pinned is not None:
            extra.update(min_version=pinned, max_version=pinned)
    for target, field in (("trusted_keystore_alias", "trusted_alias"), ("client_key_pair_alias", "key_pair_alias"),
                          ("sni_override", "sni")):
        value = get.text(field)
        if value:
            extra[target] = value
    pem = get.boolean("pem_formatted")
    if isinstance(pem, bool):
        extra["pem_formatted"] = pem
    explicit_type = get.text("keystore_type")
    extra["trusted_keystore_type"] = keystore_type_for(files["keystore_file"], explicit_type, recorder)
    extra["client_keystore_type"] = keystore_type_for(files["client_keystore_file"], explicit_type, recorder)
    return TlsSettings(mode=mode, **files, **extra)  # type: ignore[arg-type]


def _mode_from_text(text: str) -> TlsMode | None:
    flat = re.sub(r"[^a-z]", "", text.lower())
    if "keystore" in flat:
        return TlsMode.KEYSTORES
    if "selfsigned" in flat:
        return TlsMode.SELF_SIGNED
    if "cafile" in flat or "cacertificatefile" in flat:
        return TlsMode.CA_FILE
    if "casigned" in flat or "server" in flat:
        return TlsMode.CA_SIGNED_SERVER
    return None


def _tls_version(text: str, recorder: FieldRecorder) -> TlsVersion | None:
    flat = text.lower().replace("tlsv", "").replace("tls", "").replace("v", "").strip()
    if flat in ("1.2", "12"):
        return TlsVersion.V12
    if flat in ("1.3", "13"):
        return TlsVersion.V13
    recorder.warn(f"TLS version '{text}' is not offered (1.2 and 1.3 only); 1.2 to 1.3 is used")
    return None


def _last_will(get: _ByLabel, recorder: FieldRecorder) -> LastWill | None:
    topic = get.text("lwt_topic")
    payload = get.text("lwt_payload") or ""
    qos = get.integer("lwt_qos")
    retain = get.boolean("lwt_retain")
    if not topic:
        if payload:
            recorder.warn("a last-will message without a topic was ignored")
        return None
    try:
        return LastWill(topic, payload, qos if isinstance(qos, int) else 0, bool(retain))
    except ProfileError as exc:
        recorder.warn(f"last will not imported: {exc.summary}")
        return None


def _proxy(get: _ByLabel, recorder: FieldRecorder) -> ProxySettings | None:
    use = get.boolean("proxy_use")
    host = get.text("proxy_host")
    port = get.integer("proxy_port")
    user = get.text("proxy_user") or ""
    kind_text = (get.text("proxy_type") or "http").lower()
    if use is False or not host:
        return None
    kind = ProxyKind.SOCKS5 if "socks" in kind_text else ProxyKind.HTTP
    try:
        return ProxySettings(kind, host, port if isinstance(port, int) else 8080, user)
    except ProfileError as exc:
        recorder.warn(f"proxy not imported: {exc.summary}")
        return None
