"""`workbench mqtt pub|sub|rr` against real brokers: mosquitto with mutual TLS (PEM files and keystores), checked by
mosquitto's own clients; the README's token example verbatim against the local platform; exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import struct
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from tests.support.demo_pki import demo_pki
from tests.support.mosquitto import Mosquitto, free_port, run_mosquitto
from workbench.cli import run_cli

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo set's files, a device keystore and a truststore (`tests/support/demo_pki.py`)."""
    return demo_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory, pki: dict[str, Path]) -> Iterator[Mosquitto]:
    with run_mosquitto(tmp_path_factory.mktemp("mosq"), tls=(pki["ca"], pki["server_cert"], pki["server_key"])) as b:
        yield b


def _tls_pem(broker: Mosquitto, pki: dict[str, Path]) -> list[str]:
    return ["-h", "localhost", "-p", str(broker.tls_port), "--cafile", str(pki["ca"]), "--cert",
            str(pki["device_chain"]), "--key", str(pki["device_key"])]


def _tls_stores(broker: Mosquitto, pki: dict[str, Path]) -> list[str]:
    return ["-h", "localhost", "-p", str(broker.tls_port), "--keystore", str(pki["keystore"]),
            "--keystore-password-file", str(pki["ks_pw"]), "--truststore", str(pki["truststore"]),
            "--truststore-password-file", str(pki["ts_pw"])]


def _mosquitto_sub(broker: Mosquitto, topic: str) -> str:
    """What mosquitto_sub gets on the plain port for `topic` (the retained message the test published)."""
    done = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.plain_port), "-t", topic, "-C", "1",
                           "-W", "10", "-v"], capture_output=True, text=True, timeout=15)
    return done.stdout.strip()


def test_pub_with_pem_files_and_with_keystores(broker: Mosquitto, pki: dict[str, Path],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["mqtt", "pub", *_tls_pem(broker, pki), "-t", "cli/pem", "-m", "from pem", "-q", "1", "-r"]) == 0
    assert _mosquitto_sub(broker, "cli/pem") == "cli/pem from pem"
    assert run_cli(["mqtt", "pub", *_tls_stores(broker, pki), "-i", "d:demo-device-1", "-t", "cli/ks", "-m",
                    "from keystores", "-q", "2", "-r"]) == 0
    assert _mosquitto_sub(broker, "cli/ks") == "cli/ks from keystores"
    assert capsys.readouterr().err == ""


