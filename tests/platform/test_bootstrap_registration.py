"""Bootstrap registration of a password device, end to end with paho and urllib only: the request, `s/ucr`, the
admin's acceptance, `70,<tenant>,<user>,<password>` on `s/dcr` once, the first connection with those credentials;
and every refusal on the way. Also the "device script" of issue #19: firmware-like paho code that registers itself,
creates its template collection, sends SmartREST and JSON and takes an operation, unchanged against a tenant.
"""

from __future__ import annotations

import json
import queue
import ssl
import threading

import paho.mqtt.client as mqtt
import pytest

from tests.platform.support import WAIT, Device, Rest
from tests.support.polling import until


@pytest.fixture
def bootstrap(rest: Rest) -> tuple[str, str]:
    answer = rest.call("GET", "/platform/bootstrapCredentials")
    assert answer.status == 200
    return answer.json["username"], answer.json["password"]


def _status(rest: Rest, device_id: str) -> str:
    return rest.call("GET", f"/devicecontrol/newDeviceRequests/{device_id}").json["status"]


def test_the_whole_flow_and_the_credentials_go_out_once(local, rest: Rest, ca_path, bootstrap) -> None:
    assert rest.call("POST", "/devicecontrol/newDeviceRequests", {"id": "boot-1"}).status == 201
    assert _status(rest, "boot-1") == "WAITING_FOR_CONNECTION"
    early = rest.call("PUT", "/devicecontrol/newDeviceRequests/boot-1", {"status": "ACCEPTED"})
    assert early.status == 422 and "has not connected yet" in early.json["message"]
    boot = Device(local.ports["mqtts"], ca_path, "d:boot-1", username=bootstrap[0], password=bootstrap[1])
    try:
        assert boot.connect() == 0
        boot.subscribe("s/dcr")
        boot.publish("s/ucr", b"", qos=1)
        until(lambda: _status(rest, "boot-1") == "PENDING_ACCEPTANCE", "the request to be pending", WAIT)
        with pytest.raises(queue.Empty):
            boot.expect("s/dcr", timeout=0.2)
        assert rest.call("PUT", "/devicecontrol/newDeviceRequests/boot-1", {"status": "ACCEPTED"}).json[
            "status"] == "ACCEPTED"
        boot.publish("s/ucr", b"", qos=1)
        code, tenant, user, password = boot.expect("s/dcr").split(",", 3)
        assert (code, tenant, user) == ("70", "t100", "device_boot-1")
        boot.publish("s/ucr", b"", qos=1)  # once only: the request is gone
        with pytest.raises(queue.Empty):
            boot.expect("s/dcr", timeout=0.3)
        assert rest.call("GET", "/devicecontrol/newDeviceRequests/boot-1").status == 404
        # the bootstrap login may do nothing else
        assert boot.subscribe("s/ds") == [mqtt.ReasonCode(mqtt.PacketTypes.SUBACK, identifier=0x80)]
    finally:
        boot.close()
    dev = Device(local.ports["mqtts"], ca_path, "d:boot-1", username=f"{tenant}/{user}", password=password)
    try:
        assert dev.connect() == 0
        dev.subscribe("s/ds")
        dev.publish("s/us", "200,c8y_Temp,T,21.5,C", qos=1)
        dev.publish("s/us", "123", qos=1)
        mo = dev.expect("s/ds").split(",")[1]
    finally:
        dev.close()
    assert rest.call("GET", f"/measurement/measurements?source={mo}").json["measurements"][0]["c8y_Temp"]["T"][
        "value"] == 21.5
    assert rest.as_user(f"{tenant}/{user}", password).call("GET", "/user/currentUser").status == 200


def test_refusals(local, rest: Rest, ca_path, bootstrap) -> None:
    assert rest.call("POST", "/devicecontrol/newDeviceRequests", {"id": "boot-2"}).status == 201
    assert rest.call("POST", "/devicecontrol/newDeviceRequests", {"id": "boot-2"}).status == 409
    for body in ({}, {"id": ""}, {"id": "a:b"}, {"id": 5}, []):
        assert rest.call("POST", "/devicecontrol/newDeviceRequests", body).status == 422
    assert rest.call("PUT", "/devicecontrol/newDeviceRequests/boot-2", {"status": "MAYBE"}).status == 422
    assert rest.call("PUT", "/devicecontrol/newDeviceRequests/nobody", {"status": "ACCEPTED"}).status == 404
    wrong = Device(local.ports["mqtts"], ca_path, "d:boot-2", username=bootstrap[0], password="not-it")
    try:
        assert wrong.connect() == 4
    finally:
        wrong.close()
    # t200's admin sees none of t100's requests; a device and another tenant may not read the bootstrap password
    password = rest.call("POST", "/platform/tenants", {"id": "t200"}).json["password"]
    other = rest.as_user("t200/admin", password)
    assert other.call("GET", "/devicecontrol/newDeviceRequests/boot-2").status == 404
    assert other.call("GET", "/platform/bootstrapCredentials").status == 403
    assert rest.call("DELETE", "/devicecontrol/newDeviceRequests/boot-2").status == 204
    assert rest.call("GET", "/devicecontrol/newDeviceRequests?pageSize=100").json["newDeviceRequests"] == []


