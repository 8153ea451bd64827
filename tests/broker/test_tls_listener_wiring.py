"""server.py's TLS listener wiring: handshake under the connect timeout, `tls_failed` events, TlsPeer to authenticate.

`embedded_broker.tls` is built in parallel by the TLS work; until it exists these tests install a minimal
stand-in with the agreed interface (`upgrade_to_tls`, `TlsHandshakeFailed`) over the stdlib, so the server
side is tested with real TLS. Once the real module exists they are skipped (tests/broker/tls covers it).
"""

from __future__ import annotations

import asyncio
import datetime
import importlib.util
import ipaddress
import socket
import ssl
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from embedded_broker import AuthResult, BrokerConfig, EventKind, ListenerConfig
from tests.broker import wire

pytestmark = pytest.mark.skipif(importlib.util.find_spec("embedded_broker.tls") is not None,
                                reason="the real embedded_broker.tls exists; tests/broker/tls covers the listener")


class TlsHandshakeFailed(Exception):
    def __init__(self, reason: str, alert: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.alert = alert


@dataclass(frozen=True)
class TlsPeer:
    version: str
    cipher: str


async def upgrade_to_tls(reader: Any, writer: asyncio.StreamWriter, manager: ssl.SSLContext,
                         timeout: float) -> TlsPeer:
    try:
        await writer.start_tls(manager, ssl_handshake_timeout=max(timeout, 0.01))
    except ssl.SSLError as exc:
        raise TlsHandshakeFailed(exc.reason or str(exc), exc.reason) from exc
    ssl_object = writer.get_extra_info("ssl_object")
    return TlsPeer(ssl_object.version(), ssl_object.cipher()[0])


@pytest.fixture
def stand_in_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("embedded_broker.tls")
    module.upgrade_to_tls = upgrade_to_tls  # type: ignore[attr-defined]
    module.TlsHandshakeFailed = TlsHandshakeFailed  # type: ignore[attr-defined]
    module.TlsPeer = TlsPeer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "embedded_broker.tls", module)


@pytest.fixture(scope="module")
def server_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "server.pem", folder / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    yield cert_path, key_path


class PeerRecorder:
    def __init__(self) -> None:
        self.peers: list[Any] = []

    async def authenticate(self, connect: Any, tls_peer: Any, listener: str) -> AuthResult:
        self.peers.append((tls_peer, listener))
        return AuthResult.accept(connect.client_id)


def test_tls_listener(stand_in_tls: None, server_files: tuple[Path, Path],
                      start_broker: Callable[..., tuple]) -> None:
    cert_path, key_path = server_files
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_path, key_path)
    from embedded_broker import Limits

    config = BrokerConfig(listeners=(ListenerConfig("mqtt", port=0), ListenerConfig("mqtts", port=0, tls=server_ctx)),
                          limits=Limits(connect_timeout=0.5), sys_interval=0)
    recorder = PeerRecorder()
    background, events = start_broker(config, recorder)
    port = background.ports["mqtts"]

    client_ctx = ssl.create_default_context(cafile=str(cert_path))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            client_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.sendall(wire.connect("secure", 5))
        assert tls.recv(2)[0] == 0x20
    peer, listener = recorder.peers[0]
    assert listener == "mqtts" and peer.version.startswith("TLS")

    with socket.create_connection(("127.0.0.1", port), timeout=5) as plain:
        plain.sendall(wire.connect("plaintext", 4))  # MQTT bytes where a ClientHello belongs
    failed = events.wait_for(lambda e: e.kind is EventKind.TLS_FAILED)
    assert failed.listener == "mqtts" and failed.reason

    with socket.create_connection(("127.0.0.1", port), timeout=5) as silent:
        events.events.clear()
        assert silent.recv(100) == b""  # no ClientHello: closed after the connect timeout
    timed_out = events.wait_for(lambda e: e.kind is EventKind.TLS_FAILED)
    assert timed_out.reason == "TLS handshake timed out", timed_out.reason
