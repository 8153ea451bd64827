"""The broker's TLS listener with the real TlsManager: mutual TLS, full peer chain, runtime anchors, SNI, failures."""

from __future__ import annotations

import socket
import ssl
import subprocess
from typing import Any

import pytest
from cryptography import x509

from embedded_broker import AuthResult, BrokerConfig, EventKind, Limits, ListenerConfig
from embedded_broker.tls import TlsManager, fingerprint
from tests.broker import wire
from workbench.core.pki.certio import dump_certificates_pem
from workbench.core.pki.issuance import Issuer, create_root_ca, issue_certificate
from workbench.core.pki.keys import KeySpec, dump_private_key_pem, generate_key
from workbench.core.pki.names import parse_dn
from workbench.core.pki.profiles import device_profile, intermediate_ca_profile, root_ca_profile, server_profile


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("pki")
    root_key = generate_key(KeySpec.EC_P256)
    root = Issuer(create_root_ca(parse_dn("CN=Device Root"), root_key, root_ca_profile(1)), root_key)
    inter_key = generate_key(KeySpec.EC_P256)
    inter = Issuer(issue_certificate(parse_dn("CN=Line CA"), inter_key.public_key(), intermediate_ca_profile(0), root),
                   inter_key)
    device_key = generate_key(KeySpec.EC_P256)
    device = issue_certificate(parse_dn("CN=dev-1"), device_key.public_key(), device_profile(), inter)
    server_key = generate_key(KeySpec.EC_P256)
    server = issue_certificate(parse_dn("CN=localhost"), server_key.public_key(), server_profile(), root)
    alt_key = generate_key(KeySpec.EC_P256)
    alt = issue_certificate(parse_dn("CN=alt.localhost"), alt_key.public_key(),
                            server_profile(("alt.localhost",), ()), root)
    stranger_key = generate_key(KeySpec.EC_P256)
    stranger_ca = Issuer(create_root_ca(parse_dn("CN=Stranger"), stranger_key, root_ca_profile()), stranger_key)
    stranger = issue_certificate(parse_dn("CN=dev-x"), device_key.public_key(), device_profile(), stranger_ca)
    files = {
        "ca.pem": dump_certificates_pem([root.certificate]),
        "chain.pem": dump_certificates_pem([device, inter.certificate, root.certificate]),
        "key.pem": dump_private_key_pem(device_key, None),
        "stranger.pem": dump_certificates_pem([stranger, stranger_ca.certificate]),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {"folder": folder, "root": root, "inter": inter, "device": device, "server": (server, server_key),
            "alt": (alt, alt_key)}


def _manager(pki: dict[str, Any], **options: Any) -> TlsManager:
    server, key = pki["server"]
    alt, alt_key = pki["alt"]
    alt_host = (dump_certificates_pem([alt]), dump_private_key_pem(alt_key, None))
    return TlsManager(dump_certificates_pem([server]), dump_private_key_pem(key, None),
                      trust_anchors=[pki["root"].certificate], virtual_hosts={"alt.localhost": alt_host}, **options)


class Recorder:
    def __init__(self) -> None:
        self.peers: list[Any] = []

    async def authenticate(self, connect: Any, tls_peer: Any, listener: str) -> AuthResult:
        self.peers.append(tls_peer)
        return AuthResult(True, 0, "", connect.client_id)


def _start(start_broker: Any, manager: TlsManager, extension: Any = None) -> tuple[Any, Any]:
    config = BrokerConfig(listeners=(ListenerConfig("mqtts", "127.0.0.1", 0, manager),),
                          limits=Limits(connect_timeout=3.0), sys_interval=0)
    return start_broker(config, extension)


def _client_context(pki: dict[str, Any], with_cert: bool = True, chain: str = "chain.pem") -> ssl.SSLContext:
    folder = pki["folder"]
    ctx = ssl.create_default_context(cafile=str(folder / "ca.pem"))
    if with_cert:
        ctx.load_cert_chain(str(folder / chain), str(folder / "key.pem"))
    return ctx


def _refused(port: int, ctx: ssl.SSLContext) -> bool:
    """A refused handshake: an error on TLS 1.2, or (TLS 1.3) a connection closed before any CONNACK."""
    try:
        return wire.tls_connack(port, ctx) == b""
    except (ssl.SSLError, ConnectionError, OSError):
        return True


def test_mutual_tls_passes_the_full_client_chain_to_authenticate(start_broker: Any, pki: dict[str, Any]) -> None:
    recorder = Recorder()
    broker, _ = _start(start_broker, _manager(pki, client_auth="required"), recorder)
    assert wire.tls_connack(broker.ports["mqtts"], _client_context(pki)) == b"\x20\x02\x00\x00"
    peer = recorder.peers[0]
    assert peer.version in ("TLSv1.2", "TLSv1.3") and peer.server_name == "localhost"
    assert [x509.load_der_x509_certificate(d).subject for d in peer.chain_der][:2] == [
        pki["device"].subject, pki["inter"].certificate.subject]
    assert peer.leaf.subject == pki["device"].subject


@pytest.mark.interop
def test_mosquitto_clients_connect_with_client_certificates(start_broker: Any, pki: dict[str, Any]) -> None:
    broker, _ = _start(start_broker, _manager(pki, client_auth="required"))
    folder = pki["folder"]
    result = subprocess.run(["mosquitto_pub", "-h", "localhost", "-p", str(broker.ports["mqtts"]), "-i", "d:dev-1",
                             "--cafile", str(folder / "ca.pem"), "--cert", str(folder / "chain.pem"), "--key",
                             str(folder / "key.pem"), "-t", "t", "-m", "hello"], capture_output=True, text=True,
                            timeout=20)
    assert result.returncode == 0, result.stderr


def test_unknown_ca_and_missing_certificate_are_refused_with_reasons(start_broker: Any, pki: dict[str, Any]) -> None:
    broker, events = _start(start_broker, _manager(pki, client_auth="required"))
    port = broker.ports["mqtts"]
    assert _refused(port, _client_context(pki, chain="stranger.pem"))
    event = events.wait_for(lambda e: e.kind is EventKind.TLS_FAILED)
    assert event.detail["alert"] == "unknown_ca" and "does not reach any trusted CA" in event.reason
    assert _refused(port, _client_context(pki, with_cert=False))
    events.wait_for(lambda e: e.kind is EventKind.TLS_FAILED and e.detail["alert"] == "certificate_required")
    assert wire.tls_connack(port, _client_context(pki)) == b"\x20\x02\x00\x00"  # the broker keeps serving


def test_plain_mqtt_on_the_tls_port_is_explained(start_broker: Any, pki: dict[str, Any]) -> None:
    broker, events = _start(start_broker, _manager(pki))
    with socket.create_connection(("127.0.0.1", broker.ports["mqtts"]), timeout=5) as raw:
        raw.sendall(wire.connect("plain"))
        raw.recv(10)
    event = events.wait_for(lambda e: e.kind is EventKind.TLS_FAILED)
    assert event.detail["alert"] == "not_tls" and "plain MQTT" in event.reason


def test_anchors_change_at_runtime_for_new_connections(start_broker: Any, pki: dict[str, Any]) -> None:
    manager = _manager(pki, client_auth="required")
    broker, _ = _start(start_broker, manager)
    port = broker.ports["mqtts"]
    ctx = _client_context(pki)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as open_one:
        open_one.sendall(wire.connect("d:dev-1"))
        assert open_one.recv(4) == b"\x20\x02\x00\x00"
        assert manager.remove_trust_anchor(fingerprint(pki["root"].certificate))
        assert _refused(port, ctx)
        open_one.sendall(b"\xc0\x00")  # PINGREQ on the connection opened before the change
        assert open_one.recv(2) == b"\xd0\x00"
    manager.add_trust_anchors(dump_certificates_pem([pki["root"].certificate]))
    assert wire.tls_connack(port, ctx) == b"\x20\x02\x00\x00"


def test_sni_selects_the_virtual_host_and_unknown_names_fall_back(start_broker: Any, pki: dict[str, Any]) -> None:
    broker, _ = _start(start_broker, _manager(pki, client_auth="none"))
    port = broker.ports["mqtts"]
    for name, expected in (("alt.localhost", "alt.localhost"), ("localhost", "localhost")):
        ctx = _client_context(pki, with_cert=False)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname=name) as tls:
            cert = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
            assert cert.subject.rfc4514_string() == f"CN={expected}"
    ctx = _client_context(pki, with_cert=False)
    ctx.check_hostname = False
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="unknown.example") as tls:
        assert x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).subject.rfc4514_string() == \
            "CN=localhost"


