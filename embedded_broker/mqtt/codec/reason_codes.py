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


class V3ConnackCode(IntEnum):
    """The return codes of a v3.1/3.1.1 CONNACK: MQTT 3's only reason codes, reached through `connack_return_code`."""

    ACCEPTED = 0
    UNACCEPTABLE_PROTOCOL_VERSION = 1
    IDENTIFIER_REJECTED = 2
    SERVER_UNAVAILABLE = 3
    BAD_USER_NAME_OR_PASSWORD = 4
    NOT_AUTHORIZED = 5


#: v3's single SUBACK failure value (the same byte as v5's UNSPECIFIED_ERROR).
V3_SUBACK_FAILURE = ReasonCode.UNSPECIFIED_ERROR

_R, _V3 = ReasonCode, V3ConnackCode
# Every v5 CONNACK reason maps to the closest v3 return code (a failure not listed becomes NOT_AUTHORIZED).
_V3_CONNACK: dict[int, int] = {
    _R.SUCCESS: _V3.ACCEPTED,
    _R.UNSUPPORTED_PROTOCOL_VERSION: _V3.UNACCEPTABLE_PROTOCOL_VERSION,
    _R.CLIENT_IDENTIFIER_NOT_VALID: _V3.IDENTIFIER_REJECTED,
    **dict.fromkeys((_R.SERVER_UNAVAILABLE, _R.SERVER_BUSY, _R.UNSPECIFIED_ERROR, _R.MALFORMED_PACKET,
                     _R.PROTOCOL_ERROR, _R.IMPLEMENTATION_SPECIFIC_ERROR, _R.SERVER_SHUTTING_DOWN, _R.PACKET_TOO_LARGE,
                     _R.QUOTA_EXCEEDED, _R.USE_ANOTHER_SERVER, _R.SERVER_MOVED, _R.CONNECTION_RATE_EXCEEDED),
                    _V3.SERVER_UNAVAILABLE),
    _R.BAD_USER_NAME_OR_PASSWORD: _V3.BAD_USER_NAME_OR_PASSWORD,
    _R.BAD_AUTHENTICATION_METHOD: _V3.BAD_USER_NAME_OR_PASSWORD,
    _R.NOT_AUTHORIZED: _V3.NOT_AUTHORIZED,
    _R.BANNED: _V3.NOT_AUTHORIZED,
    # the broker cannot serve this CONNECT (will topic, payload format, retain, QoS)
    **dict.fromkeys((_R.TOPIC_NAME_INVALID, _R.PAYLOAD_FORMAT_INVALID, _R.RETAIN_NOT_SUPPORTED, _R.QOS_NOT_SUPPORTED),
                    _V3.SERVER_UNAVAILABLE),
}


def connack_return_code(reason: int, version: int) -> int:
    """The byte a CONNACK carries for this protocol version."""
    if version >= 5:
        return int(reason)
    fallback = _V3.NOT_AUTHORIZED if is_error(reason) else _V3.ACCEPTED
    return int(_V3_CONNACK.get(int(reason), fallback))


def suback_code(code: int, version: int) -> int:
    """Granted QoS stays; a v5 failure code becomes v3's single failure value (V3_SUBACK_FAILURE)."""
    return int(code) if not is_error(code) or version >= 5 else int(V3_SUBACK_FAILURE)


def sends_disconnect(version: int) -> bool:
    """Only v5 has a server DISCONNECT; a v3 client just sees the connection close."""
    return version >= 5


def has_ack_reason_codes(version: int) -> bool:
    """PUBACK/PUBREC/PUBREL/PUBCOMP and UNSUBACK carry reason codes only in v5."""
    return version >= 5


def is_error(code: int) -> bool:
    """Reason codes from UNSPECIFIED_ERROR (0x80) up are failures."""
    return int(code) >= ReasonCode.UNSPECIFIED_ERROR


def reason_text(code: int) -> str:
    """Human words for a reason code, for logs and the event stream."""
    try:
        return ReasonCode(int(code)).name.replace("_", " ").capitalize()
    except ValueError:
        return f"Reason code 0x{int(code):02X}"
