from workbench.core.console.payload_views import describe_smartrest, hex_dump, payload_views


def test_json_payload_is_pretty_printed_and_bad_json_explained() -> None:
    views = payload_views(b'{"a":1,"b":[1,2]}')
    assert views.json == '{\n  "a": 1,\n  "b": [\n    1,\n    2\n  ]\n}'
    bad = payload_views(b'{"a":')
    assert bad.json is None and bad.json_error.startswith("Not valid JSON")


def test_binary_payload_has_hex_and_base64_but_no_text() -> None:
    views = payload_views(b"\xff\x00AB")
    assert views.text is None and views.base64 == "/wBBQg=="
    assert hex_dump(b"\xff\x00AB") == "00000000  ff 00 41 42" + " " * 38 + "..AB"


def test_smartrest_lines_are_parsed_into_fields() -> None:
    views = payload_views(b"200,c8y_Temperature,T,21.5,C\n41,100,Device already existing", topic="s/us")
    assert views.smartrest == (
        "200 Create custom measurement: fragment=c8y_Temperature, series=T, value=21.5, unit=C",
        "41 Error for template 100: Device already existing",
    )
    assert describe_smartrest("71,eyJ") == "71 Device token: a JWT for 'Authorization: Bearer'"
    assert payload_views(b"hello", topic="s/us").smartrest is None
