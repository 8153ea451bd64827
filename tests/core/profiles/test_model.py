from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from workbench.core.profiles import (
    DEFAULT_KEY_PAIR_ALIAS,
    DEFAULT_TRUSTED_ALIAS,
    ConnectionProfile,
    LastWill,
    Mqtt5ConnectProperties,
    MqttVersion,
    ProfileSecrets,
    ProxyKind,
    ProxySettings,
    SecretName,
    TlsMode,
    TlsSettings,
    TlsVersion,
    client_id_from_certificate,
    client_id_from_common_name,
    default_port,
)
from workbench.errors import ProfileError


def test_defaults_are_sensible() -> None:
    profile = ConnectionProfile(name="p", broker_host="localhost")
    assert profile.broker_port == 1883
    assert profile.tls.mode is TlsMode.NONE
    assert profile.tls.trusted_keystore_alias == DEFAULT_TRUSTED_ALIAS == "servercertificate"
    assert profile.tls.client_key_pair_alias == DEFAULT_KEY_PAIR_ALIAS == "devicekeyentry"
    assert (profile.tls.min_version, profile.tls.max_version) == (TlsVersion.V12, TlsVersion.V13)
    assert profile.tls.verify_hostname
    assert default_port(True) == 8883 and default_port(False) == 1883
    assert profile.warnings() == []


def test_tls_mode_labels_use_mqttfx_words() -> None:
    assert TlsMode.KEYSTORES.label == "Self signed certificates in keystores"
    assert TlsMode.CA_SIGNED_SERVER.label == "CA signed server certificate"
    assert [v.protocol_level for v in MqttVersion] == [3, 4, 5]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"broker_port": 0}, "not a port"),
        ({"broker_port": 70000}, "not a port"),
        ({"name": "  "}, "no name"),
        ({"broker_host": "two words"}, "Broker address"),
        ({"keep_alive_s": -1}, "Keep alive"),
        ({"max_inflight": 0}, "Max in-flight"),
        ({"client_id": "", "clean_session": False}, "empty client id"),
        ({"rest_base_url": "ftp://x"}, "REST base URL"),
        ({"id": "../escape"}, "Profile id"),
        ({"schema_version": 1}, "schema version"),
    ],
)
def test_invalid_values_are_refused_with_the_field_named(changes: dict[str, object], words: str) -> None:
    base = ConnectionProfile(name="p", broker_host="localhost", client_id="c")
    with pytest.raises(ProfileError, match=words):
        base.with_changes(**changes)


def test_parts_validate_their_ranges() -> None:
    with pytest.raises(ProfileError, match="wildcard"):
        LastWill("a/#")
    with pytest.raises(ProfileError, match="QoS"):
        LastWill("a/b", qos=3)
    with pytest.raises(ProfileError, match="Receive maximum"):
        Mqtt5ConnectProperties(receive_maximum=0)
    with pytest.raises(ProfileError, match="Session expiry"):
        Mqtt5ConnectProperties(session_expiry_s=2**32)
    with pytest.raises(ProfileError, match="empty name"):
        Mqtt5ConnectProperties(user_properties=(("", "v"),))
    with pytest.raises(ProfileError, match=r"minimum version 1\.3"):
        TlsSettings(min_version=TlsVersion.V13, max_version=TlsVersion.V12)
    with pytest.raises(ProfileError, match="Proxy port"):
        ProxySettings(ProxyKind.HTTP, "proxy", 0)


def test_warnings_speak_plainly() -> None:
    profile = ConnectionProfile(
        name="p", broker_host="broker.example.com", broker_port=8883, client_id="c",
        tls=TlsSettings(mode=TlsMode.CA_SIGNED_SERVER, verify_hostname=False),
        mqtt5=Mqtt5ConnectProperties(session_expiry_s=60),
        proxy=ProxySettings(ProxyKind.SOCKS5, "proxy.example.com", 1080),
    )
    text = "\n".join(profile.warnings())
    assert "hostname verification is off: anyone can impersonate the broker" in text
    assert "not sent" in text
    assert "PySocks" in text
    plain = ConnectionProfile(name="p", broker_host="broker.example.com", client_id="c")
    assert any("unencrypted" in w for w in plain.warnings())


def test_missing_lists_what_the_tls_mode_needs() -> None:
    profile = ConnectionProfile(name="p", broker_host="localhost", broker_port=8883,
                                tls=TlsSettings(mode=TlsMode.KEYSTORES, keystore_file="/t.jks"))
    assert profile.missing() == ["Client keystore"]
    assert SecretName.CLIENT_KEY_PAIR_PASSWORD in profile.secret_names()


def test_client_id_from_common_name() -> None:
    assert client_id_from_common_name("device-1") == "d:device-1"
    assert client_id_from_common_name(" device-1 ", device_prefix=False) == "device-1"
    with pytest.raises(ProfileError, match="contains ':'"):
        client_id_from_common_name("a:b")
    with pytest.raises(ProfileError, match="no common name"):
        client_id_from_common_name("")


def test_client_id_from_certificate() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "device-42")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    assert client_id_from_certificate(cert) == "d:device-42"


def test_secrets_never_show_in_repr() -> None:
    secrets = ProfileSecrets(mqtt_password="hunter2", key_password="k")
    assert "hunter2" not in repr(secrets)
    assert secrets.present() == [SecretName.MQTT_PASSWORD, SecretName.KEY_PASSWORD]
    assert secrets.get(SecretName.MQTT_PASSWORD) == "hunter2"
