from __future__ import annotations

import json

import keyring
import pytest

from workbench.core.profiles import (
    MQTTFX5_MESSAGE,
    SERVICE_NAME,
    KeystoreType,
    MqttVersion,
    ProfileStore,
    TlsMode,
    TlsVersion,
    Transport,
    import_mqttfx,
    import_mqttx,
)
from workbench.errors import ProfileError

from .conftest import sample


def test_mqttfx_1x_keystore_profile_maps_every_field() -> None:
    result = import_mqttfx(sample("mqttfx-1x-keystores.xml").read_bytes())
    assert [item.profile.name for item in result.items] == ["Tenant device (keystores)", "Local mosquitto"]
    tenant = result.items[0]
    profile, tls = tenant.profile, tenant.profile.tls
    assert (profile.broker_host, profile.broker_port) == ("tenant.example.com", 8883)
    assert profile.client_id == "d:device-0001"
    assert profile.mqtt_version is MqttVersion.V311
    assert (profile.connect_timeout_s, profile.keep_alive_s, profile.max_inflight) == (30, 60, 10)
    assert tls.mode is TlsMode.KEYSTORES
    assert tls.keystore_file == "/home/user/deviceCertificates/deviceTruststore.jks"
    assert tls.trusted_keystore_type is KeystoreType.JKS
    assert tls.client_keystore_file == "/home/user/deviceCertificates/deviceKeystore.pkcs12"
    assert tls.client_keystore_type is KeystoreType.PKCS12
    assert (tls.trusted_keystore_alias, tls.client_key_pair_alias) == ("servercertificate", "devicekeyentry")
    assert (tls.min_version, tls.max_version) == (TlsVersion.V12, TlsVersion.V12)
    assert tenant.secrets.trusted_keystore_password == "truststore-secret"
    assert tenant.secrets.client_keystore_password == "keystore-secret"
    assert tenant.secrets.client_key_pair_password == "keypair-secret"
    assert tenant.secrets.mqtt_password is None


def test_mqttfx_report_lists_unmapped_fields_with_values_instead_of_guessing() -> None:
    result = import_mqttfx(sample("mqttfx-1x-keystores.xml").read_bytes())
    report = result.items[0].report
    unmapped = dict(report.unmapped_fields)
    assert unmapped["profileType"] == "MQTT_BROKER"
    assert unmapped["connectionOptions/payloadDecoder"] == "Plain Text Decoder"
    assert "preDefinedMessages" not in unmapped and unmapped["recentPublishTopics"] == "1 entry"
    assert "brokerAddress" in report.imported_fields
    assert "connectionOptions/clientId" in report.imported_fields
    warnings = "\n".join(report.warnings)
    assert "not confirmed against a real MQTT.fx file" in warnings and "connectionOptions/keystoreFile" in warnings
    assert "1 saved message(s) went to the publish editor's saved messages" in warnings
    assert [s.topic_filter for s in result.items[0].profile.subscriptions] == ["s/ds"]
    (saved,) = result.items[0].saved_messages
    assert (saved.name, saved.topic, saved.payload, saved.qos, saved.retain) == (
        "create device", "s/us", "100,Device 0001,c8y_MQTTDevice", 0, False)
    assert "3 password(s)" in warnings
    assert "unmapped" not in report.summary() and "not mapped" in report.summary()


def test_mqttfx_plain_profile_with_last_will_and_a_broken_one_skipped() -> None:
    result = import_mqttfx(sample("mqttfx-1x-keystores.xml").read_bytes())
    local = result.items[1]
    assert local.profile.tls.mode is TlsMode.NONE
    assert local.profile.mqtt_version is MqttVersion.V31
    assert local.profile.username == "tester"
    will = local.profile.last_will
    assert will is not None and (will.topic, will.payload, will.qos, will.retain) == (
        "clients/mqttfx/status", "offline", 1, True)
    assert local.secrets.mqtt_password == "mosquitto-secret"
    ((name, why),) = result.skipped
    assert name == "Broken port" and "99999 is not a port number" in why


def test_imported_passwords_land_in_the_keyring_not_the_json(store: ProfileStore) -> None:
    saved = store.save_imported(import_mqttfx(sample("mqttfx-1x-keystores.xml").read_bytes()))
    tenant_file = store.path_of(saved[0].id).read_bytes()
    assert b"secret" not in tenant_file
    assert keyring.get_password(SERVICE_NAME, f"{saved[0].id}/trusted-keystore-password") == "truststore-secret"
    assert keyring.get_password(SERVICE_NAME, f"{saved[1].id}/mqtt-password") == "mosquitto-secret"
    assert [p.name for p in store.load_all().profiles] == ["Local mosquitto", "Tenant device (keystores)"]


def test_mqttfx_5_is_refused_clearly() -> None:
    with pytest.raises(ProfileError) as info:
        import_mqttfx(sample("mqttfx-5-profiles.xml").read_bytes(), "mqttfx5.xml")
    assert info.value.summary == MQTTFX5_MESSAGE
    with pytest.raises(ProfileError, match=r"is JSON, not an MQTT\.fx 1\.x XML file") as info:
        import_mqttfx(b'{"profiles": []}', "export.json")
    assert MQTTFX5_MESSAGE in str(info.value)


def test_xml_entity_declarations_are_refused_before_parsing() -> None:
    with pytest.raises(ProfileError, match="declares a DOCTYPE, which is refused") as info:
        import_mqttfx(sample("mqttfx-entity-expansion.xml").read_bytes(), "evil.xml")
    assert "billion laughs" in str(info.value)
    with pytest.raises(ProfileError, match="ENTITY"):
        import_mqttfx(b'<configuration><!ENTITY x "y"></configuration>')


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"<settings><a/></settings>", "not an MQTT.fx 1.x configuration"),
        (b"<configuration><connectionProfiles>", "not well-formed XML"),
        (b"\xff\xfeno", "not"),
    ],
)
def test_other_xml_is_refused(raw: bytes, words: str) -> None:
    with pytest.raises(ProfileError, match=words):
        import_mqttfx(raw)


