"""MQTT side of the platform: SmartREST (A13, A14), operations on s/ds, the s/dat gate (A8), closing sessions (A11),
one connection per device, the sandbox listener beside the platform, and mosquitto's own clients (C/OpenSSL).

A numbers are decisions of the platform reference, docs/platform-reference.md.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.platform.conftest import wait_event
from tests.platform.support import WAIT, Rest


def _serial_mo(rest: Rest, serial: str) -> str:
    return rest.call("GET", f"/identity/externalIds/c8y_Serial/{serial}").json["managedObject"]["id"]


def test_smartrest_data_and_error_lines(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    client = device(root.issue("dev-sr"))
    assert client.connect() == 0
    client.subscribe("s/e")
    client.subscribe("s/ds")
    client.publish("s/us", "110,SN-1,Model X,1.0\n114,c8y_Restart,c8y_Command\n"
                           "200,c8y_Pressure,P,1013.2,hPa\n301,c8y_HighTemp,Too hot\n400,c8y_Boot,\"Booted, ok\"",
                   qos=1)
    client.publish("s/us", "999,x", qos=1)
    assert client.expect("s/e") == "40,999,Unknown template 999"
    client.publish("s/us", "211,hot", qos=1)
    assert client.expect("s/e").startswith("45,211,Value is not a number")
    client.publish("s/us", '400,c8y_X,"unterminated', qos=1)
    assert client.expect("s/e").startswith("42,")
    client.publish("s/us", "123", qos=1)
    mo = _serial_mo(rest, "dev-sr")
    assert client.expect("s/ds") == f"124,{mo}"
    device_mo = rest.call("GET", f"/inventory/managedObjects/{mo}").json
    assert device_mo["name"] == "MQTT Device dev-sr" and device_mo["type"] == "c8y_MQTTDevice"
    assert device_mo["c8y_Hardware"] == {"serialNumber": "SN-1", "model": "Model X", "revision": "1.0"}
    assert device_mo["c8y_SupportedOperations"] == ["c8y_Restart", "c8y_Command"]
    measurement = rest.call("GET", f"/measurement/measurements?source={mo}").json["measurements"][0]
    assert measurement["c8y_Pressure"]["P"] == {"value": 1013.2, "unit": "hPa"}
    alarm = rest.call("GET", f"/alarm/alarms?source={mo}").json["alarms"][0]
    assert (alarm["severity"], alarm["status"], alarm["text"]) == ("CRITICAL", "ACTIVE", "Too hot")
    event = rest.call("GET", f"/event/events?source={mo}").json["events"][0]
    assert event["text"] == "Booted, ok"
    client.publish("s/us", "306,c8y_HighTemp", qos=1)
    client.publish("s/us", "123", qos=1)
    client.expect("s/ds")
    assert rest.call("GET", f"/alarm/alarms/{alarm['id']}").json["status"] == "CLEARED"


def test_operations_gate_lifecycle_and_redelivery(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    dev = root.issue("dev-ops")
    first = device(dev)
    assert first.connect() == 0
    first.publish("s/us", "100", qos=1)
    mo = _serial_mo(rest, "dev-ops")
    first.close()

    restart = rest.call("POST", "/devicecontrol/operations", {"deviceId": mo, "c8y_Restart": {}}).json
    command = rest.call("POST", "/devicecontrol/operations",
                        {"deviceId": mo, "c8y_Command": {"text": "uptime, please"}}).json
    client = device(dev)
    assert client.connect() == 0
    client.subscribe("s/ds")
    with pytest.raises(queue.Empty):  # platform reference A8: nothing before the first s/us or s/uat publish
        client.messages.get(timeout=0.5)
    client.publish("s/us", "125")
    assert client.expect("s/ds") == "510,dev-ops"
    assert client.expect("s/ds") == '511,dev-ops,"uptime, please"'
    client.publish("s/us", "501,c8y_Restart\n503,c8y_Restart", qos=1)
    client.publish("s/us", "501,c8y_Command\n503,c8y_Command,up 3 days", qos=1)
    client.publish("s/us", "123", qos=1)
    client.expect("s/ds")
    assert rest.call("GET", f"/devicecontrol/operations/{restart['id']}").json["status"] == "SUCCESSFUL"
    done = rest.call("GET", f"/devicecontrol/operations/{command['id']}").json
    assert done["status"] == "SUCCESSFUL" and done["c8y_Command"]["result"] == "up 3 days"
    # created while connected: delivered at once; still pending after a reconnect: delivered again
    firmware = rest.call("POST", "/devicecontrol/operations", {"deviceId": mo, "c8y_Firmware": {
        "name": "fw", "version": "2.0", "url": "http://fw"}}).json
    assert client.expect("s/ds") == "515,dev-ops,fw,2.0,http://fw"
    client.close()
    again = device(dev)
    assert again.connect() == 0
    again.subscribe("s/ds")
    again.publish("s/uat")
    assert again.expect("s/ds") == "515,dev-ops,fw,2.0,http://fw"
    again.publish("s/us", f"504,{firmware['id']}\n505,{firmware['id']},no space left", qos=1)
    again.publish("s/us", "123", qos=1)
    again.expect("s/ds")
    failed = rest.call("GET", f"/devicecontrol/operations/{firmware['id']}").json
    assert failed["status"] == "FAILED" and failed["failureReason"] == "no space left"


def test_disable_and_delete_close_sessions_at_once(local, rest: Rest, root, device) -> None:
    fp = rest.upload(root).json["fingerprint"]
    client = device(root.issue("dev-a11"))
    assert client.connect() == 0
    rest.call("PUT", f"/tenant/tenants/t100/trusted-certificates/{fp}", {"status": "DISABLED"})
    client.disconnects.get(timeout=WAIT)
    wait_event(local, "sessions_closed", lambda e: "was disabled" in e["message"])
    rest.call("PUT", f"/tenant/tenants/t100/trusted-certificates/{fp}", {"status": "ENABLED"})
    second = device(root.issue("dev-a11b"))
    assert second.connect() == 0
    assert rest.call("DELETE", f"/tenant/tenants/t100/trusted-certificates/{fp}").status == 204
    second.disconnects.get(timeout=WAIT)
    wait_event(local, "sessions_closed", lambda e: "was deleted" in e["message"])


def test_one_connection_per_device_id(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    dev = root.issue("dev-twice")
    first = device(dev, client_id="d:dev-twice")
    assert first.connect() == 0
    second = device(dev, client_id="dev-twice")
    assert second.connect() == 0
    first.disconnects.get(timeout=WAIT)


def test_devices_cannot_subscribe_upstream_or_publish_downstream(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    client = device(root.issue("dev-acl"))
    assert client.connect() == 0
    assert [getattr(c, "value", c) for c in client.subscribe("s/us")] == [0x80]
    assert [getattr(c, "value", c) for c in client.subscribe("#")] == [0x80]
    assert [getattr(c, "value", c) for c in client.subscribe("s/ds")] == [0]


def test_sandbox_listener_beside_the_platform(settings, root) -> None:
    settings.sandbox_port = 0
    from embedded_broker.local_platform import BackgroundLocalPlatform
    from tests.broker.conftest import Paho

    with BackgroundLocalPlatform(settings) as background:
        port = background.ports["sandbox"]
        subscriber = Paho(port, "any-client", version=5)
        publisher = Paho(port, "other", version=5)
        try:
            subscriber.subscribe("free/topic/#")
            publisher.publish("free/topic/x", b"hello", qos=1)
            assert subscriber.messages.get(timeout=WAIT).payload == b"hello"
        finally:
            subscriber.close()
            publisher.close()


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("mosquitto_rr") is None, reason="mosquitto-clients is not installed")
def test_mosquitto_clients_get_a_token(local, rest: Rest, root, ca_path: Path, tmp_path: Path) -> None:
    rest.upload(root)
    cert, key = root.issue("dev-mosq").write(tmp_path, "dev-mosq")
    common = ["-h", "127.0.0.1", "-p", str(local.ports["mqtts"]), "--cafile", str(ca_path), "--cert", str(cert),
              "--key", str(key), "-V", "mqttv311"]
    # mosquitto_rr publishes the request and reads the answer on ONE connection, as platform reference
    # A8 requires: a separate
    # mosquitto_sub would never be released (and a second connection of the device takes the first one over).
    answer = subprocess.run(["mosquitto_rr", *common, "-i", "d:dev-mosq", "-t", "s/uat", "-e", "s/dat", "-n",
                             "-W", "20"], capture_output=True, text=True, timeout=60)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.startswith("71,") and answer.stdout.count(".") == 2
    published = subprocess.run(["mosquitto_pub", *common, "-i", "d:dev-mosq", "-t", "s/us", "-m", "211,21.5",
                                "-q", "1"], capture_output=True, text=True, timeout=60)
    assert published.returncode == 0, published.stderr
    mo = _serial_mo(rest, "dev-mosq")
    measurements = rest.call("GET", f"/measurement/measurements?source={mo}").json["measurements"]
    assert json.dumps(measurements[0]).count("21.5") == 1
    refused = subprocess.run(["mosquitto_sub", *common, "-i", "d:someone-else", "-t", "s/ds", "-C", "1", "-W", "10"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "not authori" in refused.stderr.lower(), refused.stderr


def test_clean_session_is_forced(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    dev = root.issue("dev-persistent")
    first = device(dev, clean=False)
    assert first.connect() == 0
    first.subscribe("s/ds")
    first.close()
    second = device(dev, clean=False)
    assert second.connect() == 0 and second.session_present is False


def test_malformed_rest_bodies_get_the_envelope(rest: Rest) -> None:
    broken = rest.call("POST", "/tenant/tenants/t100/trusted-certificates", raw=b"{not json")
    assert broken.status == 422 and "not valid JSON" in broken.json["message"]
    missing = rest.call("POST", "/measurement/measurements", {"type": "t", "source": {"id": "424242"}})
    assert missing.status == 404 and missing.json["error"] == "inventory/Not Found"
    wrong = rest.call("POST", "/alarm/alarms", {"type": "t", "source": {"id": "x"}, "severity": "LOUD"})
    assert wrong.status in (404, 422)


def test_a_connect_storm_is_served_in_full(local, rest: Rest, root, device) -> None:
    """More simultaneous TLS connects than the handshake gate admits at once: every one gets its CONNACK."""
    from concurrent.futures import ThreadPoolExecutor

    rest.upload(root)
    clients = [device(root.issue(f"dev-storm-{n:02d}")) for n in range(40)]
    with ThreadPoolExecutor(40) as pool:
        codes = list(pool.map(lambda c: c.connect(), clients))
    assert codes == [0] * 40


def test_alarm_status_over_rest(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    client = device(root.issue("dev-alarm"))
    assert client.connect() == 0
    client.publish("s/us", "302,c8y_DoorOpen,Door open", qos=1)
    mo = _serial_mo(rest, "dev-alarm")
    alarm = rest.call("GET", f"/alarm/alarms?source={mo}").json["alarms"][0]
    acked = rest.call("PUT", f"/alarm/alarms/{alarm['id']}", {"status": "ACKNOWLEDGED", "text": "Seen"})
    assert acked.status == 200 and acked.json["status"] == "ACKNOWLEDGED" and acked.json["text"] == "Seen"
    assert acked.json["severity"] == "MAJOR"
    assert rest.call("PUT", f"/alarm/alarms/{alarm['id']}", {"status": "GONE"}).status == 422
