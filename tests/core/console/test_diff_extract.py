"""Diffs between two messages (field by field for JSON and decoded payloads, else text), the values charts pick
from payloads, and the min/max decimation that keeps 100,000 points drawable."""

from __future__ import annotations

import math

import cbor2
import pytest

from workbench.core.console.decoders import CborDecoder, DecoderKind, DecoderSpec
from workbench.core.console.diff import diff_payloads, field_changes
from workbench.core.console.extract import SourceKind, ValueSource, extract, json_path
from workbench.core.console.series import Series, decimate, to_csv, value_range
from workbench.errors import InvalidInputError
from workbench.services.payload_codecs import build_decoder, build_encoder


def test_json_diff_is_field_by_field() -> None:
    diff = diff_payloads(b'{"t": 20, "unit": "C", "tags": [1, 2], "old": true}',
                         b'{"t": 21.5, "unit": "C", "tags": [1, 3, 4], "new": null}')
    kinds = {c.path: c.kind for c in diff.fields}
    assert diff.mode == "fields"
    assert kinds == {"$.t": "changed", "$.unit": "same", "$.tags[0]": "same", "$.tags[1]": "changed",
                     "$.tags[2]": "added", "$.old": "removed", "$.new": "added"}
    assert diff.summary() == "2 changed, 2 added, 1 removed (field by field)"


def test_same_value_of_another_type_is_a_change_and_odd_keys_are_quoted() -> None:
    changes = field_changes({"a b": 1, "n": 1}, {"a b": 1, "n": 1.0})
    assert [(c.path, c.kind) for c in changes] == [('$["a b"]', "same"), ("$.n", "changed")]
    assert diff_payloads(b"[1]", b"[1]").summary() == "identical: every field is the same"


def test_text_diff_is_line_by_line_and_binary_as_hex() -> None:
    diff = diff_payloads(b"211,20\n211,21", b"211,20\n211,22")
    assert diff.mode == "text" and "-211,21" in diff.lines and "+211,22" in diff.lines
    assert diff.summary() == "2 lines differ (text, line by line)"
    binary = diff_payloads(b"\x00\xff\x01", b"\x00\xff\x02")
    assert binary.mode == "hex" and binary.changed == 2


def test_decoded_payloads_are_compared_field_by_field() -> None:
    diff = diff_payloads(cbor2.dumps({"t": 1, "s": "a"}), cbor2.dumps({"t": 2, "s": "a"}), CborDecoder())
    assert diff.mode == "fields" and [c.path for c in diff.fields if c.kind == "changed"] == ["$.t"]


@pytest.mark.parametrize(("source", "payload", "values"), [
    ("json:$.sensor.values[1]", b'{"sensor": {"values": [1, 2.5]}}', [2.5]),
    ("$.a", b'{"a": "7"}', [7.0]),
    ("json:a.0", b'{"a": [true]}', [1.0]),
    ("json:$.missing", b'{"a": 1}', []),
    ("json:$.a", b"not json", []),
    ("number", b" 42.5 ", [42.5]),
    ("number", b"nan", []),
    ("smartrest:c8y_Steam.Temperature", b"200,c8y_Steam,Temperature,100.5,C", [100.5]),
    ("smartrest:", b"200,c8y_Steam,Temperature,100.5,C\n200,c8y_Steam,P,3,bar", [100.5]),
    ("smartrest:c8y_Energy.P", b"201,KPI,,c8y_Energy,E,10,kWh,c8y_Energy,P,2.5,kW", [2.5]),
    ("smartrest:c8y_TemperatureMeasurement.T", b"211,21.5\n211,22", [21.5, 22.0]),
    ("smartrest:x.y", b"400,e,text", []),
])
def test_value_sources(source: str, payload: bytes, values: list[float]) -> None:
    assert extract(ValueSource.parse(source), payload) == values


def test_values_from_decoded_protobuf_and_sparkplug(tmp_path) -> None:
    proto = tmp_path / "m.proto"
    proto.write_text('syntax = "proto3"; message M { double v = 1; int64 big = 2; }', encoding="utf-8")
    spec = DecoderSpec(DecoderKind.PROTOBUF, str(proto), "M")
    payload = build_encoder(spec).encode('{"v": 1.25, "big": "12"}')
    decoded = build_decoder(spec).decode(payload)
    assert extract(ValueSource.parse("json:$.v"), payload, decoded) == [1.25]
    assert extract(ValueSource.parse("json:$.big"), payload, decoded) == [12.0]
    sparkplug = DecoderSpec(DecoderKind.SPARKPLUG)
    data = build_encoder(sparkplug).encode('{"metrics": [{"name": "T", "alias": 3, "datatype": 10, '
                                           '"doubleValue": 3.5}, {"name": "S", "datatype": 12, "stringValue": "x"}]}')
    decoded = build_decoder(sparkplug).decode(data, "spBv1.0/g/NBIRTH/e")
    assert extract(ValueSource.parse("metric:T"), data, decoded) == [3.5]
    assert extract(ValueSource.parse("metric:3"), data, decoded) == [3.5]
    assert extract(ValueSource.parse("metric:S"), data, decoded) == []


def test_bad_sources_are_clear_errors() -> None:
    with pytest.raises(InvalidInputError, match="not a value source"):
        ValueSource.parse("xpath:/a")
    with pytest.raises(InvalidInputError, match="not a JSON path"):
        json_path("$.a[x")
    with pytest.raises(InvalidInputError, match="metric's name"):
        ValueSource(SourceKind.METRIC, "")


def test_decimation_keeps_every_extreme_of_100000_points() -> None:
    series = Series("s")
    for i in range(100_000):
        series.append(i * 0.01, math.sin(i / 50))
    series.v[54_321] = 99.0  # one spike among 100,000 points
    columns = decimate(series, 0, 1000, 800)
    assert len(columns) == 800
    assert max(c.high for c in columns) == 99.0
    assert min(c.low for c in columns) == pytest.approx(-1.0, abs=1e-3)
    assert columns[0].first == series.v[0] and columns[-1].last == series.v[-1]


def test_decimation_of_a_window_and_sparse_points() -> None:
    series = Series("s")
    for t, v in ((0, 1), (5, 2), (10, 3), (20, 4)):
        series.append(t, v)
    columns = decimate(series, 4, 11, 7)
    assert [(c.x, c.low) for c in columns] == [(1, 2.0), (6, 3.0)]
    assert decimate(series, 30, 40, 10) == [] and value_range([series], 4, 11) == (2.0, 3.0)


def test_series_capacity_and_csv() -> None:
    series = Series("temp", capacity=4)
    for i in range(10):
        series.append(float(i), float(i))
    series.trim()
    assert list(series.v) == [6.0, 7.0, 8.0, 9.0]
    rows = to_csv([series]).decode().splitlines()
    assert rows[0] == "time,epoch_s,series,value" and rows[1].endswith(",6.000,temp,6.0") and len(rows) == 5
