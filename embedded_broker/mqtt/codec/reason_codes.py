"""MQTT reason codes and the ONE table of v3/v5 differences; the engine never translates codes itself."""

from __future__ import annotations

from enum import IntEnum


class ReasonCode(IntEnum):
    """Every MQTT 5 reason code (values shared by CONNACK, PUBACK, SUBACK, DISCONNECT, AUTH...)."""

    SUCCESS = 0x00
    GRANTED_QOS_1 = 0x01
    GRANTED_QOS_2 = 0x02
    DISCONNECT_WITH_WILL = 0x04
    NO_MATCHING_SUBSCRIBERS = 0x10
    NO_SUBSCRIPTION_EXISTED = 0x11
    CONTINUE_AUTHENTICATION = 0x18
    REAUTHENTICATE = 0x19
    UNSPECIFIED_ERROR = 0x80
    MALFORMED_PACKET = 0x81
    PROTOCOL_ERROR = 0x82
    IMPLEMENTATION_SPECIFIC_ERROR = 0x83
    UNSUPPORTED_PROTOCOL_VERSION = 0x84
    CLIENT_IDENTIFIER_NOT_VALID = 0x85
    BAD_USER_NAME_OR_PASSWORD = 0x86
    NOT_AUTHORIZED = 0x87
    SERVER_UNAVAILABLE = 0x88
    SERVER_BUSY = 0x89
    BANNED = 0x8A
    SERVER_SHUTTING_DOWN = 0x8B
    BAD_AUTHENTICATION_METHOD = 0x8C
    KEEP_ALIVE_TIMEOUT = 0x8D
    SESSION_TAKEN_OVER = 0x8E
    TOPIC_FILTER_INVALID = 0x8F
    TOPIC_NAME_INVALID = 0x90
    PACKET_IDENTIFIER_IN_USE = 0x91
    PACKET_IDENTIFIER_NOT_FOUND = 0x92
    RECEIVE_MAXIMUM_EXCEEDED = 0x93
    TOPIC_ALIAS_INVALID = 0x94
    PACKET_TOO_LARGE = 0x95
    MESSAGE_RATE_TOO_HIGH = 0x96
    QUOTA_EXCEEDED = 0x97
    ADMINISTRATIVE_ACTION = 0x98
    PAYLOAD_FORMAT_INVALID = 0x99
    RETAIN_NOT_SUPPORTED = 0x9A
    QOS_NOT_SUPPORTED = 0x9B
    USE_ANOTHER_SERVER = 0x9C
    SERVER_MOVED = 0x9D
    SHARED_SUBSCRIPTIONS_NOT_SUPPORTED = 0x9E
    CONNECTION_RATE_EXCEEDED = 0x9F
    MAXIMUM_CONNECT_TIME = 0xA0
    SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED = 0xA1
    WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED = 0xA2


# v3.1/3.1.1 CONNACK return codes: 1 protocol version, 2 identifier rejected, 3 server unavailable,
# 4 bad user name or password, 5 not authorized. Every v5 refusal maps to the closest one.
_V3_CONNACK: dict[int, int] = {
    0x00: 0,
    0x84: 1,
    0x85: 2,
    0x88: 3, 0x89: 3, 0x80: 3, 0x81: 3, 0x82: 3, 0x83: 3, 0x8B: 3, 0x95: 3, 0x97: 3, 0x9C: 3, 0x9D: 3, 0x9F: 3,
    0x86: 4, 0x8C: 4,
    0x87: 5, 0x8A: 5,
    0x90: 3, 0x99: 3, 0x9A: 3, 0x9B: 3,  # the broker cannot serve this CONNECT (will topic, retain, QoS)
}


def connack_return_code(reason: int, version: int) -> int:
    """The byte a CONNACK carries for this protocol version."""
    if version >= 5:
        return int(reason)
    return _V3_CONNACK.get(int(reason), 5 if reason >= 0x80 else 0)


def suback_code(code: int, version: int) -> int:
    """Granted QoS stays; a v5 failure code becomes v3's single failure value 0x80."""
    return int(code) if code < 0x80 or version >= 5 else 0x80


def sends_disconnect(version: int) -> bool:
    """Only v5 has a server DISCONNECT; a v3 client just sees the connection close."""
    return version >= 5


def has_ack_reason_codes(version: int) -> bool:
    """PUBACK/PUBREC/PUBREL/PUBCOMP and UNSUBACK carry reason codes only in v5."""
    return version >= 5


def is_error(code: int) -> bool:
    """Reason codes from 0x80 up are failures."""
    return int(code) >= 0x80


def reason_text(code: int) -> str:
    """Human words for a reason code, for logs and the event stream."""
    try:
        return ReasonCode(int(code)).name.replace("_", " ").capitalize()
    except ValueError:
        return f"Reason code 0x{int(code):02X}"
