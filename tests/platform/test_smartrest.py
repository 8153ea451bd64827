"""SmartREST 2.0 static templates: line syntax, every upstream template's effects, and the platform's error codes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from embedded_broker.platform import smartrest_templates
from embedded_broker.platform.smartrest import (
    DOWNSTREAM_IDS,
    TEMPLATE_IDS,
    CreateAlarm,
    CreateChild,
    CreateDevice,
    CreateEvent,
    CreateMeasurement,
    OperationUpdate,
    Query,
    RemoveFragments,
    SmartRestError,
    SmartRestSyntaxError,
    UpdateAlarm,
    UpdateDevice,
    encode_line,
    parse_line,
    split_lines,
    translate,
    translate_payload,
)


def effects(line: str, now_iso: str | None = None) -> list[object]:
    return translate(parse_line(line), now_iso)


def error(line: str) -> SmartRestError:
    with pytest.raises(SmartRestError) as info:
        effects(line)
    return info.value


# --- parse_line ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "fields"),
    [
        ("100", ["100"]),
        ("", [""]),
        ("100,", ["100", ""]),
        ("100,,myType", ["100", "", "myType"]),
        ("400,t, spaced text ,x", ["400", "t", " spaced text ", "x"]),
        ('400,t,"a, b"', ["400", "t", "a, b"]),
        ('400,t," keep "', ["400", "t", " keep "]),
        ('400,t,"say \\"hi\\""', ["400", "t", 'say "hi"']),
        ('400,t,"back\\\\slash"', ["400", "t", "back\\slash"]),
        ('400,t,"C:\\dir"', ["400", "t", "C:\\dir"]),
        ('400,t,a"b', ["400", "t", 'a"b']),
        ('400,t, "x"', ["400", "t", ' "x"']),
        ('"100"', ["100"]),
        ('400,"",x', ["400", "", "x"]),
        ('400,t,"line1\nline2"', ["400", "t", "line1\nline2"]),
        ('400,t,"a\\"', None),
        ("100,a\r", ["100", "a"]),
        ('400,t,"x\r"', ["400", "t", "x\r"]),
        ("400,t,C:\\dir", ["400", "t", "C:\\dir"]),
    ],
)
def test_parse_line(line: str, fields: list[str] | None) -> None:
    if fields is None:
        with pytest.raises(SmartRestSyntaxError):
            parse_line(line)
    else:
        assert parse_line(line) == fields


@pytest.mark.parametrize(
    ("line", "template"),
    [('400,"unterminated', "400"), ('"100', ""), ('400,"a"b,c', "400"), ('"10"0', "10"), ('400,"a\\",b', "400")],
)
def test_parse_line_malformed(line: str, template: str) -> None:
    with pytest.raises(SmartRestSyntaxError, match=r"^Malformed line") as info:
        parse_line(line)
    assert info.value.template == template
    assert isinstance(info.value, ValueError)


# --- split_lines ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "lines"),
    [
        ("100", ["100"]),
        ("", []),
        ("\n\n", []),
        ("100\n200,a,b,1", ["100", "200,a,b,1"]),
        ("100\r\n\r\n200,a,b,1\r\n", ["100", "200,a,b,1"]),
        ('400,t,"two\nlines"\n100', ['400,t,"two\nlines"', "100"]),
        ('400,t,"q\\"\n"\n100', ['400,t,"q\\"\n"', "100"]),
        ('400,t,"\\\\"\n100', ['400,t,"\\\\"', "100"]),
        ('400,t,a"b\n100', ['400,t,a"b', "100"]),
        ('400,"open\n100', ['400,"open\n100']),
        ('400,t,"crlf\r\nin quotes"\r\n', ['400,t,"crlf\r\nin quotes"']),
    ],
)
def test_split_lines(payload: str, lines: list[str]) -> None:
    assert split_lines(payload) == lines


# --- encode_line ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        (["510", "device", "ls -la"], "510,device,ls -la"),
        (["511", "device", "a,b"], '511,device,"a,b"'),
        (["511", 'say "hi"'], '511,"say \\"hi\\""'),
        (["511", " lead"], '511," lead"'),
        (["511", "trail "], '511,"trail "'),
        (["511", "tab\there"], '511,"tab\there"'),
        (["511", "two\nlines"], '511,"two\nlines"'),
        (["511", "cr\r"], '511,"cr\r"'),
        (["511", "C:\\dir"], "511,C:\\dir"),
        (["511", "C:\\dir, too"], '511,"C:\\\\dir, too"'),
        (["511", ""], "511,"),
        ([], ""),
    ],
)
def test_encode_line(fields: list[str], line: str) -> None:
    assert encode_line(fields) == line


def test_encode_accepts_any_iterable() -> None:
    assert encode_line(str(i) for i in range(3)) == "0,1,2"


@given(st.lists(st.text(), min_size=1))
def test_encode_parse_round_trip(fields: list[str]) -> None:
    assert parse_line(encode_line(fields)) == fields


@given(st.lists(st.lists(st.text(), min_size=1).filter(lambda f: encode_line(f) != ""), max_size=5))
def test_payload_round_trip(lines: list[list[str]]) -> None:
    payload = "\r\n".join(encode_line(fields) for fields in lines)
    assert [parse_line(line) for line in split_lines(payload)] == lines


# --- errors --------------------------------------------------------------------------------------------------------


def test_error_line_is_quoted() -> None:
    exc = SmartRestError(45, "200", "Value is not a number: 1,5")
    assert exc.line() == '45,200,"Value is not a number: 1,5"'
    assert str(exc) == "45,200,Value is not a number: 1,5"
    assert parse_line(exc.line()) == ["45", "200", "Value is not a number: 1,5"]


@pytest.mark.parametrize("template", ["999", "0100", "106", "124", "510", "601", "116"])
def test_unknown_template(template: str) -> None:
    exc = error(f"{template},x")
    assert (exc.code, exc.template, exc.text) == (40, template, f"Unknown template {template}")
    assert exc.line() == f"40,{template},Unknown template {template}"


@pytest.mark.parametrize(("line", "template"), [("", ""), (",a", ""), ("abc,1", "abc"), ("1.0", "1.0"), ("-1", "-1")])
def test_malformed_template_id(line: str, template: str) -> None:
    exc = error(line)
    assert (exc.code, exc.template) == (42, template)
    assert exc.text.startswith("Malformed line")


def test_translate_without_fields_is_malformed() -> None:
    with pytest.raises(SmartRestError) as info:
        translate([])
    assert info.value.code == 42


def test_unicode_digits_are_not_a_template_id() -> None:
    assert error("١٠٠").code == 42


@pytest.mark.parametrize(
    "line",
    [
        "100,a,b,c",
        "101",
        "101,,name",
        "105,x",
        "107",
        "107,,",
        "111",
        "112,1",
        "113",
        "115,name",
        "117",
        "117,1,2",
        "122,name,version",
        "122,name",
        "122,a,b,c,d,e",
        "125,x",
        "200,frag,series",
        "200,frag,,1",
        "200,f,s,1,u,t,extra",
        "201,type",
        "201,type,time",
        "201,type,,f",
        "201,type,,f,s",
        "201,type,,f,s,1,u,f2",
        "201,,,f,s,1,u",
        "210",
        "210,,",
        "211",
        "212",
        "301",
        "301,t,text,time,extra",
        "305,t",
        "306",
        "307,t",
        "400,t",
        "400,,text",
        "401,1",
        "402",
        "501",
        "502",
        "504",
        "506",
        "507,f,r,x",
        "600,1",
    ],
)
def test_wrong_number_of_arguments(line: str) -> None:
    exc = error(line)
    assert (exc.code, exc.template) == (45, line.split(",")[0])
    assert exc.text.startswith("Wrong number of arguments")


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("200,f,s,abc", "abc"),
        ("200,f,s, 25", " 25"),
        ("200,f,s,nan", "nan"),
        ("200,f,s,inf", "inf"),
        ("200,f,s,1e999", "1e999"),
        ("200,f,s,0x10", "0x10"),
        ("200,f,s,1_000", "1_000"),
        ("200,f,s,1,5", None),  # five arguments: fine, "5" is the unit
        ("201,t,,f,s,1,u,f,s2,x", "x"),
        ("210,strong", "strong"),
        ("210,-80,bad", "bad"),
        ("211,hot", "hot"),
        ("212,full", "full"),
        ("112,north,1", "north"),
        ("112,1,east", "east"),
        ("112,1,2,high", "high"),
        ("112,1,2,3,good", "good"),
        ("401,1,2,3,good", "good"),
        ("117,ten", "ten"),
        ("117,2.5", "2.5"),
        ("200,f,s," + "9" * 5000, "9" * 5000),
    ],
)
def test_value_is_not_a_number(line: str, value: str | None) -> None:
    if value is None:
        assert effects(line)
        return
    exc = error(line)
    assert (exc.code, exc.template, exc.text) == (45, line.split(",")[0], f"Value is not a number: {value}")


def test_invalid_severity() -> None:
    exc = error("305,t,SEVERE")
    assert (exc.code, exc.template, exc.text) == (45, "305", "Invalid severity: SEVERE")


@pytest.mark.parametrize("fragment", ["type", "time", "source", "id"])
def test_measurement_fragment_may_not_overwrite_body_keys(fragment: str) -> None:
    assert error(f"200,{fragment},s,1").code == 45
    assert error(f"201,t,,ok,s,1,,{fragment},s,2").code == 45


# --- inventory -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("line", ["100", "100,", "100,,", ',"100",,'[1:]])
def test_create_device_defaults(line: str) -> None:
    assert effects(line) == [CreateDevice(None, None)]


def test_create_device() -> None:
    assert effects("100,,myType") == effects("100,,myType,") == [CreateDevice(None, "myType")]
    assert effects("100,My Device") == [CreateDevice("My Device", None)]
    assert effects('100,"Device, the first",c8y_Thing') == [CreateDevice("Device, the first", "c8y_Thing")]


def test_create_child() -> None:
    assert effects("101,child1") == [CreateChild("child1", None, None)]
    assert effects("101,child1,Sensor,c8y_Sensor") == [CreateChild("child1", "Sensor", "c8y_Sensor")]
    assert effects("101,child1,,c8y_Sensor") == [CreateChild("child1", None, "c8y_Sensor")]


def test_hardware() -> None:
    assert effects("110,SN1,Pi,1.0") == [
        UpdateDevice({"c8y_Hardware": {"serialNumber": "SN1", "model": "Pi", "revision": "1.0"}})
    ]
    assert effects("110,,Pi") == [UpdateDevice({"c8y_Hardware": {"model": "Pi"}})]
    assert effects("110") == [UpdateDevice({"c8y_Hardware": {}})]


def test_mobile() -> None:
    line = "111,1234567890,8944,262,262,01,4711,42"
    keys = ("imei", "iccid", "imsi", "mcc", "mnc", "lac", "cellId")
    assert effects(line) == [UpdateDevice({"c8y_Mobile": dict(zip(keys, line.split(",")[1:], strict=True))})]
    assert effects("111,1234567890") == [UpdateDevice({"c8y_Mobile": {"imei": "1234567890"}})]
    assert effects("111,123,,imsi") == [UpdateDevice({"c8y_Mobile": {"imei": "123", "imsi": "imsi"}})]
    assert error("111,1,2,3,4,5,6,7,8").code == 45


def test_position() -> None:
    assert effects("112,51.2,6.7") == [UpdateDevice({"c8y_Position": {"lat": 51.2, "lng": 6.7}})]
    assert effects("112,51.2,6.7,100,5") == [
        UpdateDevice({"c8y_Position": {"lat": 51.2, "lng": 6.7, "alt": 100, "accuracy": 5}})
    ]
    assert effects("112,-1,2,,3.5") == [UpdateDevice({"c8y_Position": {"lat": -1, "lng": 2, "accuracy": 3.5}})]
    assert error("112,1,2,3,4,5").code == 45


def test_configuration() -> None:
    assert effects('113,"a=1\nb=2"') == [UpdateDevice({"c8y_Configuration": {"config": "a=1\nb=2"}})]
    assert error("113,a,b").code == 45


@pytest.mark.parametrize(
    ("template", "fragment"),
    [("114", "c8y_SupportedOperations"), ("118", "c8y_SupportedLogs"), ("119", "c8y_SupportedConfigurations")],
)
def test_supported_lists(template: str, fragment: str) -> None:
    assert effects(f"{template},a,b,c") == [UpdateDevice({fragment: ["a", "b", "c"]})]
    assert effects(f"{template},a,,b,") == [UpdateDevice({fragment: ["a", "b"]})]
    assert effects(template) == [UpdateDevice({fragment: []})]


def test_firmware() -> None:
    assert effects("115,fw,1.0") == [UpdateDevice({"c8y_Firmware": {"name": "fw", "version": "1.0"}})]
    assert effects("115,fw,1.0,http://x/fw.bin") == [
        UpdateDevice({"c8y_Firmware": {"name": "fw", "version": "1.0", "url": "http://x/fw.bin"}})
    ]
    assert error("115,fw,1.0,url,more").code == 45


def test_required_availability() -> None:
    [effect] = effects("117,10")
    assert effect == UpdateDevice({"c8y_RequiredAvailability": {"responseInterval": 10}}, only_if_missing=True)
    assert isinstance(effect.fragments["c8y_RequiredAvailability"]["responseInterval"], int)


def test_agent() -> None:
    agent = {"name": "tedge", "version": "1.0", "url": "https://x", "maintainer": "me"}
    assert effects("122,tedge,1.0,https://x,me") == [UpdateDevice({"c8y_Agent": agent})]
    without_url = [UpdateDevice({"c8y_Agent": {"name": "tedge", "version": "1.0", "maintainer": "me"}})]
    assert effects("122,tedge,1.0,me") == effects("122,tedge,1.0,,me") == effects("122,tedge,1.0,me,") == without_url
    assert error("122,,1.0,me").text == "Wrong number of arguments: name is missing"
    assert error("122,tedge,,me").text == "Wrong number of arguments: version is missing"


def test_heartbeat_and_remove_fragments() -> None:
    assert effects("125") == [UpdateDevice({})]
    assert effects("107,c8y_Position,c8y_Mobile") == [RemoveFragments(("c8y_Position", "c8y_Mobile"))]
    assert effects("107,,c8y_Position") == [RemoveFragments(("c8y_Position",))]


@pytest.mark.parametrize(
    ("template", "kind"),
    [("105", "children"), ("123", "own_id"), ("500", "pending_operations"), ("600", "version"), ("602", "templates")],
)
def test_queries(template: str, kind: str) -> None:
    assert effects(template) == effects(f"{template},") == [Query(kind)]


# --- measurements --------------------------------------------------------------------------------------------------


def test_measurement() -> None:
    [effect] = effects("200,c8y_Temperature,T,25")
    assert effect == CreateMeasurement(
        {"type": "c8y_Temperature", "time": None, "c8y_Temperature": {"T": {"value": 25}}}
    )
    assert isinstance(effect.body["c8y_Temperature"]["T"]["value"], int)
    assert effects("200,c8y_Temperature,T,25.5,C,2024-01-02T03:04:05Z") == [
        CreateMeasurement(
            {
                "type": "c8y_Temperature",
                "time": "2024-01-02T03:04:05Z",
                "c8y_Temperature": {"T": {"value": 25.5, "unit": "C"}},
            }
        )
    ]


@pytest.mark.parametrize(
    ("text", "value"),
    [("25", 25), ("-3", -3), ("+7", 7), ("25.0", 25.0), ("1e3", 1000.0), ("-.5", -0.5), ("3.", 3.0), ("1E-2", 0.01)],
)
def test_measurement_numbers(text: str, value: float) -> None:
    [effect] = effects(f"200,f,s,{text}")
    got = effect.body["f"]["s"]["value"]
    assert got == value
    assert type(got) is type(value)


def test_measurement_time_defaults_to_now() -> None:
    [effect] = effects("200,f,s,1", now_iso="2024-05-06T07:08:09.000Z")
    assert effect.body["time"] == "2024-05-06T07:08:09.000Z"
    [effect] = effects("200,f,s,1,,given", now_iso="2024-05-06T07:08:09.000Z")
    assert effect.body["time"] == "given"


def test_measurement_multi_series() -> None:
    assert effects("201,KamstrupA220,,c8y_Power,L1,10,W,c8y_Power,L2,20.5,,c8y_Energy,total,3,kWh") == [
        CreateMeasurement(
            {
                "type": "KamstrupA220",
                "time": None,
                "c8y_Power": {"L1": {"value": 10, "unit": "W"}, "L2": {"value": 20.5}},
                "c8y_Energy": {"total": {"value": 3, "unit": "kWh"}},
            }
        )
    ]
    assert effects("201,t,2024-01-01T00:00:00Z,f,s,1") == [
        CreateMeasurement({"type": "t", "time": "2024-01-01T00:00:00Z", "f": {"s": {"value": 1}}})
    ]
    assert effects("201,t,,f,s,1,,") == effects("201,t,,f,s,1")


def test_signal_strength() -> None:
    assert effects("210,-90,23,2024-01-01T00:00:00Z") == [
        CreateMeasurement(
            {
                "type": "c8y_SignalStrength",
                "time": "2024-01-01T00:00:00Z",
                "c8y_SignalStrength": {"rssi": {"value": -90, "unit": "dBm"}, "ber": {"value": 23, "unit": "%"}},
            }
        )
    ]
    [only_ber] = effects("210,,5")
    assert only_ber.body["c8y_SignalStrength"] == {"ber": {"value": 5, "unit": "%"}}
    [only_rssi] = effects("210,-70")
    assert only_rssi.body["c8y_SignalStrength"] == {"rssi": {"value": -70, "unit": "dBm"}}


def test_temperature_and_battery() -> None:
    assert effects("211,21.5") == [
        CreateMeasurement(
            {
                "type": "c8y_TemperatureMeasurement",
                "time": None,
                "c8y_TemperatureMeasurement": {"T": {"value": 21.5, "unit": "C"}},
            }
        )
    ]
    assert effects("212,80,2024-01-01T00:00:00Z") == [
        CreateMeasurement(
            {
                "type": "c8y_Battery",
                "time": "2024-01-01T00:00:00Z",
                "c8y_Battery": {"level": {"value": 80, "unit": "%"}},
            }
        )
    ]
    assert error("211,1,t,x").code == 45


# --- alarms and events ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "severity"), [("301", "CRITICAL"), ("302", "MAJOR"), ("303", "MINOR"), ("304", "WARNING")]
)
def test_create_alarm(template: str, severity: str) -> None:
    assert effects(f"{template},c8y_Overheat") == [
        CreateAlarm("c8y_Overheat", severity, "Alarm of type c8y_Overheat raised", None)
    ]
    assert effects(f"{template},c8y_Overheat,Too hot,2024-01-01T00:00:00Z") == [
        CreateAlarm("c8y_Overheat", severity, "Too hot", "2024-01-01T00:00:00Z")
    ]
    assert effects(f"{template},c8y_Overheat,,now") == [
        CreateAlarm("c8y_Overheat", severity, "Alarm of type c8y_Overheat raised", "now")
    ]


def test_update_alarm() -> None:
    assert effects("305,c8y_Overheat,MINOR") == [UpdateAlarm("c8y_Overheat", severity="MINOR")]
    assert effects("305,c8y_Overheat,major") == [UpdateAlarm("c8y_Overheat", severity="MAJOR")]
    assert effects("306,c8y_Overheat") == [UpdateAlarm("c8y_Overheat", clear=True)]
    assert effects("307,c8y_Overheat,a,,b") == [UpdateAlarm("c8y_Overheat", remove_fragments=("a", "b"))]
    assert error("305,c8y_Overheat,MINOR,x").code == 45
    assert error("306,c8y_Overheat,x").code == 45


def test_create_event() -> None:
    assert effects("400,c8y_Door,Door opened") == [CreateEvent("c8y_Door", "Door opened", None, {})]
    assert effects('400,c8y_Door,"Door, front",2024-01-01T00:00:00Z') == [
        CreateEvent("c8y_Door", "Door, front", "2024-01-01T00:00:00Z")
    ]
    assert error("400,c8y_Door,text,time,extra").code == 45


def test_location_event() -> None:
    position = {"lat": 51.2, "lng": 6.7, "alt": 30, "accuracy": 2}
    event = CreateEvent("c8y_LocationUpdate", "Location updated", "2024-01-01T00:00:00Z", {"c8y_Position": position})
    assert effects("401,51.2,6.7,30,2,2024-01-01T00:00:00Z") == [event]
    assert effects("402,51.2,6.7,30,2,2024-01-01T00:00:00Z") == [event, UpdateDevice({"c8y_Position": position})]
    assert effects("401,1,2") == [
        CreateEvent("c8y_LocationUpdate", "Location updated", None, {"c8y_Position": {"lat": 1, "lng": 2}})
    ]
    assert error("401,1,2,3,4,t,x").code == 45


def test_location_event_fragments_are_not_shared() -> None:
    event, update = effects("402,1,2")
    assert event.fragments["c8y_Position"] is not update.fragments["c8y_Position"]


# --- operations ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "update"),
    [
        ("501,c8y_Restart", OperationUpdate("EXECUTING", fragment="c8y_Restart")),
        ("502,c8y_Restart", OperationUpdate("FAILED", fragment="c8y_Restart")),
        ("502,c8y_Restart,No power", OperationUpdate("FAILED", fragment="c8y_Restart", reason="No power")),
        ("503,c8y_Restart", OperationUpdate("SUCCESSFUL", fragment="c8y_Restart")),
        ("503,c8y_Command,ok,,done", OperationUpdate("SUCCESSFUL", fragment="c8y_Command", params=("ok", "", "done"))),
        ("504,42", OperationUpdate("EXECUTING", operation_id="42")),
        ("505,42,Disk full", OperationUpdate("FAILED", operation_id="42", reason="Disk full")),
        ("505,42", OperationUpdate("FAILED", operation_id="42")),
        ("506,42,a,b", OperationUpdate("SUCCESSFUL", operation_id="42", params=("a", "b"))),
        ("507", OperationUpdate("FAILED", all_executing=True)),
        ("507,c8y_Restart", OperationUpdate("FAILED", fragment="c8y_Restart", all_executing=True)),
        ("507,,Rebooted", OperationUpdate("FAILED", reason="Rebooted", all_executing=True)),
        ("507,c8y_Restart,Rebooted", OperationUpdate("FAILED", "c8y_Restart", reason="Rebooted", all_executing=True)),
    ],
)
def test_operations(line: str, update: OperationUpdate) -> None:
    assert effects(line) == [update]


@pytest.mark.parametrize("line", ["501,a,b", "502,a,b,c", "504,1,x", "505,1,r,x"])
def test_operations_fixed_layouts(line: str) -> None:
    assert error(line).code == 45


# --- payloads and tables -------------------------------------------------------------------------------------------


def test_translate_payload() -> None:
    payload = '100,dev\r\n\n400,t,"multi\nline text"\n999\n400,"open\n'
    results = translate_payload(payload)
    assert [line for _, line in results] == ["100,dev", '400,t,"multi\nline text"', "999", '400,"open\n']
    assert results[0][0] == [CreateDevice("dev", None)]
    assert results[1][0] == [CreateEvent("t", "multi\nline text", None)]
    unknown, malformed = results[2][0], results[3][0]
    assert isinstance(unknown, SmartRestError) and unknown.line() == "40,999,Unknown template 999"
    assert isinstance(malformed, SmartRestError)
    assert (malformed.code, malformed.template) == (42, "400")
    assert malformed.text.startswith("Malformed line")


def test_translate_payload_fills_now() -> None:
    [(result, _)] = translate_payload("400,t,x", now_iso="2024-01-01T00:00:00.000Z")
    assert result == [CreateEvent("t", "x", "2024-01-01T00:00:00.000Z")]


def test_translate_does_not_mutate_fields() -> None:
    fields = ["100", "a", "", ""]
    translate(fields)
    assert fields == ["100", "a", "", ""]


def test_template_ids_match_the_table() -> None:
    assert frozenset(smartrest_templates.TEMPLATES) == TEMPLATE_IDS
    assert not TEMPLATE_IDS & DOWNSTREAM_IDS
    assert {"106", "124", "510", "530", "601", "603"} <= DOWNSTREAM_IDS
    assert len(DOWNSTREAM_IDS) == 25


def test_every_template_has_a_happy_path() -> None:
    samples = {
        "100": "", "101": "c", "105": "", "107": "f", "110": "s", "111": "i", "112": "1,2", "113": "c", "114": "o",
        "115": "n,v", "117": "1", "118": "l", "119": "c", "122": "n,v,m", "123": "", "125": "", "200": "f,s,1",
        "201": "t,,f,s,1,u", "210": "1,2", "211": "1", "212": "1", "301": "t", "302": "t", "303": "t", "304": "t",
        "305": "t,MAJOR", "306": "t", "307": "t,f", "400": "t,x", "401": "1,2", "402": "1,2", "500": "", "501": "f",
        "502": "f", "503": "f", "504": "1", "505": "1", "506": "1", "507": "", "600": "", "602": "",
    }
    assert set(samples) == TEMPLATE_IDS
    for template, args in samples.items():
        assert effects(f"{template},{args}".rstrip(",")), template
