"""SmartREST 2.0 custom template collections on the local platform, driven by paho and urllib only: `s/ut` creates,
`s/dt` answers, `s/uc` lines become measurements, events and alarms, response templates render operations on `s/dc`,
collections made over REST work, every error path answers on `s/e`, and one device cannot use or overwrite another's.
"""

from __future__ import annotations

import csv

import pytest

from tests.platform.support import Rest

COLLECTION = "\n".join([
    "10,901,POST,MEASUREMENT,,c8y_Steam,,c8y_Steam.T.value,NUMBER,,c8y_Steam.T.unit,STRING,C",
    "10,902,POST,EVENT,,c8y_DoorEvent,,,c8y_Door.state,STRING,",
    "10,903,POST,ALARM,,c8y_Overheat,Too hot,ACTIVE,,",
    "10,904,PUT,OPERATION,,c8y_Valve,status,OPERATIONSTATUS,,c8y_Valve.result,STRING,",
    "10,905,GET,INVENTORY,,true",
    "11,801,c8y_Valve,c8y_Valve,position,speed",
    "11,802,,c8y_IsDevice,type,name",
])


def _unquoted(line: str) -> str:
    """A SmartREST line with its quoted fields opened (the csv module reads the same quoting)."""
    return ",".join(next(csv.reader([line], escapechar="\\")))


@pytest.fixture
def certified(certified_device):
    """Factory: a connected certificate device subscribed to `s/e`, `s/dt` and the given topics."""
    return lambda cn, *topics: certified_device(cn, "s/e", "s/dt", *topics)


def test_the_gate_opens_on_s_ut_and_s_dt_answers_both_ways(certified) -> None:
    """A8: a device that only subscribes to `s/dt` and publishes on `s/ut` gets its answer (no other publish)."""
    dev = certified("tpl-gate")
    dev.publish("s/ut/gate-x", b"")
    assert dev.expect("s/dt") == "41,gate-x"
    dev.publish("s/ut/gate-x", COLLECTION)
    created = dev.expect("s/dt")
    assert created.startswith("20,gate-x,")
    dev.publish("s/ut/gate-x", b"")
    assert dev.expect("s/dt") == created


def test_lines_become_measurements_events_and_alarms(certified, rest: Rest) -> None:
    dev = certified("tpl-data")
    dev.publish("s/ut/data-x", COLLECTION)
    mo_of_collection = dev.expect("s/dt").split(",")[2]
    dev.publish("s/uc/data-x", "901,2024-05-01T10:00:00.000Z,98.5\n902,Door opened,,open\n903,major", qos=1)
    dev.publish("s/us", "123", qos=1)  # a round trip: everything before it is stored
    dev.subscribe("s/ds")
    dev.publish("s/us", "123", qos=1)
    own = dev.expect("s/ds").split(",")[1]
    assert own == rest.object_id("tpl-data")
    measurements = rest.call("GET", f"/measurement/measurements?source={own}").json["measurements"]
    assert measurements[0]["type"] == "c8y_Steam"
    assert measurements[0]["c8y_Steam"] == {"T": {"value": 98.5, "unit": "C"}}
    assert measurements[0]["time"].startswith("2024-05-01T10:00:00")
    event = rest.call("GET", f"/event/events?source={own}").json["events"][0]
    assert (event["type"], event["c8y_Door"]) == ("c8y_DoorEvent", {"state": "open"})
    alarm = rest.call("GET", f"/alarm/alarms?source={own}").json["alarms"][0]
    assert (alarm["type"], alarm["text"], alarm["severity"]) == ("c8y_Overheat", "Too hot", "MAJOR")
    # the collection is a managed object with the cloud's fragment and external id
    stored = rest.call("GET", f"/inventory/managedObjects/{mo_of_collection}").json
    assert stored["type"] == "c8y_SmartRest2Template"
    templates = stored["com_cumulocity_model_smartrest_csv_CsvSmartRestTemplate"]
    assert [t["msgId"] for t in templates["requestTemplates"]] == ["901", "902", "903", "904", "905"]
    assert rest.call("GET", "/identity/externalIds/c8y_SmartRest2DeviceIdentifier/data-x").json[
        "managedObject"]["id"] == mo_of_collection


