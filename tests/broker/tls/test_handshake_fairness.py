"""TLS handshakes on a broker listener never wait on one another: silent sockets cost only themselves, the pending
handshakes are bounded, the handshake clock is its own (50 s by default), and a refused client certificate reaches
the client as a TLS alert instead of a bare TCP close."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
from contextlib import ExitStack
from typing import Any

import pytest

from embedded_broker import BrokerConfig, EventKind, Limits, ListenerConfig
from embedded_broker.tls import TlsManager
from tests.broker import wire
from workbench.core.pki.certio import dump_certificates_pem
from workbench.core.pki.issuance import Issuer, create_root_ca, issue_certificate
from workbench.core.pki.keys import KeySpec, dump_private_key_pem, generate_key
from workbench.core.pki.names import parse_dn
from workbench.core.pki.profiles import device_profile, root_ca_profile, server_profile

CONNACK_OK = b"\x20\x02\x00\x00"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("pki")
    root_key = generate_key(KeySpec.EC_P256)
    root = Issuer(create_root_ca(parse_dn("CN=Fair Root"), root_key, root_ca_profile()), root_key)
    server_key = generate_key(KeySpec.EC_P256)
    server = issue_certificate(parse_dn("CN=localhost"), server_key.public_key(), server_profile(), root)
    device_key = generate_key(KeySpec.EC_P256)
    device = issue_certificate(parse_dn("CN=dev-1"), device_key.public_key(), device_profile(), root)
    stranger_key = generate_key(KeySpec.EC_P256)
    stranger_ca = Issuer(create_root_ca(parse_dn("CN=Stranger"), stranger_key, root_ca_profile()), stranger_key)
    stranger = issue_certificate(parse_dn("CN=dev-x"), device_key.public_key(), device_profile(), stranger_ca)
    files = {"ca.pem": dump_certificates_pem([root.certificate]),
             "chain.pem": dump_certificates_pem([device, root.certificate]),
             "key.pem": dump_private_key_pem(device_key, None),
             "stranger.pem": dump_certificates_pem([stranger, stranger_ca.certificate])}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {"folder": folder, "root": root, "server": (server, server_key)}


def _start(start_broker: Any, pki: dict[str, Any], **limits: Any) -> tuple[Any, Any]:
    server, key = pki["server"]
    manager = TlsManager(dump_certificates_pem([server]), dump_private_key_pem(key, None), client_auth="required",
                         trust_anchors=[pki["root"].certificate])
    config = BrokerConfig(listeners=(ListenerConfig("mqtt", "127.0.0.1", 0),
                                     ListenerConfig("mqtts", "127.0.0.1", 0, manager)),
                          limits=Limits(**{"connect_timeout": 3.0, **limits}), sys_interval=0)
    return start_broker(config)


def _context(pki: dict[str, Any], chain: str | None = "chain.pem",
             version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    folder = pki["folder"]
    ctx = ssl.create_default_context(cafile=str(folder / "ca.pem"))
    if chain is not None:
        ctx.load_cert_chain(str(folder / chain), str(folder / "key.pem"))
    if version is not None:
        ctx.maximum_version = version
    return ctx


def _alert(port: int, ctx: ssl.SSLContext) -> str:
    """The reason of the SSLError the client raises (TLS 1.3 delivers a refusal after the client's handshake)."""
    with pytest.raises(ssl.SSLError) as caught:
        wire.tls_connack(port, ctx)
    return str(caught.value.reason or caught.value)


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2])
def test_an_unknown_ca_gets_the_unknown_ca_alert(start_broker: Any, pki: dict[str, Any],
                                                 version: ssl.TLSVersion) -> None:
    broker, events = _start(start_broker, pki)
    port = broker.ports["mqtts"]
    reason = _alert(port, _context(pki, "stranger.pem", version))
    assert "ALERT" in reason and "UNKNOWN_CA" in reason, reason
    event = events.wait_for(lambda e: e.kind is EventKind.TLS_FAILED)
    assert event.detail["alert"] == "unknown_ca"
    assert wire.tls_connack(port, _context(pki)) == CONNACK_OK


def test_a_missing_certificate_gets_an_alert(start_broker: Any, pki: dict[str, Any]) -> None:
    broker, _events = _start(start_broker, pki)
    reason = _alert(broker.ports["mqtts"], _context(pki, None))
    assert "ALERT" in reason and "CERTIFICATE_REQUIRED" in reason, reason


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_s_client_reports_the_alert(start_broker: Any, pki: dict[str, Any]) -> None:
    broker, _events = _start(start_broker, pki)
    folder = pki["folder"]
    result = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{broker.ports['mqtts']}", "-CAfile",
                             str(folder / "ca.pem"), "-cert", str(folder / "stranger.pem"), "-key",
                             str(folder / "key.pem"), "-ign_eof"], input=wire.connect("d:dev-x"),
                            capture_output=True, timeout=20)
    assert b"alert unknown ca" in result.stdout + result.stderr


def test_silent_sockets_do_not_delay_a_new_handshake(start_broker: Any, pki: dict[str, Any]) -> None:
    broker, _events = _start(start_broker, pki)
    port = broker.ports["mqtts"]
    with ExitStack() as stack:
        wire.silent_sockets(port, 20, stack)
        started = time.monotonic()
        assert wire.tls_connack(port, _context(pki)) == CONNACK_OK
        assert time.monotonic() - started < 2.0


def test_sockets_above_the_pending_bound_are_refused_at_once(start_broker: Any, pki: dict[str, Any]) -> None:
    broker, events = _start(start_broker, pki, max_pending_handshakes=8)
    port = broker.ports["mqtts"]
    with ExitStack() as stack:
        plain = stack.enter_context(socket.create_connection(("127.0.0.1", broker.ports["mqtt"]), timeout=5))
        plain.sendall(wire.connect("watcher"))
        assert plain.recv(4) == CONNACK_OK
        sockets = wire.silent_sockets(port, 12, stack)
        closed = wire.closed_within(sockets, 1.0)
        assert len(closed) == 4  # the 8 others wait for their handshake, each on its own clock
        event = events.wait_for(lambda e: e.kind is EventKind.REFUSED)
        assert "pending TLS handshakes" in event.reason
        assert broker.call(lambda: broker.broker.stats["refused"]) == 4
        plain.sendall(b"\xc0\x00")  # a client connected before the flood is still served
        assert plain.recv(2) == b"\xd0\x00"
        next(s for s in sockets if s not in closed).close()  # a slot frees up: the next device gets in
        deadline = time.monotonic() + 5
        while True:
            try:
                assert wire.tls_connack(port, _context(pki)) == CONNACK_OK
                break
            except (ssl.SSLError, ConnectionError):
                assert time.monotonic() < deadline, "no slot freed up"


def test_the_handshake_clock_is_its_own_and_not_the_connect_timeout(start_broker: Any, pki: dict[str, Any]) -> None:
    assert Limits().tls_handshake_timeout == 50.0
    assert BrokerConfig.from_dict({"limits": {"tls_handshake_timeout": 20}}).limits.tls_handshake_timeout == 20
    broker, events = _start(start_broker, pki, connect_timeout=0.2, tls_handshake_timeout=1.0)
    with socket.create_connection(("127.0.0.1", broker.ports["mqtts"]), timeout=5) as silent:
        started = time.monotonic()
        try:
            assert silent.recv(1) == b""
        except ConnectionResetError:
            pass
        assert 0.8 < time.monotonic() - started < 4.0
    event = events.wait_for(lambda e: e.kind is EventKind.TLS_FAILED)
    assert event.detail["alert"] == "handshake_timeout" and "within 1 s" in event.reason
