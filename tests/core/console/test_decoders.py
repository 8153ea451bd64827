"""Payload decoders and encoders on real payloads: CBOR and MessagePack from their libraries, a user's .proto compiled
at run time by protoc, and Sparkplug B NBIRTH/DDATA built with the protobuf runtime from the bundled Tahu .proto."""

from __future__ import annotations

import json
from pathlib import Path

import cbor2
import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.console.decoders import (
    CborDecoder,
    DecoderKind,
    DecoderSpec,
    JsonDecoder,
    MsgpackDecoder,
    SparkplugDecoder,
    TextDecoder,
    decode_safely,
)
from workbench.errors import InvalidInputError
from workbench.services import payload_codecs
from workbench.services.payload_codecs import DecoderTable, build_decoder, build_encoder, compile_proto, load_table

USER_PROTO = """
syntax = "proto3";
package plant.v1;
import "google/protobuf/timestamp.proto";

enum Unit { UNIT_UNSPECIFIED = 0; CELSIUS = 1; BAR = 2; }

message Reading {
  string sensor = 1;
  double value = 2;
  Unit unit = 3;
  repeated int32 tags = 4;
  int64 counter = 5;
  google.protobuf.Timestamp at = 6;
  map<string, string> labels = 7;
}
"""


@pytest.fixture
def user_proto(tmp_path: Path) -> Path:
    path = tmp_path / "reading.proto"
    path.write_text(USER_PROTO, encoding="utf-8")
    return path


def sparkplug() -> SparkplugDecoder:
    decoder = build_decoder(DecoderSpec(DecoderKind.SPARKPLUG))
    assert isinstance(decoder, SparkplugDecoder)
    return decoder


def nbirth(decoder: SparkplugDecoder) -> bytes:
    """An NBIRTH as an edge node sends it: bdSeq plus metrics with names, aliases, datatypes and timestamps."""
    payload = decoder.payload_class(timestamp=1_700_000_000_000, seq=0)
    for name, alias, datatype, field, value in (("bdSeq", 0, 4, "long_value", 7),
                                                 ("Node Control/Rebirth", 1, 11, "boolean_value", False),
                                                 ("Temperature", 5, 10, "double_value", 21.5),
                                                 ("Status", 6, 12, "string_value", "running")):
        metric = payload.metrics.add()
        metric.name, metric.alias, metric.datatype, metric.timestamp = name, alias, datatype, 1_700_000_000_000
        setattr(metric, field, value)
    return payload.SerializeToString()


def ddata(decoder: SparkplugDecoder, temperature: float) -> bytes:
    """A DDATA that carries only the alias of the metric (as Sparkplug devices do after the birth)."""
    payload = decoder.payload_class(timestamp=1_700_000_001_000, seq=1)
    metric = payload.metrics.add()
    metric.alias, metric.datatype, metric.timestamp, metric.double_value = 5, 10, 1_700_000_001_000, temperature
    return payload.SerializeToString()


def test_sparkplug_nbirth_shows_names_aliases_datatypes_and_timestamps() -> None:
    decoder = sparkplug()
    decoded = decoder.decode(nbirth(decoder), "spBv1.0/plant/NBIRTH/edge-1")
    assert decoded.ok, decoded.reason
    by_name = {m.name: m for m in decoded.metrics}
    assert by_name["Temperature"].alias == 5
    assert by_name["Temperature"].datatype == "Double"
    assert by_name["Temperature"].timestamp == 1_700_000_000_000
    assert by_name["Temperature"].value == 21.5
    assert by_name["bdSeq"].datatype == "Int64" and by_name["bdSeq"].value == 7
    assert by_name["Status"].value == "running" and by_name["Node Control/Rebirth"].datatype == "Boolean"
    assert "NBIRTH from plant/edge-1" in decoded.text
    assert "2023-11-14T22:13:20.000Z" in decoded.text  # the metric timestamp, readable
    assert decoded.value["seq"] == 0 and len(decoded.value["metrics"]) == 4


def test_sparkplug_ddata_gets_the_name_its_alias_had_in_the_birth() -> None:
    decoder = sparkplug()
    decoder.decode(nbirth(decoder), "spBv1.0/plant/NBIRTH/edge-1")
    decoded = decoder.decode(ddata(decoder, 22.25), "spBv1.0/plant/DDATA/edge-1/pump")
    assert decoded.ok
    (metric,) = decoded.metrics
    assert (metric.name, metric.alias, metric.value, metric.name_from_alias) == ("Temperature", 5, 22.25, True)
    other_node = decoder.decode(ddata(decoder, 1.0), "spBv1.0/plant/DDATA/edge-2/pump")
    assert other_node.metrics[0].name == ""  # aliases belong to one edge node