class Firmware:
    """What device firmware does, in plain paho: no helper of this project, only host, port, CA file and ids."""

    def __init__(self, port: int, ca: str, client_id: str, username: str, password: str) -> None:
        self.inbox: queue.Queue[tuple[str, str]] = queue.Queue()
        self.connected = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
        self.client.tls_set(ca_certs=ca, cert_reqs=ssl.CERT_REQUIRED)
        self.client.username_pw_set(username, password)
        self.client.on_connect = lambda c, u, f, rc, p: self.connected.set() if rc == 0 else None
        self.client.on_message = lambda c, u, m: self.inbox.put((m.topic, m.payload.decode()))
        self.client.connect("127.0.0.1", port, 30)
        self.client.loop_start()
        assert self.connected.wait(WAIT)

    def wait_for(self, topic: str, seconds: float = WAIT) -> str:
        while True:
            got_topic, payload = self.inbox.get(timeout=seconds)
            if got_topic == topic:
                return payload

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_a_device_script_runs_unchanged(local, rest: Rest, ca_path, bootstrap) -> None:
    """Issue #19's done-when: bootstrap registration, a custom template collection and JSON via MQTT."""
    device_id = "fw-0001"
    port, ca = local.ports["mqtts"], str(ca_path)
    assert rest.call("POST", "/devicecontrol/newDeviceRequests", {"id": device_id}).status == 201
    # --- firmware, part 1: register ---
    fw = Firmware(port, ca, device_id, *bootstrap)
    fw.client.subscribe("s/dcr", 1)
    fw.client.publish("s/ucr", "", 1)
    until(lambda: _status(rest, device_id) == "PENDING_ACCEPTANCE", "the device to ask", WAIT)
    rest.call("PUT", f"/devicecontrol/newDeviceRequests/{device_id}", {"status": "ACCEPTED"})  # the admin
    credentials = ""
    while not credentials.startswith("70,"):
        fw.client.publish("s/ucr", "", 1)
        try:
            credentials = fw.wait_for("s/dcr", 0.5)
        except queue.Empty:
            continue
    fw.stop()
    _, tenant, user, password = credentials.split(",", 3)
    # --- firmware, part 2: run as itself with its collection ---
    fw = Firmware(port, ca, f"d:{device_id}:fw-templates", f"{tenant}/{user}", password)
    for topic in ("s/dt", "s/e", "s/dd", "error", "devicecontrol/notifications"):
        fw.client.subscribe(topic, 1)
    fw.client.publish("s/ut/fw-templates", "", 1)
    if fw.wait_for("s/dt") == "41,fw-templates":
        fw.client.publish("s/ut/fw-templates", "10,100,POST,MEASUREMENT,,c8y_Flow,,c8y_Flow.F.value,NUMBER,\n"
                                              "10,101,PUT,OPERATION,,c8y_Flush,status,OPERATIONSTATUS,\n"
                                              "11,500,c8y_Flush,c8y_Flush,seconds", 1)
        assert fw.wait_for("s/dt").startswith("20,fw-templates,")
    fw.client.publish("s/ud", "100,,3.25", 1)
    fw.client.publish("event/events/create", json.dumps({"type": "fw_Boot", "text": "booted"}), 1)
    mo = until(lambda: rest.call("GET", f"/identity/externalIds/c8y_Serial/{device_id}").json.get(
        "managedObject", {}).get("id"), "the device object", WAIT)
    rest.call("POST", "/devicecontrol/operations", {"deviceId": mo, "c8y_Flush": {"seconds": 30}})
    assert fw.wait_for("s/dd") == f"500,{device_id},30"
    assert json.loads(fw.wait_for("devicecontrol/notifications"))["c8y_Flush"] == {"seconds": 30}
    fw.client.publish("s/ud", "101,SUCCESSFUL", 1)
    until(lambda: rest.call("GET", f"/devicecontrol/operations?deviceId={mo}&status=SUCCESSFUL").json["operations"],
          "the operation to succeed", WAIT)
    fw.stop()
    assert rest.call("GET", f"/measurement/measurements?source={mo}").json["measurements"][0]["c8y_Flow"] == {
        "F": {"value": 3.25}}
    assert rest.call("GET", f"/event/events?source={mo}").json["events"][0]["type"] == "fw_Boot"
    with pytest.raises(queue.Empty):
        fw.wait_for("s/e", 0.1)
