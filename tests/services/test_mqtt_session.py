"""The MQTT session against mosquitto, an independent standard broker, over plain TCP and mutual TLS."""

import queue
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.mosquitto import free_port, run_mosquitto
from workbench.core.files import private_temp_file
from workbench.errors import WorkbenchError
from workbench.services.demo_set import build_demo_set, write_demo_set
from workbench.services.mqtt_session import MqttSession, SessionSettings, SessionState, Will

pytestmark = pytest.mark.interop


class Recorder:
    def __init__(self) -> None:
        self.states: queue.Queue[tuple[SessionState, WorkbenchError | None]] = queue.Queue()
        self.messages: queue.Queue[tuple[str, bytes, dict[str, Any]]] = queue.Queue()

    def on_state(self, state: SessionState, error: WorkbenchError | None) -> None:
        self.states.put((state, error))

    def on_message(self, topic: str, payload: bytes, qos: int, retain: bool, properties: dict[str, Any]) -> None:
        self.messages.put((topic, payload, properties))

    def wait_state(self, *wanted: SessionState) -> tuple[SessionState, WorkbenchError | None]:
        while True:
            state, error = self.states.get(timeout=10)
            if state in wanted:
                return state, error


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    write_demo_set(folder, build_demo_set(None))
    return folder


def _files(demo: Path) -> dict[str, Path]:
    return {p.name: p for p in demo.rglob("*") if p.is_file()}


def _client_tls(demo: Path, with_cert: bool = True, ca: Path | None = None) -> ssl.SSLContext:
    files = _files(demo)
    ctx = ssl.create_default_context(cafile=str(ca or files["caCert.pem"]))
    if with_cert:
        device = demo / "devices" / "demo-device-1"
        with private_temp_file((device / "deviceKey.pem").read_bytes()) as key:
            ctx.load_cert_chain(str(device / "deviceCertChain.pem"), str(key))
    return ctx


def test_publish_subscribe_round_trip_v311_and_v5(tmp_path: Path) -> None:
    with run_mosquitto(tmp_path) as broker:
        for protocol in (4, 5):
            rec = Recorder()
            session = MqttSession(SessionSettings("127.0.0.1", broker.plain_port, f"wb-{protocol}",
                                                  protocol=protocol), rec)
            session.connect()
            assert rec.wait_state(SessionState.CONNECTED, SessionState.FAILED)[0] is SessionState.CONNECTED
            session.subscribe("wb/#", qos=1)
            props = {"content_type": "application/json"} if protocol == 5 else {}
            # The SUBACK may still be in flight; publish until the message comes back.
            for _ in range(50):
                session.publish("wb/t", b'{"v":1}', qos=1, properties=props,
                                user_properties=(("k", "v"),) if protocol == 5 else ())
                try:
                    topic, payload, received = rec.messages.get(timeout=0.2)
                    break
                except queue.Empty:
                    continue
            assert (topic, payload) == ("wb/t", b'{"v":1}')
            if protocol == 5:
                assert received["ContentType"] == "application/json"
                assert ["k", "v"] in [list(p) for p in received["UserProperty"]]
            session.disconnect()


def test_mutual_tls_with_the_device_keystore_material(tmp_path: Path, demo: Path) -> None:
    files = _files(demo)
    server = (files["caCert.pem"], files["serverCert.pem"], files["serverKey.pem"])
    with run_mosquitto(tmp_path, tls=server) as broker:
        rec = Recorder()
        settings = SessionSettings("localhost", broker.tls_port, "d:demo-device-1", tls=_client_tls(demo))
        session = MqttSession(settings, rec)
        session.connect()
        assert rec.wait_state(SessionState.CONNECTED, SessionState.FAILED)[0] is SessionState.CONNECTED
        session.disconnect()

        rec = Recorder()
        MqttSession(SessionSettings("localhost", broker.tls_port, "d:demo-device-1", tls=_client_tls(demo, False)),
                    rec).connect()
        _, error = rec.wait_state(SessionState.FAILED)
        assert error is not None and ("client certificate" in error.summary or "before answering" in error.summary)


def test_untrusted_server_certificate_is_explained(tmp_path: Path, demo: Path) -> None:
    files = _files(demo)
    other = tmp_path / "other"
    other.mkdir()
    write_demo_set(other, build_demo_set(None))
    with run_mosquitto(tmp_path, tls=(files["caCert.pem"], files["serverCert.pem"],
                                                     files["serverKey.pem"])) as broker:
        rec = Recorder()
        ctx = _client_tls(demo, with_cert=True, ca=_files(other)["caCert.pem"])
        MqttSession(SessionSettings("localhost", broker.tls_port, "d:demo-device-1", tls=ctx), rec).connect()
        _, error = rec.wait_state(SessionState.FAILED)
        assert error is not None and "is not trusted" in error.summary
        assert any("truststore" in c for c in error.causes)


def test_refused_port_and_not_authorized_connack(tmp_path: Path) -> None:
    rec = Recorder()
    MqttSession(SessionSettings("127.0.0.1", free_port(), "x"), rec).connect()
    _, error = rec.wait_state(SessionState.FAILED)
    assert error is not None and "Connection refused by" in error.summary

    password_file = tmp_path / "passwd"
    password_file.write_text("")
    subprocess.run(["mosquitto_passwd", "-b", str(password_file), "alice", "secret"], check=True)
    with run_mosquitto(tmp_path, password_file=password_file) as broker:
        rec = Recorder()
        MqttSession(SessionSettings("127.0.0.1", broker.plain_port, "x", username="alice", password="wrong",
                                    will=Will("w", b"bye")), rec).connect()
        _, error = rec.wait_state(SessionState.FAILED)
        assert error is not None and "CONNACK" in error.summary and ("not authorized" in error.summary
                                                                   or "password" in error.summary)


def test_commands_before_connect_say_what_to_do() -> None:
    session = MqttSession(SessionSettings("127.0.0.1", 1, "x"), Recorder())
    with pytest.raises(WorkbenchError, match="Cannot publish: the connection is disconnected"):
        session.publish("t", b"")