def test_mqttx_self_signed_connection() -> None:
    result = import_mqttx(sample("mqttx-export.json").read_bytes(), "mqttx-export.json")
    assert [i.profile.name for i in result.items] == ["Self-signed device", "Websocket test", "Plain local"]
    item = result.items[0]
    profile, tls = item.profile, item.profile.tls
    assert tls.mode is TlsMode.SELF_SIGNED
    assert (tls.ca_file, tls.client_certificate_file, tls.client_key_file) == (
        "/home/user/certs/ca.pem", "/home/user/certs/device.pem", "/home/user/certs/device.key")
    assert profile.mqtt_version is MqttVersion.V5 and not profile.clean_session and profile.auto_reconnect
    assert (profile.keep_alive_s, profile.connect_timeout_s) == (45, 15)
    assert profile.mqtt5.session_expiry_s == 3600 and profile.mqtt5.maximum_packet_size == 65536
    assert profile.mqtt5.user_properties == (("site", "lab"), ("rack", "r1"), ("rack", "r2"))
    assert profile.last_will is not None and profile.last_will.qos == 1
    assert item.secrets.mqtt_password == "mqttx-secret"
    unmapped = dict(item.report.unmapped_fields)
    assert unmapped["reconnectPeriod"] == "4000"
    assert unmapped["properties.requestResponseInformation"] == "True"
    assert unmapped["will.properties"] == "{'willDelayInterval': 5}"
    assert "properties" not in unmapped
    assert [(s.topic_filter, s.qos) for s in profile.subscriptions] == [("s/ds", 1)]
    assert result.skipped == ()
    websocket = result.items[1].profile
    assert websocket.transport is Transport.WEBSOCKETS and websocket.url == "ws://broker.example.com:8083/mqtt"


def test_mqttx_reject_unauthorized_false_is_carried_over_with_a_warning() -> None:
    result = import_mqttx(sample("mqttx-export.json").read_bytes())
    plain = result.items[2]
    assert plain.profile.tls.skip_server_verification
    assert "rejectUnauthorized" in plain.report.imported_fields
    assert any("once TLS is on" in w for w in plain.report.warnings)
    assert not result.items[0].profile.tls.skip_server_verification  # rejectUnauthorized: true


def test_mqttx_wss_alpn_and_sent_messages() -> None:
    entry = {"name": "aws", "host": "wss://iot.example.com", "port": 443, "path": "mqtt", "certType": "self",
             "ca": "/c/ca.pem", "cert": "/c/d.pem", "key": "/c/d.key", "ALPNProtocols": "x-amzn-mqtt-ca, mqtt",
             "messages": [{"topic": "a", "payload": "1", "qos": 1, "retain": False, "out": True},
                          {"topic": "a", "payload": "1", "qos": 1, "retain": False, "out": True},
                          {"topic": "b", "payload": "2", "out": False}]}
    (item,) = import_mqttx(json.dumps(entry).encode()).items
    assert item.profile.url == "wss://iot.example.com:443/mqtt"
    assert item.profile.tls.alpn_protocols == ("x-amzn-mqtt-ca", "mqtt")
    assert [(m.topic, m.payload, m.qos) for m in item.saved_messages] == [("a", "1", 1)]
    assert any("1 received message(s) are history" in w for w in item.report.warnings)
    entry["ALPNProtocols"] = "bad one"
    (item,) = import_mqttx(json.dumps({**entry, "ALPNProtocols": ["has space"]}).encode()).items
    assert item.profile.tls.alpn_protocols == () and any("ALPNProtocols not imported" in w
                                                         for w in item.report.warnings)


def test_mqttx_inline_pem_and_single_object() -> None:
    entry = {"name": "inline", "host": "h.example.com", "port": 8883, "ssl": True, "certType": "self",
             "ca": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "cert": "", "key": ""}
    (item,) = import_mqttx(json.dumps(entry).encode()).items
    assert item.profile.tls.mode is TlsMode.CA_SIGNED_SERVER
    assert "ca" in dict(item.report.unmapped_fields)
    assert any("PEM text" in w for w in item.report.warnings)


def test_mqttx_refuses_non_exports() -> None:
    with pytest.raises(ProfileError, match="not valid JSON"):
        import_mqttx(b"<xml/>")
    with pytest.raises(ProfileError, match="not an MQTTX export"):
        import_mqttx(b'{"a": 1}')


def test_mqttfx_unreadable_values_are_reported_and_defaults_used() -> None:
    raw = (b"<configuration><connectionProfiles><connectionProfile><profileName>odd</profileName>"
           b"<brokerAddress>localhost</brokerAddress><connectionOptions><keepAliveInterval>soon</keepAliveInterval>"
           b"<cleanSession>maybe</cleanSession><mqttVersion>7</mqttVersion></connectionOptions>"
           b"</connectionProfile></connectionProfiles></configuration>")
    (item,) = import_mqttfx(raw).items
    assert item.profile.keep_alive_s == 60 and item.profile.clean_session
    assert item.profile.mqtt_version is MqttVersion.V311
    unmapped = dict(item.report.unmapped_fields)
    assert unmapped == {"connectionOptions/keepAliveInterval": "soon", "connectionOptions/cleanSession": "maybe"}
    assert "connectionOptions/keepAliveInterval" not in item.report.imported_fields
    assert any("'soon' is not a whole number" in w for w in item.report.warnings)
    assert any("MQTT version '7'" in w for w in item.report.warnings)