def test_minimum_tls_version_is_enforced(start_broker: Any, pki: dict[str, Any]) -> None:
    broker, events = _start(start_broker, _manager(pki, client_auth="none", minimum_version="TLSv1.3"))
    ctx = _client_context(pki, with_cert=False)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    assert _refused(broker.ports["mqtts"], ctx)
    assert events.wait_for(lambda e: e.kind is EventKind.TLS_FAILED).detail["alert"] == "protocol_version"


def test_bad_settings_are_config_errors(pki: dict[str, Any]) -> None:
    from embedded_broker.errors import ConfigError

    server, _key = pki["server"]
    with pytest.raises(ConfigError, match="server key"):
        TlsManager(dump_certificates_pem([server]), b"not a key")
    with pytest.raises(ConfigError, match="do not fit"):
        TlsManager(dump_certificates_pem([server]), dump_private_key_pem(generate_key(KeySpec.EC_P256), None))
    with pytest.raises(ConfigError):
        _manager(pki).set_client_cert_mode("sometimes")




def test_optional_mode_accepts_a_client_without_certificate(start_broker: Any, pki: dict[str, Any]) -> None:
    recorder = Recorder()
    broker, events = _start(start_broker, _manager(pki, client_auth="optional"), recorder)
    assert wire.tls_connack(broker.ports["mqtts"], _client_context(pki, with_cert=False)) == b"\x20\x02\x00\x00"
    assert recorder.peers[0].chain_der == () and recorder.peers[0].leaf is None
    assert not [e for e in events.events if e.kind is EventKind.TLS_FAILED]


