"""MQTT 5 properties: the table of identifiers, wire types and the packets allowed to carry each."""

from __future__ import annotations

from enum import Enum
from typing import Any

from embedded_broker.errors import MalformedPacket, ProtocolError

from .packets import PacketType
from .reason_codes import ReasonCode

WILL = 0  # context for the will properties inside CONNECT


class Wire(Enum):
    """Property value encodings."""

    BYTE = 1
    U16 = 2
    U32 = 3
    VARINT = 4
    UTF8 = 5
    BINARY = 6
    PAIR = 7


P = PacketType
_ACKS = (P.PUBACK, P.PUBREC, P.PUBREL, P.PUBCOMP)
_ALL = (*tuple(P), WILL)
# identifier: (name, wire type, packets that may carry it)
TABLE: dict[int, tuple[str, Wire, tuple[int, ...]]] = {
    0x01: ("payload_format_indicator", Wire.BYTE, (P.PUBLISH, WILL)),
    0x02: ("message_expiry_interval", Wire.U32, (P.PUBLISH, WILL)),
    0x03: ("content_type", Wire.UTF8, (P.PUBLISH, WILL)),
    0x08: ("response_topic", Wire.UTF8, (P.PUBLISH, WILL)),
    0x09: ("correlation_data", Wire.BINARY, (P.PUBLISH, WILL)),
    0x0B: ("subscription_identifier", Wire.VARINT, (P.PUBLISH, P.SUBSCRIBE)),
    0x11: ("session_expiry_interval", Wire.U32, (P.CONNECT, P.CONNACK, P.DISCONNECT)),
    0x12: ("assigned_client_identifier", Wire.UTF8, (P.CONNACK,)),
    0x13: ("server_keep_alive", Wire.U16, (P.CONNACK,)),
    0x15: ("authentication_method", Wire.UTF8, (P.CONNECT, P.CONNACK, P.AUTH)),
    0x16: ("authentication_data", Wire.BINARY, (P.CONNECT, P.CONNACK, P.AUTH)),
    0x17: ("request_problem_information", Wire.BYTE, (P.CONNECT,)),
    0x18: ("will_delay_interval", Wire.U32, (WILL,)),
    0x19: ("request_response_information", Wire.BYTE, (P.CONNECT,)),
    0x1A: ("response_information", Wire.UTF8, (P.CONNACK,)),
    0x1C: ("server_reference", Wire.UTF8, (P.CONNACK, P.DISCONNECT)),
    0x1F: ("reason_string", Wire.UTF8, (P.CONNACK, *_ACKS, P.SUBACK, P.UNSUBACK, P.DISCONNECT, P.AUTH)),
    0x21: ("receive_maximum", Wire.U16, (P.CONNECT, P.CONNACK)),
    0x22: ("topic_alias_maximum", Wire.U16, (P.CONNECT, P.CONNACK)),
    0x23: ("topic_alias", Wire.U16, (P.PUBLISH,)),
    0x24: ("maximum_qos", Wire.BYTE, (P.CONNACK,)),
    0x25: ("retain_available", Wire.BYTE, (P.CONNACK,)),
    0x26: ("user_property", Wire.PAIR, _ALL),
    0x27: ("maximum_packet_size", Wire.U32, (P.CONNECT, P.CONNACK)),
    0x28: ("wildcard_subscription_available", Wire.BYTE, (P.CONNACK,)),
    0x29: ("subscription_identifier_available", Wire.BYTE, (P.CONNACK,)),
    0x2A: ("shared_subscription_available", Wire.BYTE, (P.CONNACK,)),
}
BY_NAME: dict[str, tuple[int, Wire]] = {name: (ident, wire) for ident, (name, wire, _) in TABLE.items()}
REPEATABLE = {"user_property", "subscription_identifier"}
# Values the spec forbids (protocol errors): zero where zero is meaningless, booleans other than 0/1.
_BOOLEAN = {"payload_format_indicator", "request_problem_information", "request_response_information",
            "maximum_qos", "retain_available", "wildcard_subscription_available",
            "subscription_identifier_available", "shared_subscription_available"}
_NON_ZERO = {"receive_maximum", "maximum_packet_size", "topic_alias", "subscription_identifier"}


def check_value(name: str, value: Any) -> None:
    """Raise ProtocolError for a value the spec forbids (topic alias 0, receive maximum 0, a boolean of 2...)."""
    if name in _BOOLEAN and value not in (0, 1):
        raise ProtocolError(f"property {name} must be 0 or 1, got {value}", ReasonCode.PROTOCOL_ERROR)
    if name in _NON_ZERO and value == 0:
        code = ReasonCode.TOPIC_ALIAS_INVALID if name == "topic_alias" else ReasonCode.PROTOCOL_ERROR
        raise ProtocolError(f"property {name} must not be 0", code)


def add_decoded(props: dict[str, Any], ident: int, value: Any, context: int) -> None:
    """Store one decoded property, enforcing where it may appear and whether it may repeat."""
    entry = TABLE.get(ident)
    if entry is None:
        raise MalformedPacket(f"unknown property identifier 0x{ident:02X}")
    name, _wire, allowed = entry
    if context not in allowed:
        raise ProtocolError(f"property {name} is not allowed here", ReasonCode.PROTOCOL_ERROR)
    check_value(name, value)
    if name in REPEATABLE:
        props.setdefault(name, []).append(value)
    elif name in props:
        raise ProtocolError(f"property {name} appears twice", ReasonCode.PROTOCOL_ERROR)
    else:
        props[name] = value
