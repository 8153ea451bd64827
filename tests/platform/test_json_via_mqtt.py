"""JSON via MQTT on the local platform, driven by paho and urllib only: create, createBulk, update and delete with the
`t/`, `q/`, `c/` prefixes, every error on `error` as `{"error", "message", "messageId"}`, operations on
`devicecontrol/notifications`, and another device's data out of reach.
"""

from __future__ import annotations

import json
import queue

import pytest

from tests.platform.support import Rest


@pytest.fixture
def certified(certified_device):
    """Factory: a connected certificate device subscribed to `error` and the given topics."""
    return lambda cn, *topics: certified_device(cn, "error", *topics)


def _sync(dev) -> None:
    """A round trip on `s/us` (123 → 124): every publish before it has been applied."""
    dev.subscribe("s/ds")
    dev.publish("s/us", "123", qos=1)
    dev.expect("s/ds")


def test_create_bulk_update_and_delete_reach_rest(certified, rest: Rest) -> None:
    dev = certified("json-dev")
    dev.publish("measurement/measurements/create", json.dumps({
        "type": "c8y_TemperatureMeasurement", "time": "2024-01-01T00:00:00.000Z", "source": {"id": "999999"},
        "c8y_TemperatureMeasurement": {"T": {"value": 20, "unit": "C"}}}), qos=1)
    dev.publish("t/event/events/createBulk", json.dumps({"events": [
        {"type": "TestEvent1", "text": "one"}, {"type": "TestEvent2", "text": "two"}]}), qos=1)
    dev.publish("q/alarm/alarms/create", json.dumps({"type": "c8y_Hot", "text": "hot", "severity": "MAJOR"}), qos=1)
    dev.publish("c/inventory/managedObjects/create", json.dumps({"name": "sensor-a", "c8y_Sensor": {}}), qos=1)
    _sync(dev)
    own = rest.object_id("json-dev")
    measurement = rest.call("GET", f"/measurement/measurements?source={own}").json["measurements"][0]
    assert measurement["source"]["id"] == own  # the device, whatever the payload said
    events = rest.call("GET", f"/event/events?source={own}").json["events"]
    assert sorted(e["type"] for e in events) == ["TestEvent1", "TestEvent2"]
    alarm = rest.call("GET", f"/alarm/alarms?source={own}").json["alarms"][0]
    created = rest.call("GET", "/inventory/managedObjects?fragmentType=c8y_Sensor").json["managedObjects"][0]
    assert created["owner"] == "device_json-dev"
    dev.publish(f"event/events/update/{events[0]['id']}", json.dumps({"text": "changed"}), qos=1)
    dev.publish(f"alarm/alarms/update/{alarm['id']}", json.dumps({"status": "CLEARED"}), qos=1)
    dev.publish(f"inventory/managedObjects/update/{created['id']}", json.dumps({"c8y_Hardware": {"model": "x"}}),
                qos=1)
    dev.publish(f"inventory/managedObjects/update/{own}", json.dumps({"name": "renamed"}), qos=1)
    dev.publish(f"measurement/measurements/delete/{measurement['id']}", b"", qos=1)
    _sync(dev)
    assert rest.call("GET", f"/event/events/{events[0]['id']}").json["text"] == "changed"
    assert rest.call("GET", f"/alarm/alarms/{alarm['id']}").json["status"] == "CLEARED"
    assert rest.call("GET", f"/inventory/managedObjects/{created['id']}").json["c8y_Hardware"] == {"model": "x"}
    assert rest.call("GET", f"/inventory/managedObjects/{own}").json["name"] == "renamed"
    assert rest.call("GET", f"/measurement/measurements/{measurement['id']}").status == 404
    with pytest.raises(queue.Empty):  # nothing went wrong, so nothing came on `error`
        dev.expect("error", timeout=0.2)


