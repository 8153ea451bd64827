import pytest
from hypothesis import given
from hypothesis import strategies as st

from embedded_broker.errors import MalformedPacket, PacketTooLarge, ProtocolError
from embedded_broker.mqtt.codec.decode import (
    PacketReader,
    UnsupportedProtocolVersion,
    decode_packet,
    parse_fixed_header,
)
from embedded_broker.mqtt.codec.encode import encode, encode_publish, encode_remaining_length
from embedded_broker.mqtt.codec.packets import (
    Auth,
    Connack,
    Connect,
    Disconnect,
    PingReq,
    PingResp,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Suback,
    Subscribe,
    Subscription,
    Unsuback,
    Unsubscribe,
    Will,
)
from embedded_broker.mqtt.codec.reason_codes import connack_return_code, reason_text, suback_code


def _round_trip(packet, version: int):
    data = encode(packet, version)
    first, length, header = parse_fixed_header(data)
    assert header + length == len(data)
    return decode_packet(first, data[header:], version)


V5_PROPS = {"user_property": [("a", "1"), ("a", "2")], "reason_string": "why"}

PACKETS_V5 = [
    Connect(5, "dev-1", False, 30, "u", b"pw", Will("w/t", b"bye", 1, True, {"will_delay_interval": 5}),
            {"session_expiry_interval": 60, "receive_maximum": 10, "user_property": [("k", "v")]}),
    Connack(True, 0, {"assigned_client_identifier": "auto-1", "server_keep_alive": 20, "maximum_qos": 1}),
    Publish("a/b", b"\x00\x01", 1, True, True, 7, {"subscription_identifier": [1, 300], "content_type": "x/y",
                                                   "correlation_data": b"\xff", "message_expiry_interval": 9}),
    Puback(1, 0x10, {"reason_string": "none"}), Pubrec(2), Pubrel(3, 0x92), Pubcomp(4),
    Subscribe(9, (Subscription("a/+", 2, True, True, 2), Subscription("#", 0)), {"subscription_identifier": [5]}),
    Suback(9, (0, 1, 0x87), V5_PROPS), Unsubscribe(10, ("a/+", "b")), Unsuback(10, (0, 0x11)),
    PingReq(), PingResp(), Disconnect(0x8E, {"reason_string": "taken over"}), Disconnect(),
    Auth(0x18, {"authentication_method": "SCRAM", "authentication_data": b"x"}),
]
PACKETS_V3 = [
    Connect(4, "dev-1", True, 60, "u", b"pw", Will("w", b"x", 2, False)), Connack(False, 0),
    Publish("a/b", b"hello", 0), Publish("a", b"", 2, False, False, 65535), Puback(1), Pubrec(2), Pubrel(3),
    Pubcomp(4), Subscribe(1, (Subscription("a/#", 1),)), Suback(1, (0, 1, 2)), Unsubscribe(2, ("x",)),
    Unsuback(2), PingReq(), PingResp(), Disconnect(),
]


@pytest.mark.parametrize("packet", PACKETS_V5, ids=lambda p: type(p).__name__)
def test_every_v5_packet_round_trips(packet) -> None:
    assert _round_trip(packet, 5) == packet


@pytest.mark.parametrize("packet", PACKETS_V3, ids=lambda p: type(p).__name__)
def test_every_v311_packet_round_trips(packet) -> None:
    assert _round_trip(packet, 4) == packet


def test_mqtt_31_connect_uses_mqisdp() -> None:
    packet = Connect(3, "old", True, 10, protocol_name="MQIsdp")
    assert b"MQIsdp" in encode(packet, 3)
    assert _round_trip(packet, 3) == packet


