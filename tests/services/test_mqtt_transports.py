"""Profiles over every transport against real brokers: MQTT over WebSocket (ws:// and wss:// with keystores) to
mosquitto, ALPN through a TLS front door that demands x-amzn-mqtt-ca, and the "skip server certificate
verification" switch; each round trip is checked by mosquitto's own clients on the broker's TCP port."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.alpn_proxy import alpn_proxy
from tests.support.demo_pki import demo_pki
from tests.support.mosquitto import run_mosquitto
from tests.support.mosquitto_ws import run_mosquitto_ws
from workbench.core.profiles import ConnectionProfile, ProfileSecrets, TlsMode, TlsSettings, Transport
from workbench.errors import MqttConnectError
from workbench.services.mqtt_verbs import BlockingClient, PublishRequest, SubscribeRequest
from workbench.services.profile_connect import session_settings

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo set's CA, server and device files, plus a device keystore (openssl) and a truststore (keytool)."""
    return demo_pki(tmp_path_factory.mktemp("pki"))


def _received(port: int, topic: str) -> str:
    """What mosquitto_sub on the broker's TCP port gets for `topic`: the retained message we published (so there
    is no race with its SUBSCRIBE), as `topic payload`."""
    done = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-C", "1", "-W", "10",
                           "-v"], capture_output=True, text=True, timeout=15)
    return done.stdout.strip()


def test_ws_profile_round_trip_with_mosquitto_clients(tmp_path: Path) -> None:
    with run_mosquitto_ws(tmp_path) as broker:
        profile = ConnectionProfile(name="ws", broker_host="127.0.0.1", broker_port=broker.ws_port,
                                    client_id="wb-ws", transport=Transport.WEBSOCKETS, websocket_path="/mqtt")
        assert profile.url == f"ws://127.0.0.1:{broker.ws_port}/mqtt"
        settings = session_settings(profile, ProfileSecrets())
        with BlockingClient(settings) as client:
            client.subscribe(SubscribeRequest("to-ws/#"))
            client.publish(PublishRequest("from-ws", b"over websocket", qos=1, retain=True))
            assert _received(broker.tcp_port, "from-ws") == "from-ws over websocket"
            subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.tcp_port), "-t", "to-ws/a", "-m",
                            "hello ws", "-q", "1"], check=True, timeout=10)
            message = client.next_message(10)
            assert message is not None and (message.topic, message.payload) == ("to-ws/a", b"hello ws")


def test_wss_profile_with_keystores_and_mutual_tls(tmp_path: Path, pki: dict[str, Path]) -> None:
    server = (pki["ca"], pki["server_cert"], pki["server_key"])
    with run_mosquitto_ws(tmp_path, tls=server) as broker:
        assert broker.wss_port is not None
        tls = TlsSettings(mode=TlsMode.KEYSTORES, keystore_file=str(pki["truststore"]),
                          client_keystore_file=str(pki["keystore"]))
        profile = ConnectionProfile(name="wss", broker_host="localhost", broker_port=broker.wss_port,
                                    client_id="d:demo-device-1", transport=Transport.WEBSOCKETS, tls=tls)
        assert profile.url.startswith("wss://localhost:")
        secrets = ProfileSecrets(trusted_keystore_password="ts-secret", client_keystore_password="ks-secret",
                                 client_key_pair_password="ks-secret")
        with BlockingClient(session_settings(profile, secrets)) as client:
            client.publish(PublishRequest("from-wss", b"keystores over wss", qos=1, retain=True))
        assert _received(broker.tcp_port, "from-wss") == "from-wss keystores over wss"
        # without the client keystore the mutual-TLS WebSocket listener refuses, and the error says so in words
        no_client = profile.with_changes(tls=TlsSettings(mode=TlsMode.CA_FILE, ca_file=str(pki["ca"])))
        with pytest.raises(MqttConnectError) as refused:
            BlockingClient(session_settings(no_client, ProfileSecrets()), timeout=5).connect()
        assert f"localhost:{broker.wss_port}" in refused.value.summary


