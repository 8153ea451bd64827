"""The advice after a failed TLS connection fits the case (issue 20): real TLS listeners on 127.0.0.1:0, and the
failures of `tls fetch`, the CLI and the MQTT session, each with the hint that fits and not a neighbour's."""

from __future__ import annotations

import queue
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.certs import Pki, make_pki
from tests.support.tls_server import tls_server
from workbench.cli import run_cli
from workbench.core.tls import client_context
from workbench.errors import InvalidInputError, TlsError, WorkbenchError
from workbench.services.mqtt_session import MqttSession, SessionSettings, SessionState
from workbench.services.tls_fetch import fetch_server_chain


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


def _words(error: WorkbenchError) -> str:
    return " ".join((error.summary, *error.causes))


def test_a_tls13_only_server_with_max_tls_12_is_told_to_allow_13(pki: Pki, tmp_path: Path) -> None:
    with tls_server(pki.server, tmp_path, min_version=ssl.TLSVersion.TLSv1_3) as server, \
            pytest.raises(TlsError) as err:
        fetch_server_chain("127.0.0.1", server.port, max_version="1.2")
    text = _words(err.value)
    assert "alert 'protocol version'" in text
    assert "TLS 1.3 only" in text and "--max-tls" in text
    assert "--min-tls 1.2" not in text  # the old, wrong advice: the minimum was never the problem


def test_a_tls12_only_server_with_min_tls_13_is_told_to_lower_the_minimum(pki: Pki, tmp_path: Path) -> None:
    with tls_server(pki.server, tmp_path, max_version=ssl.TLSVersion.TLSv1_2) as server, \
            pytest.raises(TlsError) as err:
        fetch_server_chain("127.0.0.1", server.port, min_version="1.3")
    text = _words(err.value)
    assert "does not speak TLS 1.3" in text and "--min-tls" in text and "--max-tls" not in text


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP port that only counts who connects (it never answers)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        sock.setblocking(False)
        yield sock


def _nobody_connected(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return True
    conn.close()
    return False


def test_an_empty_version_range_is_refused_before_connecting(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    with pytest.raises(InvalidInputError) as err:
        fetch_server_chain("127.0.0.1", port, min_version="1.3", max_version="1.2")
    text = _words(err.value)
    assert "1.3 is above the highest 1.2" in text and "NO_PROTOCOLS_AVAILABLE" not in text
    assert _nobody_connected(listener)


def test_the_cli_refuses_min_tls_above_max_tls_as_usage(listener: socket.socket,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    port = listener.getsockname()[1]
    code = run_cli(["tls", "fetch", f"127.0.0.1:{port}", "--min-tls", "1.3", "--max-tls", "1.2"])
    err = capsys.readouterr().err
    assert code == 2 and "no version is left to offer" in err and "--min-tls 1.2" in err
    assert "NO_PROTOCOLS" not in err and "Traceback" not in err
    assert _nobody_connected(listener)


def test_a_host_name_mismatch_is_about_the_name_not_the_truststore(pki: Pki, tmp_path: Path) -> None:
    with tls_server(pki.server, tmp_path) as server, pytest.raises(TlsError) as err:
        fetch_server_chain("127.0.0.1", server.port, server_name="wrong.example.test", trust=[pki.root.cert])
    text = _words(err.value)
    assert "not valid for the name 'wrong.example.test'" in err.value.summary
    assert "--servername" in text and "does not help" in text
    assert "Add the server's" not in text and "to the truststore" not in text


def test_an_untrusted_chain_still_gets_the_truststore_advice(pki: Pki, tmp_path: Path) -> None:
    other = make_pki()
    with tls_server(pki.server, tmp_path) as server, pytest.raises(TlsError) as err:
        fetch_server_chain("127.0.0.1", server.port, server_name="localhost", trust=[other.root.cert])
    assert "is not trusted" in err.value.summary and "root" in " ".join(err.value.causes)


class _States:
    def __init__(self) -> None:
        self.states: queue.Queue[tuple[SessionState, WorkbenchError | None]] = queue.Queue()

    def on_state(self, state: SessionState, error: WorkbenchError | None) -> None:
        self.states.put((state, error))

    def on_message(self, topic: str, payload: bytes, qos: int, retain: bool, properties: dict[str, Any]) -> None:
        pass

    def failure(self) -> WorkbenchError:
        while True:
            state, error = self.states.get(timeout=10)
            if state is SessionState.FAILED:
                assert error is not None
                return error


def test_the_mqtt_session_gets_the_same_version_advice(pki: Pki, tmp_path: Path) -> None:
    """A profile held to TLS 1.2 against a TLS 1.3-only broker port: the session names the maximum, like tls fetch."""
    context = client_context(verify=False, max_version="1.2")
    recorder = _States()
    with tls_server(pki.server, tmp_path, min_version=ssl.TLSVersion.TLSv1_3) as server:
        session = MqttSession(SessionSettings("127.0.0.1", server.port, "hint-test", tls=context), recorder)
        session.connect()
        error = recorder.failure()
    text = _words(error)
    assert "TLS 1.3 only" in text and "--min-tls 1.2" not in text