def test_a_response_template_renders_an_operation_and_a_request_template_finishes_it(certified, rest: Rest) -> None:
    dev = certified("tpl-op", "s/dc/op-x")
    dev.publish("s/ut/op-x", COLLECTION)
    dev.expect("s/dt")
    dev.publish("s/uc/op-x", "901,,20", qos=1)  # first data creates the device
    mo = rest.object_id("tpl-op")
    created = rest.call("POST", "/devicecontrol/operations",
                        {"deviceId": mo, "c8y_Valve": {"position": 40, "speed": "slow"}}).json
    assert dev.expect("s/dc/op-x") == "801,tpl-op,40,slow"
    dev.publish("s/uc/op-x", "904,SUCCESSFUL,closed", qos=1)
    dev.publish("s/uc/op-x", f"905,{mo}")  # GET by id answers through the response templates (802)
    assert dev.expect("s/dc/op-x") == "802,c8y_MQTTDevice,MQTT Device tpl-op"
    operation = rest.call("GET", f"/devicecontrol/operations/{created['id']}").json
    assert operation["status"] == "SUCCESSFUL"
    assert operation["c8y_Valve"]["result"] == "closed"


def test_a_collection_made_over_rest_serves_devices_and_the_default_x_id(rest: Rest, root, device) -> None:
    assert rest.upload(root).status == 201
    body = {"name": "rest-x", "type": "c8y_SmartRest2Template",
            "com_cumulocity_model_smartrest_csv_CsvSmartRestTemplate": {
                "requestTemplates": [{"msgId": "7", "method": "POST", "api": "MEASUREMENT", "response": False,
                                      "mandatoryValues": ["c8y_Level", ""],
                                      "customValues": [{"path": "c8y_Level.L.value", "type": "NUMBER",
                                                        "value": ""}]}],
                "responseTemplates": []}}
    mo = rest.call("POST", "/inventory/managedObjects", body).json["id"]
    assert rest.call("POST", f"/identity/globalIds/{mo}/externalIds",
                     {"type": "c8y_SmartRest2DeviceIdentifier", "externalId": "rest-x"}).status == 201
    dev = device(root.issue("tpl-rest"), client_id="d:tpl-rest:rest-x")
    assert dev.connect() == 0
    dev.subscribe("s/e")
    dev.subscribe("s/dt")
    dev.publish("s/ut/rest-x", b"")
    assert dev.expect("s/dt") == f"20,rest-x,{mo}"
    dev.publish("s/ud", "7,,12", qos=1)  # the default X-ID from the client id
    dev.publish("s/uc/rest-x", "7,,13", qos=1)
    own = rest.object_id("tpl-rest")
    values = [m["c8y_Level"]["L"]["value"] for m in
              rest.call("GET", f"/measurement/measurements?source={own}").json["measurements"]]
    assert values == [12, 13]


