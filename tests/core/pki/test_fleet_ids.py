import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.pki.fleet_ids import (
    DeviceEntry,
    bulk_registration_csv,
    id_problem,
    ids_from_pattern,
    parse_ids_csv,
)
from workbench.errors import InvalidInputError


def _ids(entries: list[DeviceEntry]) -> list[str]:
    return [e.device_id for e in entries]


def test_pattern_expands_with_padding_and_start() -> None:
    assert _ids(ids_from_pattern("wb-dev-{n:04d}", 3)) == ["wb-dev-0001", "wb-dev-0002", "wb-dev-0003"]
    assert _ids(ids_from_pattern("sensor{n}", 2, start=9)) == ["sensor9", "sensor10"]


@pytest.mark.parametrize(("pattern", "fragment"), [
    ("wb-dev", "has no {n}"),
    ("dev-{m}", "may only use {n}"),
    ("dev-{n.__class__}", "may only use {n}"),
    ("dev-{n", "not valid"),
    ("dev:{n}", "contains ':'"),
    ("dev-{n:x>100}", "at most 64"),
    ("dev-{n:s}", "cannot format"),
])
def test_bad_patterns_are_refused_with_a_reason(pattern: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        ids_from_pattern(pattern, 3)
    assert fragment in str(info.value)


def test_count_must_be_positive() -> None:
    with pytest.raises(InvalidInputError, match="at least 1"):
        ids_from_pattern("d{n}", 0)


def test_csv_of_plain_ids_skips_blank_lines_and_comments() -> None:
    text = "\ufeff# my devices\nalpha\n\n  beta  \ngamma\n"
    assert _ids(parse_ids_csv(text.encode())) == ["alpha", "beta", "gamma"]


@pytest.mark.parametrize("sep", [";", ",", "\t"])
def test_csv_with_id_header_keeps_registration_columns(sep: str) -> None:
    text = sep.join(["ID", "NAME", "TYPE", "IDTYPE"]) + "\n" + sep.join(["d1", "Pump 1", "c8y_Pump", "c8y_Serial"])
    assert parse_ids_csv(text) == [DeviceEntry("d1", "c8y_Pump", "Pump 1", "c8y_Serial")]


def test_bad_csv_rows_are_each_reported_by_line() -> None:
    text = "ID;NAME\nok-1;a\nbad:id;b\n;c\nok-2;d\nok-1;e\nOK-2;f\ndir/x;g\n"
    with pytest.raises(InvalidInputError) as info:
        parse_ids_csv(text.encode(), "'ids.csv'")
    causes = info.value.causes
    assert any(c.startswith("line 3:") and "':'" in c for c in causes)
    assert any(c.startswith("line 4:") and "empty" in c for c in causes)
    assert any(c.startswith("line 8:") and "folder" in c for c in causes)
    assert "'ids.csv'" in info.value.summary


def test_duplicates_are_reported_with_both_lines() -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_ids_csv("a\nb\na\nB\n")
    assert info.value.causes == ("line 3: id 'a' repeats line 1; ids must be unique",
                                 "line 4: id 'B' differs only in case from line 2; ids must be unique")


def test_many_bad_rows_are_capped_in_the_message() -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_ids_csv("\n".join(f"x:{i}" for i in range(50)))
    assert len(info.value.causes) == 21 and info.value.causes[-1] == "... and 30 more"
    assert info.value.summary.startswith("50 problem(s)")


def test_csv_errors_for_empty_non_utf8_and_header_only() -> None:
    with pytest.raises(InvalidInputError, match="no device ids"):
        parse_ids_csv(b"# nothing\n\n")
    with pytest.raises(InvalidInputError, match="not UTF-8"):
        parse_ids_csv(b"\xff\xfe\x00a")
    with pytest.raises(InvalidInputError, match="header but no device rows"):
        parse_ids_csv("ID;TYPE\n")


@pytest.mark.parametrize("bad", ["a:b", "", " x", "x;y", "x,y", 'x"y', "../x", ".hidden", "a\x01b", "CON", "a" * 65])
def test_id_rules(bad: str) -> None:
    assert id_problem(bad) is not None


def test_registration_csv_matches_the_platform_spec_exactly() -> None:
    entries = [DeviceEntry("wb-dev-0001"), DeviceEntry("wb-dev-0002")]
    assert bulk_registration_csv(entries) == (
        b"ID;AUTH_TYPE;CREDENTIALS;com_cumulocity_model_Agent.active\n"
        b"wb-dev-0001;CERTIFICATES;;true\n"
        b"wb-dev-0002;CERTIFICATES;;true\n")


def test_registration_csv_with_optional_columns_and_tabs() -> None:
    entries = [DeviceEntry("d1", name="Pump 1"), DeviceEntry("d2", device_type="c8y_Valve")]
    data = bulk_registration_csv(entries, separator="tab", device_type="c8y_Device", id_type="c8y_Serial")
    assert data.decode().splitlines() == [
        "ID\tAUTH_TYPE\tCREDENTIALS\tTYPE\tNAME\tIDTYPE\tcom_cumulocity_model_Agent.active",
        "d1\tCERTIFICATES\t\tc8y_Device\tPump 1\tc8y_Serial\ttrue",
        "d2\tCERTIFICATES\t\tc8y_Valve\t\tc8y_Serial\ttrue",
    ]
    with pytest.raises(InvalidInputError, match="separator"):
        bulk_registration_csv(entries, separator="|")


def test_registration_csv_round_trips_through_the_id_reader() -> None:
    entries = [DeviceEntry("d1", "t", "Name with spaces", "c8y_Serial")]
    assert parse_ids_csv(bulk_registration_csv(entries)) == entries


@given(st.text(max_size=200))
def test_id_reader_fails_only_with_its_own_error(text: str) -> None:
    try:
        entries = parse_ids_csv(text)
    except InvalidInputError:
        return
    assert all(id_problem(e.device_id) is None for e in entries)
