"""The profile fields for transports and imports: WebSocket path, ALPN, the skip-verification switch and saved
subscriptions are validated, stored in the JSON, and absent fields of older files take their defaults."""

from __future__ import annotations

import pytest

from workbench.core.profiles import (
    ConnectionProfile,
    ProfileStore,
    Subscription,
    TlsMode,
    TlsSettings,
    Transport,
    profile_from_dict,
    profile_to_dict,
)
from workbench.errors import ProfileError


def test_new_fields_round_trip_through_the_store(store: ProfileStore) -> None:
    profile = ConnectionProfile(name="aws", broker_host="iot.example.com", broker_port=443,
                                transport=Transport.WEBSOCKETS, websocket_path="/mqtt",
                                subscriptions=(Subscription("s/ds", 1), Subscription("sensors/+/temp")),
                                tls=TlsSettings(mode=TlsMode.CA_SIGNED_SERVER, alpn_protocols=("x-amzn-mqtt-ca",)))
    store.save(profile)
    loaded = store.load(profile.id)
    assert loaded == profile and loaded.url == "wss://iot.example.com:443/mqtt"
    data = profile_to_dict(profile)
    assert data["tls"]["alpn_protocols"] == ["x-amzn-mqtt-ca"] and data["tls"]["skip_server_verification"] is False
    assert data["subscriptions"] == [{"topic_filter": "s/ds", "qos": 1}, {"topic_filter": "sensors/+/temp", "qos": 0}]


def test_a_file_without_the_new_fields_takes_the_defaults() -> None:
    data = profile_to_dict(ConnectionProfile(name="old", broker_host="localhost"))
    for key in ("transport", "websocket_path", "subscriptions"):
        del data[key]
    for key in ("alpn_protocols", "skip_server_verification"):
        del data["tls"][key]
    profile = profile_from_dict(data)
    assert profile.transport is Transport.TCP and profile.subscriptions == ()
    assert not profile.tls.skip_server_verification and profile.url == "mqtt://localhost:1883"


def test_bad_values_are_refused_with_what_to_do() -> None:
    with pytest.raises(ProfileError, match="is not a URL path") as path:
        ConnectionProfile(name="x", broker_host="localhost", websocket_path="mqtt")
    assert "Start it with '/'" in str(path.value)
    for bad in ("a b", "", "a,b", "x" * 256):
        with pytest.raises(ProfileError, match=r"ALPN protocol .* is not valid"):
            TlsSettings(alpn_protocols=(bad,))


@pytest.mark.parametrize("bad", ["", "a/#/b", "a+/b", "a/b#", "x\x00"])
def test_subscription_filters_follow_mqtt_rules(bad: str) -> None:
    with pytest.raises(ProfileError):
        Subscription(bad)
    assert Subscription("a/+/b/#").topic_filter == "a/+/b/#"
    with pytest.raises(ProfileError, match="QoS"):
        Subscription("a", 3)


def test_skip_verification_is_off_by_default_warned_and_needs_no_trust_files() -> None:
    assert not TlsSettings().skip_server_verification
    keystores = TlsSettings(mode=TlsMode.KEYSTORES, client_keystore_file="/d.p12")
    assert "Keystore file (the truststore)" in keystores.missing()
    skipping = TlsSettings(mode=TlsMode.KEYSTORES, client_keystore_file="/d.p12", skip_server_verification=True)
    assert skipping.missing() == []
    profile = ConnectionProfile(name="x", broker_host="h.example.com", broker_port=8883, tls=skipping)
    assert any("server certificate verification is OFF" in w for w in profile.warnings())
