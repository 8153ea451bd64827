"""`tls fetch` against real TLS listeners on 127.0.0.1:0: chains, SNI, client certificates, failures in words."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest

from tests.support.certs import Pki, make_pki
from tests.support.tls_server import tls_server
from workbench.core.tls import ClientIdentity
from workbench.errors import InvalidInputError, TlsError
from workbench.services.tls_fetch import fetch_server_chain, parse_endpoint


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


def test_fetch_returns_the_presented_chain_and_sends_sni(pki: Pki, tmp_path: Path) -> None:
    other = pki.intermediate.issue("other.example.test", server=True, sans=("other.example.test",))
    with tls_server(pki.server, tmp_path, vhosts={"other.example.test": other}) as server:
        plain = fetch_server_chain("127.0.0.1", server.port)
        named = fetch_server_chain("127.0.0.1", server.port, server_name="other.example.test")
    assert plain.chain[0] == pki.server.cert
    assert [c.subject for c in named.chain] == [c.subject for c in other.chain]
    assert server.server_names == [None, "other.example.test"]  # no SNI for an IP literal unless asked
    assert plain.version in ("TLSv1.2", "TLSv1.3") and plain.cipher
    assert not plain.client_cert_requested


def test_fetch_verifies_when_given_trust(pki: Pki, tmp_path: Path) -> None:
    with tls_server(pki.server, tmp_path) as server:
        report = fetch_server_chain("127.0.0.1", server.port, server_name="mqtt.example.test", trust=[pki.root.cert])
        assert report.chain[0] == pki.server.cert
        with pytest.raises(TlsError, match="not trusted"):
            fetch_server_chain("127.0.0.1", server.port, trust=[pki.intermediate.cert])
        with pytest.raises(TlsError) as err:
            fetch_server_chain("127.0.0.1", server.port, server_name="wrong.example.test", trust=[pki.root.cert])
        assert "mismatch" in " ".join(err.value.causes).lower() or "match" in " ".join(err.value.causes).lower()


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_client_certificate_demand(pki: Pki, tmp_path: Path, version: ssl.TLSVersion) -> None:
    identity = ClientIdentity(pki.device_ec.key, tuple(pki.device_ec.chain))
    with tls_server(pki.server, tmp_path, client_ca=pki.root.cert, max_version=version) as server:
        mutual = fetch_server_chain("127.0.0.1", server.port, identity=identity)
        assert mutual.client_cert_requested and mutual.client_cert_sent
        if version is ssl.TLSVersion.TLSv1_3:  # the refusal comes after the client's handshake: we warn
            anonymous = fetch_server_chain("127.0.0.1", server.port)
            assert anonymous.client_cert_requested
            assert "asked for a client certificate" in anonymous.warnings[0]
        else:
            with pytest.raises(TlsError) as err:
                fetch_server_chain("127.0.0.1", server.port)
            text = err.value.summary + " ".join(err.value.causes)
            assert "asked for a client certificate" in text
    assert any("device-ec-001" in s for s in server.client_subjects)


def test_refused_timeout_not_tls_and_alerts(pki: Pki, tmp_path: Path) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(TlsError, match="Connection refused"):
        fetch_server_chain("127.0.0.1", port)

    silent = socket.create_server(("127.0.0.1", 0))  # accepts TCP, never answers TLS
    with silent, pytest.raises(TlsError, match="No answer") as err:
        fetch_server_chain("127.0.0.1", silent.getsockname()[1], timeout=0.3)
    assert any("1883" in c for c in err.value.causes)

    with tls_server(pki.server, tmp_path, min_version=ssl.TLSVersion.TLSv1_3) as server, \
            pytest.raises(TlsError, match="alert 'protocol version'"):
        fetch_server_chain("127.0.0.1", server.port, max_version="1.2")
    with tls_server(pki.server, tmp_path, strict_sni=True) as server:
        with pytest.raises(TlsError, match="alert 'unrecognized name'") as err:
            fetch_server_chain("127.0.0.1", server.port, server_name="unknown.example.test")
        assert "unknown.example.test" in err.value.causes[0]


def test_parse_endpoint() -> None:
    assert parse_endpoint("example.com:8883") == ("example.com", 8883)
    assert parse_endpoint("example.com") == ("example.com", 8883)
    assert parse_endpoint("[::1]:443") == ("::1", 443)
    for bad in (":8883", "host:0", "host:http"):
        with pytest.raises(InvalidInputError):
            parse_endpoint(bad)