@pytest.mark.parametrize(("topic", "payload", "answer"), [
    ("s/uc/err-x", "999,1", "40,999,No template 999 in collection err-x"),
    ("s/uc/err-x", "901,,warm", "45,901,Value is not a number: 'warm'"),
    ("s/uc/err-x", "901,,1,2,3", "45,901,Wrong number of arguments: template 901 takes 2 value(s), got 4"),
    ("s/uc/err-x", "901,yesterday,1", "45,901,time 'yesterday' is not an ISO 8601 date-time"),
    ("s/uc/err-x", ",1", "42,,Malformed line: empty message id"),
    ("s/uc/err-x", '901,"open', "42,901,Malformed line: unterminated quote"),
    ("s/uc/err-x", "904,SUCCESSFUL,x", "45,904,No EXECUTING or PENDING operation with fragment c8y_Valve"),
    ("s/uc/nowhere-x", "1,2", "41,nowhere-x,Template collection nowhere-x does not exist"),
    ("s/ud", "1", "41,,No default X-ID"),
    ("s/ut/new-x", "10,1,POST,WEATHER,,", "41,new-x,Template creation error in line 1: POST WEATHER is not"),
    ("s/ut/new-x", "10,1,POST,MEASUREMENT,,t,,a.b,NUMBR,", "41,new-x,Template creation error in line 1: value type"),
    ("s/ut/new-x", "10,1,POST,MEASUREMENT,,t,\n10,1,POST,EVENT,,t,x,", "41,new-x,Template creation error in line 2"),
    ("s/ut/err-x", "10,1,POST,MEASUREMENT,,t,", "41,err-x,Template collection err-x exists already"),
])
def test_every_bad_line_gets_its_s_e_answer(certified, topic: str, payload: str, answer: str) -> None:
    dev = certified("tpl-err")
    dev.publish("s/ut/err-x", COLLECTION)
    dev.expect("s/dt")
    dev.publish(topic, payload)
    assert _unquoted(dev.expect("s/e")).startswith(answer)
    dev.publish("s/ut/new-x", b"")  # nothing was created by a bad creation publish
    assert dev.expect("s/dt") == "41,new-x"


def test_limits_answer_on_s_e(certified) -> None:
    dev = certified("tpl-limits")
    dev.publish("s/ut/lim-x", COLLECTION)
    dev.expect("s/dt")
    dev.publish("s/uc/lim-x", b"901,,1\n" * 3000)
    assert _unquoted(dev.expect("s/e")).startswith("45,,Payload too large")
    dev.publish("s/ut/big-x", b"10,1,POST,MEASUREMENT,,t,\n" * 1000)
    assert _unquoted(dev.expect("s/e")).startswith("41,big-x,Payload too large")


def test_a_second_device_cannot_use_or_overwrite_the_first_devices_collection(certified, rest: Rest, root,
                                                                                device) -> None:
    first = certified("tpl-owner")
    first.publish("s/ut/mine-x", COLLECTION)
    collection_mo = first.expect("s/dt").split(",")[2]
    second = certified("tpl-other")
    second.publish("s/ut/mine-x", b"")
    assert second.expect("s/dt") == "41,mine-x"  # it looks like none at all
    second.publish("s/uc/mine-x", "901,,5")
    assert _unquoted(second.expect("s/e")).startswith("41,mine-x,Template collection mine-x does not exist")
    second.publish("s/ut/mine-x", "10,901,POST,EVENT,,hijack,x,")
    assert _unquoted(second.expect("s/e")).startswith("41,mine-x,Template collection mine-x exists already")
    # over REST with its own token: neither change nor delete
    token = second.token()
    assert rest.call("PUT", f"/inventory/managedObjects/{collection_mo}", {"name": "hijacked"},
                     token=token).status == 403
    assert rest.call("DELETE", f"/inventory/managedObjects/{collection_mo}", token=token).status == 403
    assert rest.call("POST", "/inventory/managedObjects", {"name": "mine-x"}, token=token).status == 201
    # the first device's collection is unchanged and still works for it
    first.publish("s/uc/mine-x", "901,,5", qos=1)
    stored = rest.call("GET", f"/inventory/managedObjects/{collection_mo}").json
    assert stored["name"] == "mine-x"
    assert len(stored["com_cumulocity_model_smartrest_csv_CsvSmartRestTemplate"]["requestTemplates"]) == 5
    assert rest.call("GET", f"/measurement/measurements?source={rest.object_id('tpl-owner')}").json["measurements"]
    # a GET template cannot read another device's object
    first.subscribe("s/dc/mine-x")
    second.publish("s/us", "100", qos=1)
    second_mo = rest.object_id("tpl-other")
    first.publish("s/uc/mine-x", f"905,{second_mo}")
    assert _unquoted(first.expect("s/e")).startswith(f"45,905,No managed object '{second_mo}' of this device")
