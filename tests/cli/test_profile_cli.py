"""`workbench profile list|show|import|export`, and imported MQTTX/MQTT.fx profiles that carry their subscriptions,
saved messages, WebSocket path and `rejectUnauthorized: false` into `workbench mqtt` against real mosquitto."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.core.profiles.conftest import sample
from tests.support.mosquitto import run_mosquitto
from tests.support.mosquitto_ws import run_mosquitto_ws
from workbench import paths
from workbench.cli import run_cli
from workbench.core.console.saved_messages import SavedMessages
from workbench.core.profiles import ProfileStore
from workbench.services.demo_set import build_demo_set, write_demo_set


def test_import_mqttfx_keeps_subscriptions_and_saved_messages(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["profile", "import", str(sample("mqttfx-1x-keystores.xml"))]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Imported 2 profile(s) from mqttfx-1x-keystores.xml")
    assert "Tenant device (keystores)  mqtts://tenant.example.com:8883  (1 subscription(s), 1 saved message(s))" in out
    assert "skipped Broken port: " in out
    tenant = next(p for p in ProfileStore().load_all().profiles if p.name == "Tenant device (keystores)")
    assert [s.topic_filter for s in tenant.subscriptions] == ["s/ds"]
    (message,) = SavedMessages(paths.config_dir() / "saved-messages", tenant.id).load()  # where the console looks
    assert (message.name, message.topic, message.payload) == ("create device", "s/us", "100,Device 0001,c8y_MQTTDevice")
    assert run_cli(["profile", "show", "Tenant device (keystores)", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["profile"]["subscriptions"] == [{"topic_filter": "s/ds", "qos": 0}]
    assert shown["secrets_stored"] == ["trusted-keystore-password", "client-keystore-password",
                                       "client-key-pair-password"]
    assert "truststore-secret" not in json.dumps(shown)


def test_list_show_export_and_reimport(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["profile", "list"]) == 0
    assert "No profiles yet" in capsys.readouterr().out
    assert run_cli(["profile", "import", str(sample("mqttx-export.json")), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    names = [p["name"] for p in report["profiles"]]
    assert names == ["Self-signed device", "Websocket test", "Plain local"]  # the WebSocket one is no longer skipped
    assert report["profiles"][1]["url"] == "ws://broker.example.com:8083/mqtt"
    assert report["profiles"][0]["subscriptions"] == ["s/ds"]
    assert run_cli(["profile", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["profiles"]
    assert sorted(r["name"] for r in listed) == sorted(names)
    assert run_cli(["profile", "show", "websocket TEST"]) == 0  # any letter case
    shown = capsys.readouterr().out
    assert "transport: websockets" in shown and "websocket_path: /mqtt" in shown
    out = tmp_path / "export.json"
    assert run_cli(["profile", "export", "Websocket test", "Plain local", "--out", str(out)]) == 0
    assert "Wrote 2 profile(s)" in capsys.readouterr().out
    assert run_cli(["profile", "import", str(out)]) == 0
    assert len(ProfileStore().load_all().profiles) == 5
    assert run_cli(["profile", "show", "Plain local"]) == 1  # now two of that name: the error lists both ids
    err = capsys.readouterr().err
    assert "2 profiles are named 'Plain local'" in err and "Give the id instead" in err


def test_import_refuses_garbage_with_usage_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    assert run_cli(["profile", "import", str(bad)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert run_cli(["profile", "import", str(tmp_path / "missing.xml")]) == 2


@pytest.mark.interop
def test_imported_mqttx_ws_profile_subscribes_with_its_saved_filters(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with run_mosquitto_ws(tmp_path) as broker:
        export = tmp_path / "mqttx.json"
        export.write_text(json.dumps([{
            "name": "mosquitto ws", "clientId": "mqttx-ws", "protocol": "ws", "host": "127.0.0.1",
            "port": broker.ws_port, "path": "/mqtt", "ssl": False, "mqttVersion": "3.1.1",
            "subscriptions": [{"topic": "lab/+/temp", "qos": 1}, {"topic": "lab/alarm", "qos": 0}],
            "messages": [{"topic": "lab/cmd", "payload": "restart", "qos": 1, "retain": False, "out": True},
                         {"topic": "lab/a/temp", "payload": "20", "qos": 0, "retain": False, "out": False}]}]))
        assert run_cli(["profile", "import", str(export)]) == 0
        assert "(2 subscription(s), 1 saved message(s))" in capsys.readouterr().out
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.tcp_port), "-t", "lab/b/temp", "-m", "22",
                        "-r", "-q", "1"], check=True, timeout=10)
        assert run_cli(["mqtt", "sub", "--profile", "mosquitto ws", "-C", "1", "-W", "10", "-v"]) == 0
        assert capsys.readouterr().out == "lab/b/temp 22\n"


@pytest.mark.interop
def test_imported_reject_unauthorized_false_connects_with_a_warning(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    write_demo_set(tmp_path / "pki", build_demo_set(None))
    pki = tmp_path / "pki"
    server = (pki / "ca" / "caCert.pem", pki / "server" / "serverCertChain.pem", pki / "server" / "serverKey.pem")
    with run_mosquitto(tmp_path, tls=server, require_certificate=False) as broker:
        export = tmp_path / "mqttx.json"
        entry = {"name": "broken test broker", "clientId": "mqttx-tls", "protocol": "mqtts", "host": "localhost",
                 "port": broker.tls_port, "ssl": True, "certType": "server", "rejectUnauthorized": False,
                 "mqttVersion": "5.0"}
        export.write_text(json.dumps(entry))
        assert run_cli(["profile", "import", str(export)]) == 0
        assert "server certificate verification is OFF" in capsys.readouterr().out
        assert run_cli(["mqtt", "pub", "--profile", "broken test broker", "-t", "t/x", "-m", "1", "-q", "1"]) == 0
        assert "warning: server certificate verification is OFF" in capsys.readouterr().err
        entry["rejectUnauthorized"] = True  # the default: the demo CA is not in the system's trust, so refused
        entry["name"] = "checked"
        export.write_text(json.dumps(entry))
        assert run_cli(["profile", "import", str(export)]) == 0
        capsys.readouterr()
        assert run_cli(["mqtt", "pub", "--profile", "checked", "-t", "t/x", "-m", "1"]) == 1
        assert "is not trusted" in capsys.readouterr().err
