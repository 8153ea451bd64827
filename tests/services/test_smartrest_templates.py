"""SmartREST 2.0 template collections through `services/smartrest_templates.py` against the real local platform: a
collection imported from the cloud's JSON export is pushed over REST and pulled back, one made over MQTT (`s/ut`) reads
back the same, and the live check's JSON is what the platform stores when a paho device sends the same lines."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from embedded_broker.local_platform import BackgroundLocalPlatform, PlatformSettings
from tests.platform.support import Device, Rest, make_ca
from workbench.core.tls import server_context, trust_from_pem
from workbench.errors import InvalidInputError, PlatformRequestError
from workbench.services import smartrest_templates as st
from workbench.services.platform_http import PlatformCredentials, PlatformHttp

LINES = "\n".join([
    "10,901,POST,MEASUREMENT,,c8y_Steam,,c8y_Steam.T.value,NUMBER,,c8y_Steam.T.unit,STRING,C",
    "10,902,POST,EVENT,,c8y_DoorEvent,,,c8y_Door.state,STRING,",
    "10,903,POST,ALARM,,c8y_Overheat,Too hot,ACTIVE,,",
    "10,904,PUT,OPERATION,,c8y_Valve,status,OPERATIONSTATUS,,c8y_Valve.result,STRING,",
    "10,905,GET,INVENTORY,,true",
    "11,801,c8y_Valve,c8y_Valve,position,speed",
])

# The shape of the cloud's export of a collection (Device management → SmartREST templates → Export).
EXPORT = {
    "name": "steam-x", "type": "c8y_SmartRest2Template", "__externalId": "steam-x",
    "com_cumulocity_model_smartrest_csv_CsvSmartRestTemplate": {
        "requestTemplates": [
            {"msgId": "901", "name": "steam", "method": "POST", "api": "MEASUREMENT", "response": False,
             "mandatoryValues": ["c8y_Steam", ""],
             "customValues": [{"path": "c8y_Steam.T.value", "type": "NUMBER", "value": ""},
                              {"path": "c8y_Steam.T.unit", "type": "STRING", "value": "C"}]},
            {"msgId": "902", "name": "door", "method": "POST", "api": "EVENT", "response": False,
             "mandatoryValues": ["c8y_DoorEvent", "", ""],
             "customValues": [{"path": "c8y_Door.state", "type": "STRING", "value": ""}]},
            {"msgId": "903", "name": "overheat", "method": "POST", "api": "ALARM", "response": False,
             "mandatoryValues": ["c8y_Overheat", "Too hot", "ACTIVE", "", ""], "customValues": []}],
        "responseTemplates": [{"msgId": "801", "name": "valve", "base": "c8y_Valve", "condition": "c8y_Valve",
                               "pattern": ["position", "speed"]}]}}


@pytest.fixture
def platform() -> Iterator[BackgroundLocalPlatform]:
    background = BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0,
                                                          sys_interval=0)).start()
    yield background
    background.stop()


def _ca(platform: BackgroundLocalPlatform) -> Path:
    assert platform.local is not None and platform.local.server_ca_path is not None
    return platform.local.server_ca_path


def _rest(platform: BackgroundLocalPlatform) -> Rest:
    assert platform.local is not None and platform.local.admin_password is not None
    return Rest(platform.ports["https"], _ca(platform), "t100/admin", platform.local.admin_password)


def _http(platform: BackgroundLocalPlatform) -> PlatformHttp:
    assert platform.local is not None and platform.local.admin_password is not None
    return PlatformHttp(f"https://localhost:{platform.ports['https']}",
                        PlatformCredentials("admin", platform.local.admin_password, "t100"),
                        trust=server_context(trust_from_pem(_ca(platform).read_bytes())))


def _run(platform: BackgroundLocalPlatform, work: Any) -> Any:
    async def go() -> Any:
        async with _http(platform) as http:
            return await work(http)

    return asyncio.run(go())


def _device(platform: BackgroundLocalPlatform, rest: Rest, tmp_path: Path, cn: str) -> Device:
    root = make_ca()
    assert rest.upload(root).status == 201
    files = root.issue(cn).write(tmp_path, cn)
    device = Device(platform.ports["mqtts"], _ca(platform), f"d:{cn}", files)
    assert device.connect() == 0
    for topic in ("s/e", "s/dt", "s/ds"):
        device.subscribe(topic)
    return device


def _stored(record: dict[str, Any]) -> dict[str, Any]:
    """What a line put into a record, without what the platform adds (ids, links, creation time, source)."""
    return {k: v for k, v in record.items() if k not in ("id", "self", "creationTime", "lastUpdated", "source",
                                                          "count", "history", "firstOccurrenceTime")}


def test_export_pushed_over_rest_serves_a_device_exactly_as_the_live_check_says(
        platform: BackgroundLocalPlatform, tmp_path: Path) -> None:
    rest = _rest(platform)
    collection = st.load_collection(json.dumps(EXPORT), source="the export")
    assert collection.xid == "steam-x" and list(collection.requests) == ["901", "902", "903"]
    pushed = _run(platform, lambda http: st.push(http, collection))
    assert pushed.created and pushed.managed_object
    device = _device(platform, rest, tmp_path, "tpl-svc-1")
    try:
        lines = "901,2024-05-01T10:00:00.000Z,98.5\n902,Door opened,2024-05-01T10:00:01.000Z,open\n" \
                "903,major,2024-05-01T10:00:02.000Z"
        checks = st.check_lines(collection, lines)
        assert [c.kind for c in checks] == ["measurement", "event", "alarm"] and all(c.ok for c in checks)
        device.publish("s/uc/steam-x", lines, qos=1)
        device.publish("s/us", "123", qos=1)  # a round trip: the lines before it are stored
        own = device.expect("s/ds").split(",")[1]
    finally:
        device.close()
    measurement = rest.call("GET", f"/measurement/measurements?source={own}").json["measurements"][0]
    event = rest.call("GET", f"/event/events?source={own}").json["events"][0]
    alarm = rest.call("GET", f"/alarm/alarms?source={own}").json["alarms"][0]
    for check, record in zip(checks, (measurement, event, alarm), strict=True):
        assert check.document is not None
        expected = {k: v for k, v in check.document.items() if k != "source"}
        got = _stored(record)
        assert {k: got.get(k) for k in expected if k != "time"} == {k: v for k, v in expected.items() if k != "time"}
        assert got["time"].startswith(expected["time"][:19])

    pulled = _run(platform, lambda http: st.pull(http, "steam-x"))
    assert pulled == collection
    with pytest.raises(PlatformRequestError, match="exists already"):
        _run(platform, lambda http: st.push(http, collection))
    changed = st.load_collection(LINES, "steam-x")
    replaced = _run(platform, lambda http: st.push(http, changed, replace=True))
    assert (replaced.created, replaced.managed_object) == (False, pushed.managed_object)
    assert _run(platform, lambda http: st.pull(http, "steam-x")) == changed
    with pytest.raises(PlatformRequestError, match="No template collection nope-x"):
        _run(platform, lambda http: st.pull(http, "nope-x"))


def test_a_collection_created_over_mqtt_pulls_back_the_same(platform: BackgroundLocalPlatform,
                                                             tmp_path: Path) -> None:
    rest = _rest(platform)
    collection = st.load_collection(LINES, "mqtt-x")
    topic, payload = st.creation_payload(collection)
    assert topic == "s/ut/mqtt-x"
    device = _device(platform, rest, tmp_path, "tpl-svc-2")
    try:
        device.publish(topic, payload, qos=1)
        answer = device.expect("s/dt")
    finally:
        device.close()
    assert answer.startswith("20,mqtt-x,")
    assert st.status_line(answer).startswith("template collection mqtt-x exists (managed object")
    assert _run(platform, lambda http: st.pull(http, "mqtt-x")) == collection


def test_imports_and_their_refusals() -> None:
    fragment = EXPORT["com_cumulocity_model_smartrest_csv_CsvSmartRestTemplate"]
    assert st.load_collection(json.dumps(fragment), "frag-x").requests.keys() == {"901", "902", "903"}
    two = [EXPORT, {**EXPORT, "__externalId": "other-x", "name": "other-x"}]
    assert st.load_collection(json.dumps(two), "other-x").xid == "other-x"
    with pytest.raises(InvalidInputError, match="2 matching template collections") as caught:
        st.load_collection(json.dumps(two))
    assert "other-x, steam-x" in " ".join(caught.value.causes)
    assert st.load_collection(json.dumps(st.export_document(st.load_collection(LINES, "rt-x")))) == \
        st.load_collection(LINES, "rt-x")
    with pytest.raises(InvalidInputError, match="need an X-ID"):
        st.load_collection(LINES)
    with pytest.raises(InvalidInputError, match="cannot be used") as caught:
        st.load_collection(LINES + "\n10,906,DELETE,MEASUREMENT", "bad-x")
    assert "line 7" in caught.value.causes[0] and "(SmartREST error 41)" in caught.value.causes[0]
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        st.load_collection("{nope")
    with pytest.raises(InvalidInputError, match="holds no template collection"):
        st.load_collection('{"name": "x"}')


def test_live_check_and_decoding_say_what_the_platform_answers() -> None:
    collection = st.load_collection(LINES, "live-x")
    checks = st.check_lines(collection, '901,,abc\n999,1\n905,12\n901,"open', now_iso="2024-01-01T00:00:00.000Z")
    assert [c.error_line for c in checks] == ['45,901,Value is not a number: \'abc\'', "40,999,No template 999 in "
                                              "collection live-x", "", "42,901,Malformed line: unterminated quote"]
    assert "reads managed object 12" in checks[2].note and "s/dc/live-x" in checks[2].note
    assert st.request_fields(collection.requests["901"]) == ["time (optional)", "c8y_Steam.T.value"]
    known = {"live-x": collection}
    assert st.decode_lines(known, "s/dc/live-x", "801,dev-1,40,slow\n777,x") == [
        "801 c8y_Valve: device=dev-1, position=40, speed=slow", "777,x  (no response template for it)"]
    up = st.decode_lines(known, "s/uc/live-x", "901,2024-01-01T00:00:00.000Z,20")
    assert up is not None and up[0].startswith("✓ 901 → POST MEASUREMENT") and '"value":20' in up[0]
    assert st.decode_lines(known, "s/dc/other-x", "801,1") is None
    assert st.decode_lines(known, "s/us", "211,20") is None