def test_exact_wire_bytes() -> None:
    assert encode(Connack(False, 0x87), 4) == bytes.fromhex("20020005")
    assert encode(Connack(False, 0x87), 5) == bytes.fromhex("2003008700")
    assert encode(Puback(1), 5) == bytes.fromhex("40020001")
    assert encode(Disconnect(), 5) == bytes.fromhex("e000")
    assert encode(Suback(1, (0x87,)), 4) == bytes.fromhex("90030001 80".replace(" ", ""))
    assert encode(Unsuback(5, (0,)), 4) == bytes.fromhex("b0020005")
    connect = bytes.fromhex("100c00044d5154540402003c0000")  # MQTT 3.1.1, clean, keepalive 60, empty id
    assert decode_packet(connect[0], connect[2:], 4) == Connect(4, "", True, 60)
    assert encode_remaining_length(321) == bytes([0xC1, 0x02])


def test_reason_table_maps_v5_refusals_to_v3() -> None:
    assert [connack_return_code(c, 4) for c in (0, 0x84, 0x85, 0x88, 0x86, 0x87)] == [0, 1, 2, 3, 4, 5]
    assert [connack_return_code(c, 4) for c in (0x90, 0x99, 0x9A, 0x9B)] == [3, 3, 3, 3]
    assert connack_return_code(0x87, 5) == 0x87
    assert suback_code(0x87, 4) == 0x80 and suback_code(0x87, 5) == 0x87 and suback_code(1, 4) == 1
    assert reason_text(0x87) == "Not authorized"


def test_fast_publish_matches_the_dataclass_encoder() -> None:
    p = Publish("t/1", b"x" * 100, 1, False, False, 42, {"user_property": [("k", "v")]})
    for version in (4, 5):
        assert encode_publish(p.topic, p.payload, 1, False, False, 42, p.properties, version) == encode(p, version)


MALFORMED = [
    ("reserved type 0", 0x00, b"", 4, 0x81),
    ("subscribe flags", 0x80, b"\x00\x01\x00\x01a\x00", 4, 0x81),
    ("qos 3", 0x36, b"\x00\x01a\x00\x01", 4, 0x81),
    ("dup on qos 0", 0x38, b"\x00\x01a", 4, 0x81),
    ("packet id 0", 0x32, b"\x00\x01a\x00\x00", 4, 0x82),
    ("wildcard topic", 0x30, b"\x00\x03a/#", 4, 0x90),
    ("invalid utf-8", 0x30, b"\x00\x02\xc3\x28", 4, 0x81),
    ("nul in string", 0x30, b"\x00\x02a\x00", 4, 0x81),
    ("surrogate", 0x30, b"\x00\x03\xed\xa0\x80", 4, 0x81),
    ("empty topic v3", 0x30, b"\x00\x00", 4, 0x82),
    ("connect reserved flag", 0x10, b"\x00\x04MQTT\x04\x03\x00\x3c\x00\x00", 4, 0x81),
    ("will qos without will", 0x10, b"\x00\x04MQTT\x04\x0a\x00\x3c\x00\x00", 4, 0x81),
    ("password without user", 0x10, b"\x00\x04MQTT\x04\x42\x00\x3c\x00\x00\x00\x00", 4, 0x81),
    ("empty subscribe", 0x82, b"\x00\x01", 4, 0x82),
    ("retain handling 3", 0x82, b"\x00\x01\x00\x00\x01a\x30", 5, 0x81),
    ("v3 option bits", 0x82, b"\x00\x01\x00\x01a\x04", 4, 0x81),
    ("empty unsubscribe", 0xA2, b"\x00\x01", 4, 0x82),
    ("empty unsubscribe filter", 0xA2, b"\x00\x01\x00\x00", 4, 0x8F),
    ("padded property length", 0x30, b"\x00\x01a\x80\x00", 5, 0x81),
    ("trailing bytes", 0xC0, b"\x00", 4, 0x81),
    ("truncated", 0x40, b"\x00", 4, 0x81),
    ("auth in v3", 0xF0, b"", 4, 0x81),
    ("topic alias 0", 0x30, b"\x00\x01a\x03\x23\x00\x00", 5, 0x94),
    ("duplicate property", 0x30, b"\x00\x01a\x04\x01\x00\x01\x00", 5, 0x82),
    ("property not allowed", 0x30, b"\x00\x01a\x02\x24\x01", 5, 0x82),
    ("receive maximum 0", 0x10, b"\x00\x04MQTT\x05\x02\x00\x3c\x03\x21\x00\x00\x00\x00", 5, 0x82),
]