def test_sub_prints_text_and_json_lines(broker: Mosquitto, pki: dict[str, Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    binary = tmp_path / "payload.bin"
    binary.write_bytes(b"\x00\xff\x10")
    for topic, args in (("json/a", ["-m", "21.5"]), ("json/b", ["-f", str(binary)])):
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.plain_port), "-t", topic, "-r", "-q", "1",
                        *args], check=True, timeout=10)
    assert run_cli(["mqtt", "sub", *_tls_pem(broker, pki), "-t", "json/a", "-C", "1", "-v", "-W", "10"]) == 0
    assert capsys.readouterr().out == "json/a 21.5\n"
    assert run_cli(["mqtt", "sub", *_tls_stores(broker, pki), "-t", "json/a", "-t", "json/b", "-C", "2", "--json",
                    "-W", "10"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_topic = {line["topic"]: line for line in lines}
    assert by_topic["json/a"]["payload"] == "21.5" and by_topic["json/a"]["retain"] is True
    assert by_topic["json/b"]["payload_base64"] == "AP8Q" and by_topic["json/b"]["qos"] == 0


@pytest.fixture
def responder(broker: Mosquitto) -> Iterator[list[bytes | None]]:
    """An independent paho client that answers every request on `svc/req` on the MQTT 5 response topic (or
    `svc/res` for v3), copying the correlation data back; it records the correlation data it saw."""
    seen: list[bytes | None] = []
    ready = threading.Event()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)

    def on_connect(c: paho.Client, *_args: object) -> None:
        c.subscribe("svc/req", 1)

    def on_subscribe(*_args: object) -> None:
        ready.set()

    def on_message(c: paho.Client, _u: object, message: paho.MQTTMessage) -> None:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        incoming = message.properties
        correlation = getattr(incoming, "CorrelationData", None)
        seen.append(correlation)
        props = Properties(PacketTypes.PUBLISH)
        if correlation is not None:
            props.CorrelationData = correlation
        topic = getattr(incoming, "ResponseTopic", None) or "svc/res"
        c.publish(topic, b"answer to " + message.payload, 1, properties=props)

    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    client.connect("127.0.0.1", broker.plain_port)
    client.loop_start()
    try:
        assert ready.wait(10), "the responder did not subscribe"
        yield seen
    finally:
        client.disconnect()
        client.loop_stop()


def test_rr_waits_for_the_response_v311_and_v5(broker: Mosquitto, pki: dict[str, Path],
                                              responder: list[bytes | None],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["mqtt", "rr", *_tls_pem(broker, pki), "-t", "svc/req", "-e", "svc/res", "-m", "ping"]) == 0
    assert capsys.readouterr().out == "answer to ping\n"
    assert run_cli(["mqtt", "rr", *_tls_pem(broker, pki), "-V", "5", "-t", "svc/req", "-e", "svc/res/v5", "-m", "v5",
                    "-v"]) == 0
    assert capsys.readouterr().out == "svc/res/v5 answer to v5\n"
    assert responder[0] is None and isinstance(responder[1], bytes) and len(responder[1]) == 8


def test_exit_codes_say_failed_or_usage(broker: Mosquitto, pki: dict[str, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    # 1: the work failed: nothing answers, or the connection is refused
    assert run_cli(["mqtt", "rr", "-h", "127.0.0.1", "-p", str(broker.plain_port), "-t", "nobody/home", "-e",
                    "nobody/answer", "-n", "-W", "0.5"]) == 1
    assert "No response on 'nobody/answer' within 0.5 s" in capsys.readouterr().err
    assert run_cli(["mqtt", "pub", "-h", "localhost", "-p", str(broker.tls_port), "-t", "t", "-m", "x"]) == 1
    assert "closed the connection before answering the CONNECT" in capsys.readouterr().err  # plain on a TLS port
    assert run_cli(["mqtt", "pub", "-h", "127.0.0.1", "-p", str(free_port()), "-t", "t", "-m", "x"]) == 1
    assert "Connection refused" in capsys.readouterr().err
    assert run_cli(["mqtt", "pub", "-h", "localhost", "-p", str(broker.tls_port), "--cafile", str(pki["ca"]),
                    "-t", "t", "-m", "x"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "client certificate" in err  # mutual TLS without --cert: what to give
    assert run_cli(["mqtt", "sub", "--profile", "no such profile", "-t", "a"]) == 1  # a lookup that failed
    assert "There is no profile named 'no such profile'" in capsys.readouterr().err
    # 2: usage
    assert run_cli(["mqtt", "pub", "-t", "a/+", "-m", "x"]) == 2
    assert "wildcard" in capsys.readouterr().err
    assert run_cli(["mqtt", "pub", "-t", "a"]) == 2
    assert "No payload given" in capsys.readouterr().err
    assert run_cli(["mqtt", "pub", "--profile", "nope", "-h", "x", "-t", "a", "-m", "x"]) == 2
    assert "do not go together" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        run_cli(["mqtt", "pub", "-q", "3", "-t", "a", "-m", "x"])
    assert usage.value.code == 2


def test_readme_token_example_verbatim_against_the_local_platform(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's line, word for word, with no GUI run before: the built-in profile is made from the running
    local platform and its demo device."""
    from workbench.services.local_platform import LocalPlatformProcess

    platform = LocalPlatformProcess(ports={"mqtt": 0, "mqtts": 0, "https": 0})
    platform.start_or_reuse()
    try:
        argv = ["mqtt", "rr", "--profile", "Local platform (certificate device)", "-t", "s/uat", "-e", "s/dat", "-n"]
        assert run_cli(argv) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        assert out.startswith("71,ey") and out.count(".") == 2
        assert run_cli(argv) == 0  # again: the profile is saved now and reused
        assert capsys.readouterr().out.startswith("71,ey")
        assert run_cli(["profile", "list"]) == 0
        assert "Local platform (certificate device)  mqtts://localhost:" in capsys.readouterr().out
    finally:
        platform.stop()


def test_sub_decodes_cbor_and_a_user_proto(broker: Mosquitto, pki: dict[str, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    import cbor2

    cbor = tmp_path / "reading.cbor"
    cbor.write_bytes(cbor2.dumps({"t": 21.5, "unit": "C"}))
    proto = tmp_path / "reading.proto"
    proto.write_text('syntax = "proto3";\npackage lab;\nmessage Reading { string sensor = 1; double value = 2; }\n')
    # Reading{sensor: "s1", value: 2.5} in the protobuf wire format, written by hand (field 1 LEN, field 2 I64)
    (tmp_path / "reading.pb").write_bytes(b"\x0a\x02s1\x11" + struct.pack("<d", 2.5))
    for topic, file in (("dec/cbor", cbor), ("dec/pb", tmp_path / "reading.pb")):
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.plain_port), "-t", topic, "-r", "-q", "1",
                        "-f", str(file)], check=True, timeout=10)
    common = ["mqtt", "sub", *_tls_pem(broker, pki), "-C", "1", "-W", "10", "--json"]
    assert run_cli([*common, "-t", "dec/cbor", "--decode", "cbor"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["decoder"] == "CBOR" and line["decoded"] == {"t": 21.5, "unit": "C"}
    assert run_cli([*common, "-t", "dec/pb", "--proto", f"{proto}:lab.Reading"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["decoded"] == {"sensor": "s1", "value": 2.5}
    # a payload that does not decode is printed raw with a one-line reason, never an error
    assert run_cli(["mqtt", "sub", *_tls_pem(broker, pki), "-C", "1", "-W", "10", "-t", "dec/cbor",
                    "--proto", f"{proto}:lab.Reading"]) == 0
    captured = capsys.readouterr()
    assert captured.out.endswith("\n") and "note: dec/cbor: shown raw, not " in captured.err
    assert run_cli([*common, "-t", "dec/cbor", "--decode", "nonsense"]) == 2
    assert "'nonsense' is not a payload decoder" in capsys.readouterr().err