def test_user_proto_compiled_at_run_time_decodes_and_encodes(user_proto: Path) -> None:
    spec = DecoderSpec.parse(f"protobuf:{user_proto}:plant.v1.Reading")
    encoder = build_encoder(spec)
    data = encoder.encode(json.dumps({"sensor": "boiler", "value": 2.5, "unit": "BAR", "tags": [1, 2],
                                      "counter": "9007199254740993", "at": "2024-05-01T10:00:00Z",
                                      "labels": {"site": "north"}}))
    decoded = build_decoder(spec).decode(data)
    assert decoded.ok, decoded.reason
    assert decoded.value == {"sensor": "boiler", "value": 2.5, "unit": "BAR", "tags": [1, 2],
                             "counter": 9007199254740993, "at": {"seconds": 1714557600},
                             "labels": {"site": "north"}}
    assert DecoderSpec.parse(spec.to_text()) == spec


def test_short_message_type_name_is_enough(user_proto: Path) -> None:
    decoder = build_decoder(DecoderSpec(DecoderKind.PROTOBUF, str(user_proto), "Reading"))
    assert decoder.name == "Protobuf plant.v1.Reading"


def test_a_proto_that_does_not_compile_says_where(tmp_path: Path) -> None:
    bad = tmp_path / "bad.proto"
    bad.write_text('syntax = "proto3";\nmessage A {\n  strin name = 1;\n}\n', encoding="utf-8")
    with pytest.raises(InvalidInputError) as caught:
        compile_proto(bad)
    assert caught.value.summary == "bad.proto does not compile"
    assert any("bad.proto:3:" in cause and '"strin" is not defined' in cause for cause in caught.value.causes)


def test_a_missing_proto_or_message_type_is_a_clear_error(tmp_path: Path, user_proto: Path) -> None:
    with pytest.raises(InvalidInputError, match="cannot be read"):
        compile_proto(tmp_path / "nope.proto")
    with pytest.raises(InvalidInputError, match="no message type 'Nope'") as caught:
        build_decoder(DecoderSpec(DecoderKind.PROTOBUF, str(user_proto), "Nope"))
    assert "plant.v1.Reading" in caught.value.causes[0]


def test_a_changed_proto_is_compiled_again(user_proto: Path) -> None:
    first = compile_proto(user_proto)
    assert compile_proto(user_proto) is first  # cached
    user_proto.write_text(USER_PROTO.replace("string sensor = 1;", "string sensor = 1; string site = 8;"))
    decoder = build_decoder(DecoderSpec(DecoderKind.PROTOBUF, str(user_proto), "Reading"))
    encoded = build_encoder(DecoderSpec(DecoderKind.PROTOBUF, str(user_proto), "Reading")).encode('{"site": "x"}')
    assert decoder.decode(encoded).value == {"site": "x"}


def test_cbor_and_msgpack_round_trip_from_json() -> None:
    value = {"t": 21.5, "ok": True, "ids": [1, 2, 3], "name": "pump", "nested": {"n": None}}
    text = json.dumps(value)
    cbor = build_encoder(DecoderSpec(DecoderKind.CBOR)).encode(text)
    packed = build_encoder(DecoderSpec(DecoderKind.MSGPACK)).encode(text)
    assert cbor2.loads(cbor) == value and msgpack.unpackb(packed) == value
    assert CborDecoder().decode(cbor).value == value
    assert MsgpackDecoder().decode(packed).value == value


def test_cbor_bytes_tags_and_non_string_keys_are_shown() -> None:
    payload = cbor2.dumps({1: b"\x01\x02", "when": cbor2.CBORTag(1234, "x")})
    decoded = CborDecoder().decode(payload)
    assert decoded.ok and decoded.value == {"1": "0x0102", "when": {"tag": 1234, "value": "x"}}


@pytest.mark.parametrize(("decoder", "payload", "reason"), [
    (CborDecoder(), b"", "Not CBOR: the payload is empty"),
    (CborDecoder(), cbor2.dumps(1) + cbor2.dumps(2), "Not one CBOR item: 1 bytes follow the first item"),
    (CborDecoder(), b"\x5b\xff\xff\xff\xff\xff\xff\xff\xff", "Not CBOR"),
    (MsgpackDecoder(), b"hello", "Not one MessagePack object"),
    (MsgpackDecoder(), b"\xc1", "Not MessagePack"),
    (JsonDecoder(), b"{oops", "Not JSON"),
    (TextDecoder(), b"ok\xff", "Not UTF-8 text: byte 2 is 0xff"),
])
def test_a_payload_that_does_not_decode_is_shown_raw_with_a_one_line_reason(decoder, payload, reason) -> None:
    decoded = decoder.decode(payload)
    assert not decoded.ok
    assert decoded.reason.startswith(reason)
    assert "\n" not in decoded.reason and len(decoded.reason) <= 160
    assert decoded.text  or payload == b""  # the raw payload (text, or a hex dump of binary)