@pytest.mark.parametrize(("first", "body", "version", "code"), [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_malformed_packets_raise_with_the_right_reason(first: int, body: bytes, version: int, code: int) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_packet(first, body, version)
    assert info.value.reason_code == code


def test_unknown_protocol_level_asks_for_connack_0x84() -> None:
    with pytest.raises(UnsupportedProtocolVersion) as info:
        decode_packet(0x10, b"\x00\x04MQTT\x06\x02\x00\x3c\x00\x00", 4)
    assert info.value.reason_code == 0x84


def test_remaining_length_longer_than_four_bytes_is_malformed() -> None:
    with pytest.raises(MalformedPacket):
        parse_fixed_header(b"\x30\xff\xff\xff\xff\x01")
    assert parse_fixed_header(b"\x30\xff") is None
    with pytest.raises(MalformedPacket, match="shortest form"):
        parse_fixed_header(b"\xc0\x80\x00")


_topic = st.text(st.characters(blacklist_characters="+#\x00", blacklist_categories=("Cs",)), min_size=1,
                 max_size=30)


@given(topic=_topic, payload=st.binary(max_size=200), qos=st.integers(0, 2), retain=st.booleans(),
       packet_id=st.integers(1, 65535), version=st.sampled_from([4, 5]),
       user=st.lists(st.tuples(st.text(max_size=5).filter(lambda s: "\x00" not in s),
                               st.text(max_size=5).filter(lambda s: "\x00" not in s)), max_size=3))
def test_publish_round_trip_property(topic, payload, qos, retain, packet_id, version, user) -> None:
    props = {"user_property": user} if version == 5 and user else {}
    p = Publish(topic, payload, qos, retain, qos > 0 and retain, packet_id if qos else None, props)
    assert _round_trip(p, version) == p


@given(first=st.integers(0, 255), body=st.binary(max_size=300), version=st.sampled_from([3, 4, 5]))
def test_garbage_only_raises_protocol_errors(first: int, body: bytes, version: int) -> None:
    try:
        decode_packet(first, body, version)
    except ProtocolError:
        pass


@given(index=st.integers(0, 10_000), byte=st.integers(0, 255), which=st.integers(0, len(PACKETS_V5) - 1),
       action=st.sampled_from(["flip", "insert", "delete"]))
def test_mutated_valid_packets_only_raise_protocol_errors(index, byte, which, action) -> None:
    data = bytearray(encode(PACKETS_V5[which], 5))
    body = data[2:] if len(data) > 2 else bytearray()
    i = index % (len(body) + 1)
    if action == "flip" and body:
        body[i % len(body)] ^= byte or 1
    elif action == "insert":
        body.insert(i, byte)
    elif body:
        del body[i % len(body)]
    try:
        decode_packet(data[0], bytes(body), 5)
    except ProtocolError:
        pass


def test_reader_frames_a_stream_split_at_every_position() -> None:
    stream = b"".join(encode(p, 5) for p in PACKETS_V5[1:6])
    for cut in range(len(stream) + 1):
        reader = PacketReader()
        frames = []
        for chunk in (stream[:cut], stream[cut:]):
            reader.feed(chunk)
            frames.extend(reader)
        assert [decode_packet(f, b, 5) for f, b in frames] == PACKETS_V5[1:6]
    reader = PacketReader()
    for byte in stream:
        reader.feed(bytes([byte]))
        frames = list(reader)
    assert reader.buffered == 0


def test_reader_refuses_an_oversized_packet_before_its_body_arrives() -> None:
    reader = PacketReader(max_packet_size=100)
    reader.feed(b"\x30\xc8\x01")  # announces 200 bytes; none of them sent
    with pytest.raises(PacketTooLarge) as info:
        list(reader)
    assert info.value.reason_code == 0x95
