"""SmartREST isolation and bounds: a device reaches only its own children, one publish is bounded work that never
stalls other devices, and only valid values (finite numbers, printable names) are stored."""

from __future__ import annotations

import queue
import time

import pytest

from embedded_broker.platform.smartrest import SmartRestError, parse_line, translate
from embedded_broker.platform.smartrest_apply import MAX_LINES_PER_PUBLISH, MAX_PAYLOAD_BYTES
from tests.platform.conftest import wait_event
from tests.platform.support import WAIT, Device, Rest


def _mo(rest: Rest, serial: str) -> str | None:
    answer = rest.call("GET", f"/identity/externalIds/c8y_Serial/{serial}")
    return answer.json["managedObject"]["id"] if answer.status == 200 else None


def _records(rest: Rest, kind: str, mo: str) -> list[dict]:
    path = {"measurement": "/measurement/measurements", "event": "/event/events", "alarm": "/alarm/alarms"}[kind]
    return rest.call("GET", f"{path}?source={mo}&pageSize=100").json[kind + "s"]


def _sync(client: Device, topic: str = "s/us") -> str:
    """Publish `123` and wait for `124,<id>`: every earlier line of this connection has been processed.

    The `s/e` lines that arrive meanwhile are kept in `client.errors`.
    """
    client.publish(topic, "123", qos=1)
    while True:
        msg = client.messages.get(timeout=WAIT)
        line = msg.payload.decode()
        if msg.topic == "s/e":
            client.errors.append(line)  # type: ignore[attr-defined]
        elif msg.topic == "s/ds" and line.startswith("124,"):
            return line[4:]


def _connected(device, root, cn: str) -> Device:
    client = device(root.issue(cn))
    assert client.connect() == 0
    client.subscribe("s/e")
    client.subscribe("s/ds")
    client.errors = []  # type: ignore[attr-defined]
    return client


def _errors(client: Device) -> list[str]:
    """The `s/e` lines seen by `_sync` so far, and any already queued."""
    found: list[str] = client.errors  # type: ignore[attr-defined]
    while True:
        try:
            msg = client.messages.get_nowait()
        except queue.Empty:
            return found
        if msg.topic == "s/e":
            found.append(msg.payload.decode())


# --- item 1: children ------------------------------------------------------------------------------------------