@pytest.mark.parametrize(("topic", "payload", "error", "message"), [
    ("measurement/measurements/create", b"{not json", "undefined/validationError", "The payload is not valid JSON"),
    ("measurement/measurements/create", b"[1]", "undefined/validationError", "The payload must be a JSON object"),
    ("measurement/measurements/create", b"\xff", "undefined/validationError", "The payload is not UTF-8 JSON"),
    ("measurement/measurements/create", b"[" * 40 + b"]" * 40, "undefined/validationError", "The JSON nests deeper"),
    ("measurement/measurements/create", b'{"type": "x", "v": 1e999}', "undefined/validationError",
     "The payload is not valid JSON: the number 1e999 is out of range"),
    ("measurement/measurements/create", b'{"time": "x"}', "measurements/Unprocessable Entity", "type is required"),
    ("event/events/create", b'{"type": "x"}', "events/Unprocessable Entity", "text is required"),
    ("alarm/alarms/create", b'{"type": "x", "text": "t", "severity": "HUGE"}', "alarms/Unprocessable Entity",
     "severity must be one of"),
    ("measurement/measurements/update/1", b"{}", "undefined/validationError",
     "Topic measurement/measurements/update/1 is not supported"),
    ("alarm/alarms/delete/1", b"", "undefined/validationError", "Topic alarm/alarms/delete/1 is not supported"),
    ("event/events/update", b"{}", "undefined/validationError", "Topic event/events/update is not supported"),
    ("event/events/createBulk", b'{"events": []}', "undefined/validationError", "createBulk needs"),
    ("event/events/delete/123456", b"", "events/Not Found", "No event '123456' of this device"),
    ("inventory/managedObjects/update/abc", b"{}", "inventory/Not Found", "No managed object 'abc'"),
    ("measurement/measurements/create", b"{" + b" " * 17000 + b"}", "undefined/validationError",
     "Payload too large"),
])
def test_every_error_goes_to_the_error_topic(certified, topic: str, payload: bytes, error: str,
                                             message: str) -> None:
    dev = certified("json-err")
    dev.publish(topic, payload)
    answer = json.loads(dev.expect("error"))
    assert answer["error"] == error
    assert answer["message"].startswith(message)
    assert set(answer) == {"error", "message", "messageId"}


def test_a_bulk_keeps_the_good_items_and_reports_the_bad_one(certified, rest: Rest) -> None:
    dev = certified("json-bulk")
    dev.publish("event/events/createBulk", json.dumps({"events": [
        {"type": "Good", "text": "1"}, {"type": "Bad"}, {"type": "Good", "text": "2"}]}), qos=1)
    assert json.loads(dev.expect("error"))["message"] == "text is required."
    _sync(dev)
    assert len(rest.call("GET", f"/event/events?source={rest.object_id('json-bulk')}").json["events"]) == 2


def test_another_devices_data_is_out_of_reach(certified, rest: Rest) -> None:
    owner = certified("json-owner")
    owner.publish("event/events/create", json.dumps({"type": "Mine", "text": "mine"}), qos=1)
    _sync(owner)
    own = rest.object_id("json-owner")
    event = rest.call("GET", f"/event/events?source={own}").json["events"][0]
    other = certified("json-other")
    for topic, payload in ((f"event/events/update/{event['id']}", b'{"text": "hijacked"}'),
                           (f"event/events/delete/{event['id']}", b""),
                           (f"inventory/managedObjects/update/{own}", b'{"name": "hijacked"}')):
        other.publish(topic, payload)
        assert json.loads(other.expect("error"))["error"].endswith("/Not Found")
    assert rest.call("GET", f"/event/events/{event['id']}").json["text"] == "mine"
    assert rest.call("GET", f"/inventory/managedObjects/{own}").json["name"] == "MQTT Device json-owner"


def test_operations_arrive_as_json_on_devicecontrol_notifications(certified, rest: Rest) -> None:
    """A8: the subscription plus one JSON publish opens the gate; the operation carries its externalSource."""
    dev = certified("json-ops", "devicecontrol/notifications")
    dev.publish("event/events/create", json.dumps({"type": "Hello", "text": "hi"}), qos=1)
    _sync(dev)
    mo = rest.object_id("json-ops")
    rest.call("POST", "/devicecontrol/operations", {"deviceId": mo, "c8y_Command": {"text": "ls"}})
    notification = json.loads(dev.expect("devicecontrol/notifications"))
    assert notification["c8y_Command"] == {"text": "ls"}
    assert notification["externalSource"] == {"externalId": "json-ops", "type": "c8y_Serial"}
    assert notification["status"] == "PENDING"