def test_ws_profile_on_a_plain_tcp_port_is_explained(tmp_path: Path) -> None:
    with run_mosquitto_ws(tmp_path) as broker:
        profile = ConnectionProfile(name="ws-wrong", broker_host="127.0.0.1", broker_port=broker.tcp_port,
                                    client_id="wb-ws-wrong", transport=Transport.WEBSOCKETS, connect_timeout_s=5)
        with pytest.raises(MqttConnectError) as failed:
            BlockingClient(session_settings(profile, ProfileSecrets()), timeout=5).connect()
        assert "WebSocket" in str(failed.value) and "port" in str(failed.value)


def test_alpn_from_the_profile_is_negotiated_and_required(tmp_path: Path, pki: dict[str, Path]) -> None:
    with run_mosquitto(tmp_path) as broker, alpn_proxy(pki["server_cert"], pki["server_key"], broker.plain_port,
                                                         ["x-amzn-mqtt-ca"]) as door:
        tls = TlsSettings(mode=TlsMode.CA_FILE, ca_file=str(pki["ca"]), alpn_protocols=("x-amzn-mqtt-ca",))
        profile = ConnectionProfile(name="aws-like", broker_host="localhost", broker_port=door.port,
                                    client_id="wb-alpn", tls=tls)
        with BlockingClient(session_settings(profile, ProfileSecrets())) as client:
            client.publish(PublishRequest("alpn/t", b"through the door", qos=1, retain=True))
        assert _received(broker.plain_port, "alpn/t") == "alpn/t through the door"
        assert door.negotiated == ["x-amzn-mqtt-ca"]
        without = profile.with_changes(tls=TlsSettings(mode=TlsMode.CA_FILE, ca_file=str(pki["ca"])))
        with pytest.raises(MqttConnectError):
            BlockingClient(session_settings(without, ProfileSecrets()), timeout=5).connect()
        assert door.negotiated[-1] is None


def test_skip_server_verification_is_explicit_and_warned(tmp_path: Path, pki: dict[str, Path]) -> None:
    server = (pki["ca"], pki["server_cert"], pki["server_key"])
    with run_mosquitto(tmp_path, tls=server, require_certificate=False) as broker:
        assert broker.tls_port is not None
        system_trust = ConnectionProfile(name="broken test broker", broker_host="localhost",
                                         broker_port=broker.tls_port, client_id="wb-skip",
                                         tls=TlsSettings(mode=TlsMode.CA_SIGNED_SERVER))
        assert not system_trust.tls.skip_server_verification  # never on by default
        assert not any("verification is OFF" in w for w in system_trust.warnings())
        with pytest.raises(MqttConnectError) as untrusted:
            BlockingClient(session_settings(system_trust, ProfileSecrets()), timeout=5).connect()
        assert "not trusted" in untrusted.value.summary
        skipping = system_trust.with_changes(tls=TlsSettings(mode=TlsMode.CA_SIGNED_SERVER,
                                                             skip_server_verification=True))
        assert any("verification is OFF" in w for w in skipping.warnings())
        with BlockingClient(session_settings(skipping, ProfileSecrets())) as client:
            client.publish(PublishRequest("skip/t", b"x", qos=1))
        # a keystore profile that skips verification needs no truststore at all
        keystores = ConnectionProfile(name="ks", broker_host="127.0.0.1", broker_port=broker.tls_port,
                                      client_id="wb-skip-ks",
                                      tls=TlsSettings(mode=TlsMode.KEYSTORES, client_keystore_file=str(pki["keystore"]),
                                                      skip_server_verification=True))
        assert keystores.missing() == []
        secrets = ProfileSecrets(client_keystore_password="ks-secret", client_key_pair_password="ks-secret")
        with BlockingClient(session_settings(keystores, secrets)) as client:
            client.publish(PublishRequest("skip/t", b"y", qos=1))