def test_an_intermediate_can_be_the_trust_anchor_for_leaf_only_clients(start_broker: Any,
                                                                      pki: dict[str, Any]) -> None:
    server, key = pki["server"]
    manager = TlsManager(dump_certificates_pem([server]), dump_private_key_pem(key, None), client_auth="required",
                         trust_anchors=[pki["inter"].certificate])
    broker, _ = _start(start_broker, manager)
    folder = pki["folder"]
    (folder / "leaf.pem").write_bytes(dump_certificates_pem([pki["device"]]))
    assert wire.tls_connack(broker.ports["mqtts"], _client_context(pki, chain="leaf.pem")) == b"\x20\x02\x00\x00"


def test_a_stalled_handshake_is_reported_as_a_timeout(start_broker: Any, pki: dict[str, Any]) -> None:
    config = BrokerConfig(listeners=(ListenerConfig("mqtts", "127.0.0.1", 0, _manager(pki)),),
                          limits=Limits(connect_timeout=0.5, tls_handshake_timeout=0.5), sys_interval=0)
    broker, events = start_broker(config)
    with socket.create_connection(("127.0.0.1", broker.ports["mqtts"]), timeout=5):
        event = events.wait_for(lambda e: e.kind is EventKind.TLS_FAILED)
    assert ("handshake" in event.reason and "timed out" in event.reason) or "within" in event.reason