def test_a_child_topic_never_reaches_another_device(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    victim = _connected(device, root, "dev3")
    victim_mo = _sync(victim)
    attacker = _connected(device, root, "dev2")
    attacker_mo = _sync(attacker)
    attacker.publish("s/us/dev3", "211,77\n400,c8y_Hack,\"written by dev2\"\n301,c8y_HackAlarm\n114,c8y_Hacked",
                     qos=1)
    child_mo = _sync(attacker, "s/us/dev3")
    assert child_mo not in (victim_mo, attacker_mo)
    assert _mo(rest, "dev2:dev3") == child_mo  # the child's serial: root serial + child id
    assert _mo(rest, "dev3") == victim_mo
    victim_doc = rest.call("GET", f"/inventory/managedObjects/{victim_mo}").json
    assert "c8y_SupportedOperations" not in victim_doc
    for kind in ("measurement", "event", "alarm"):
        assert _records(rest, kind, victim_mo) == [], kind
    child = rest.call("GET", f"/inventory/managedObjects/{child_mo}").json
    assert child["type"] == "c8y_MQTTChildDevice" and child["c8y_SupportedOperations"] == ["c8y_Hacked"]
    assert [m["c8y_TemperatureMeasurement"]["T"]["value"] for m in _records(rest, "measurement", child_mo)] == [77]
    refs = rest.call("GET", f"/inventory/managedObjects/{attacker_mo}").json["childDevices"]["references"]
    assert [r["managedObject"]["id"] for r in refs] == [child_mo]
    assert _errors(attacker) == []


def test_template_101_creates_under_the_publisher_only(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    other = _connected(device, root, "dev-other")
    other_mo = _sync(other)
    parent = _connected(device, root, "dev-parent")
    parent.publish("s/us", "101,dev-other,Sensor\n101,kid,Kid,c8y_Kid\n105", qos=1)
    assert parent.expect("s/ds") == "106,dev-other,kid"  # the child ids, as the device named them
    parent_mo = _sync(parent)
    assert _mo(rest, "dev-other") == other_mo
    sensor = _mo(rest, "dev-parent:dev-other")
    assert sensor not in (None, other_mo)
    assert rest.call("GET", f"/inventory/managedObjects/{sensor}").json["name"] == "Sensor"
    parent.publish("s/us", "101,kid", qos=1)
    assert parent.expect("s/e") == "41,101,Device already existing"
    parent.publish("s/us/kid", "200,c8y_Level,L,3,m", qos=1)
    kid = _sync(parent, "s/us/kid")
    assert kid == _mo(rest, "dev-parent:kid")
    assert len(_records(rest, "measurement", kid)) == 1
    assert _records(rest, "measurement", other_mo) == []
    refs = rest.call("GET", f"/inventory/managedObjects/{parent_mo}").json["childDevices"]["references"]
    assert len(refs) == 2


@pytest.mark.parametrize("topic", ["s/us/", "s/us/a/b", "s/us/bad\u2028id"])
def test_invalid_child_topics_are_refused(local, rest: Rest, root, device, topic: str) -> None:
    rest.upload(root)
    client = _connected(device, root, "dev-badchild")
    client.publish(topic, "211,20", qos=1)
    assert client.expect("s/e").startswith("45,,Invalid child id")
    mo = _sync(client)
    assert rest.call("GET", f"/inventory/managedObjects/{mo}").json.get("childDevices") is None


def test_operations_of_another_device_cannot_be_moved(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    owner = _connected(device, root, "dev-opowner")
    owner_mo = _sync(owner)
    operation = rest.call("POST", "/devicecontrol/operations", {"deviceId": owner_mo, "c8y_Restart": {}}).json
    intruder = _connected(device, root, "dev-opintruder")
    for line in (f"504,{operation['id']}", f"505,{operation['id']},no", f"506,{operation['id']}"):
        intruder.publish("s/us", line, qos=1)
        assert intruder.expect("s/e") == f"45,,No operation {operation['id']} for this device"
    assert rest.call("GET", f"/devicecontrol/operations/{operation['id']}").json["status"] == "PENDING"


# --- item 2: bounded work per publish --------------------------------------------------------------------------


def test_a_big_publish_does_not_stall_other_devices(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    children = 250
    payload = "\n".join([f"101,bulk-{i}" for i in range(children)] + ["105"] * (MAX_LINES_PER_PUBLISH + 50 - children))
    assert len(payload.encode()) <= MAX_PAYLOAD_BYTES
    probe = device(root.issue("dev-probe"))
    assert probe.connect() == 0
    probe.token()  # warm: the first token is signed, later ones are reused
    bulk = device(root.issue("dev-bulk"))
    assert bulk.connect() == 0
    bulk.subscribe("s/e")
    bulk.client.publish("s/us", payload, qos=1)
    wait_event(local, "device_created", lambda e: e["device"] == "dev-bulk:bulk-0")
    round_trips: list[float] = []
    done_after: int | None = None
    while len(round_trips) < 20 or done_after is None:
        start = time.perf_counter()
        probe.publish("s/uat", b"")
        assert probe.expect("s/dat", timeout=WAIT).startswith("71,")
        round_trips.append(time.perf_counter() - start)
        if done_after is None:
            try:
                line = bulk.expect("s/e", timeout=0)
            except queue.Empty:
                continue
            done_after = len(round_trips)
            assert line.startswith("45,105,Too many lines in one publish"), line
        assert len(round_trips) < 5000, "the big publish never finished"
    assert max(round_trips) < 1.0, sorted(round_trips)[-5:]
    bulk_mo = _mo(rest, "dev-bulk")
    refs = rest.call("GET", f"/inventory/managedObjects/{bulk_mo}").json["childDevices"]["references"]
    assert len(refs) == children
    bulk.subscribe("s/ds")
    bulk.publish("s/us", "105", qos=1)
    assert bulk.expect("s/ds") == "106," + ",".join(f"bulk-{i}" for i in range(children))


def test_lines_beyond_the_limit_are_refused_once(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    client = _connected(device, root, "dev-many")
    lines = [f"211,{i}" for i in range(MAX_LINES_PER_PUBLISH + 3)]
    client.publish("s/us", "\n".join(lines), qos=1)
    mo = _sync(client)
    assert _errors(client) == [f"45,211,Too many lines in one publish: at most {MAX_LINES_PER_PUBLISH} are "
                               "processed; this line and the ones after it were ignored"]
    page = rest.call("GET", f"/measurement/measurements?source={mo}&pageSize=1&withTotalPages=true").json
    assert page["statistics"]["totalPages"] == MAX_LINES_PER_PUBLISH


def test_a_payload_over_the_size_limit_is_refused_whole(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    client = _connected(device, root, "dev-huge")
    payload = "211,20\n" + "x" * MAX_PAYLOAD_BYTES
    client.publish("s/us", payload, qos=1)
    assert client.expect("s/e") == (f"45,,Payload too large: {len(payload)} bytes where at most "
                                    f"{MAX_PAYLOAD_BYTES} are processed; nothing was processed")
    mo = _sync(client)
    assert _records(rest, "measurement", mo) == []


# --- item 3: valid stored values -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1e999", "-1e999", "NaN", "nan", "inf", "-Infinity", "1" + "0" * 309,
                                   "0x10", "1_000"])
def test_numbers_beyond_a_double_are_refused(value: str) -> None:
    for line in (f"200,c8y_X,x,{value}", f"201,c8y_X,,c8y_X,x,{value},C", f"210,{value}", f"211,{value}",
                 f"212,{value}", f"112,{value},1", f"401,1,{value}"):
        with pytest.raises(SmartRestError) as info:
            translate(parse_line(line))
        assert info.value.code == 45 and info.value.text == f"Value is not a number: {value}", line


def test_the_largest_double_is_still_a_number() -> None:
    (effect,) = translate(parse_line("200,c8y_X,x,1.7976931348623157e308"))
    assert effect.body["c8y_X"]["x"]["value"] == 1.7976931348623157e308  # type: ignore[attr-defined]
    (effect,) = translate(parse_line("200,c8y_X,x,-" + "9" * 300))
    assert effect.body["c8y_X"]["x"]["value"] == -int("9" * 300)  # type: ignore[attr-defined]


BAD_NAMES = ["a\u2028b", "a\x00b", "\x1b[31mred", "tab\tbed", "zero\u200bwidth", "rtl\u202eltr", "bom\ufeff",
             "del\x7f", "nbsp\xa0"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_names_with_control_characters_are_refused(name: str) -> None:
    for fields in (["200", name, "s", "1"], ["200", "f", name, "1"], ["201", name, "", "f", "s", "1"],
                   ["201", "t", "", name, "s", "1"], ["201", "t", "", "f", name, "1"], ["301", name],
                   ["302", name, "text"], ["303", name], ["304", name], ["305", name, "MAJOR"], ["306", name],
                   ["307", "t", name], ["400", name, "text"], ["107", name], ["114", "c8y_Restart", name],
                   ["118", name], ["119", name], ["101", name], ["101", "kid", "Kid", name], ["100", "Dev", name],
                   ["501", name], ["502", name], ["503", name], ["507", name]):
        with pytest.raises(SmartRestError) as info:
            translate(fields)
        assert info.value.code == 45 and info.value.text.startswith("Invalid "), fields
        assert "unprintable character U+" in info.value.text


def test_free_text_may_hold_any_character() -> None:
    (event,) = translate(["400", "c8y_Note", "line one\nline two \u2028 \x1b"])
    assert event.text == "line one\nline two \u2028 \x1b"  # type: ignore[attr-defined]
    assert translate(["200", "c8y_Temp\u00e9rature", "T \u2103", "20", "\u00b0C"])


def test_refused_values_are_not_stored(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    client = _connected(device, root, "dev-values")
    client.publish("s/us", "200,c8y_X,x,1e999\n211,NaN\n211,inf\n400,c8y_\u2028Evil,text\n301,bad\x1btype\n"
                           "200,c8y_Ok,x,1.5", qos=1)
    mo = _sync(client)
    errors = _errors(client)
    assert [e.split(",", 2)[:2] for e in errors] == [["45", "200"], ["45", "211"], ["45", "211"], ["45", "400"],
                                                     ["45", "301"]]
    assert [m["type"] for m in _records(rest, "measurement", mo)] == ["c8y_Ok"]
    assert _records(rest, "event", mo) == [] and _records(rest, "alarm", mo) == []