def test_garbage_for_sparkplug_and_protobuf_is_raw_not_an_error(user_proto: Path) -> None:
    decoded = sparkplug().decode(b"\xff\xff\xff\xff", "spBv1.0/g/NDATA/e")
    assert not decoded.ok and decoded.reason.startswith("Not a org.eclipse.tahu.protobuf.Payload")
    assert "ff ff ff ff" in decoded.text
    decoded = build_decoder(DecoderSpec(DecoderKind.PROTOBUF, str(user_proto), "Reading")).decode(b"\x0a\xff")
    assert not decoded.ok and "\n" not in decoded.reason


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_no_decoder_ever_raises(payload: bytes) -> None:
    table = [CborDecoder(), MsgpackDecoder(), JsonDecoder(), TextDecoder(), SPARKPLUG]
    for decoder in table:
        decoded = decode_safely(decoder, payload, "spBv1.0/g/DDATA/e/d")
        assert decoded.ok or decoded.reason


SPARKPLUG = sparkplug()


def test_auto_decoder_picks_sparkplug_on_sparkplug_topics_and_json_elsewhere() -> None:
    auto = build_decoder(DecoderSpec())
    assert auto.decode(nbirth(SPARKPLUG), "spBv1.0/plant/NBIRTH/edge-9").decoder == "Sparkplug B"
    assert auto.decode(b'{"a": 1}', "x").decoder == "JSON"
    assert auto.decode(b"\x00\xff", "x").decoder == "Hex"


def test_decoder_spec_text_and_errors() -> None:
    assert DecoderSpec.parse("CBOR").kind is DecoderKind.CBOR
    spec = DecoderSpec.parse(r"protobuf:C:\protos\a.proto:pkg.A")
    assert (spec.proto_file, spec.message_type) == (r"C:\protos\a.proto", "pkg.A")
    with pytest.raises(InvalidInputError, match="'yaml' is not a payload decoder"):
        DecoderSpec.parse("yaml")
    with pytest.raises(InvalidInputError, match=r"needs a \.proto file and a message type"):
        DecoderSpec.parse("protobuf:a.proto")


def test_encoders_say_what_is_wrong_with_the_json(user_proto: Path) -> None:
    with pytest.raises(InvalidInputError, match="not JSON, so it cannot be sent as CBOR"):
        build_encoder(DecoderSpec(DecoderKind.CBOR)).encode("{nope")
    with pytest.raises(InvalidInputError, match=r"does not fit plant\.v1\.Reading") as caught:
        build_encoder(DecoderSpec(DecoderKind.PROTOBUF, str(user_proto), "Reading")).encode('{"colour": 1}')
    assert "colour" in caught.value.causes[0]
    assert build_encoder(DecoderSpec(DecoderKind.TEXT)).encode("héllo") == "héllo".encode()


def test_sparkplug_encoder_builds_what_the_decoder_reads() -> None:
    data = build_encoder(DecoderSpec(DecoderKind.SPARKPLUG)).encode(
        '{"timestamp": 5, "seq": 2, "metrics": [{"name": "T", "alias": 1, "datatype": 10, "doubleValue": 3.5}]}')
    (metric,) = SPARKPLUG.decode(data).metrics
    assert (metric.name, metric.alias, metric.datatype, metric.value) == ("T", 1, "Double", 3.5)


def test_decoder_table_per_filter_and_a_choice_that_no_longer_builds(tmp_path: Path, user_proto: Path) -> None:
    table = load_table({"plant/#": f"protobuf:{user_proto}:Reading", "spBv1.0/#": "sparkplug",
                        "gone/#": f"protobuf:{tmp_path / 'deleted.proto'}:X", "bad": "yaml"})
    assert table.decoder_for("plant/#").name == "Protobuf plant.v1.Reading"
    assert table.decoder_for("spBv1.0/#").name == "Sparkplug B"
    assert table.decoder_for("gone/#").name == "Auto"  # falls back, and says why
    assert "cannot be read" in table.problems["gone/#"] and "yaml" in table.problems["bad"]
    table.set("plant/#", DecoderSpec())
    assert "plant/#" not in table.choices
    assert isinstance(DecoderTable().decoder_for("x"), object)


def test_bundled_sparkplug_proto_has_its_licence_next_to_it() -> None:
    folder = payload_codecs.sparkplug_proto_path().parent
    assert "SPDX-License-Identifier: EPL-2.0" in (folder / "sparkplug_b.proto").read_text()
    assert (folder / "LICENSE-EPL-2.0.txt").read_text().startswith("Eclipse Public License - v 2.0")
    assert "Eclipse Tahu" in (folder / "NOTICE.md").read_text()
