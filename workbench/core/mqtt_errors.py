"""MQTT connection failures in words: CONNACK codes and early disconnects (a refused socket or a TLS alert is
explained by `workbench.core.tls.explain_failure`, the one explanation of a failed connection)."""

from __future__ import annotations

from workbench.errors import MqttConnectError

# MQTT 3.1.1 CONNACK return codes, and the v5 reason codes a broker uses to refuse a CONNECT.
_CONNACK_V3: dict[int, tuple[str, tuple[str, ...]]] = {
    1: ("the broker does not accept this MQTT version",
        ("Choose MQTT 3.1.1 in the profile: the platform's MQTT listeners speak 3.1 and 3.1.1 only.",)),
    2: ("the broker rejected the client id", ("Check the client id: a certificate device uses d:<CN>.",)),
    3: ("the broker is unavailable", ("Try again later, or check the broker's logs.",)),
    4: ("bad user name or password", ("Check the user (tenant/user on the platform) and the password.",)),
    5: ("not authorized",
        ("Check the certificate's CN against the client id: it must connect as d:<CN> (or <CN>).",
         "The CN must not contain ':'.",
         "The CA must be uploaded and enabled, with auto-registration on or the device bulk-registered.",
         "The certificate may be expired or revoked, or the chain too long.")),
}
_CONNACK_V5: dict[int, tuple[str, tuple[str, ...]]] = {
    0x80: ("unspecified error", ("Look at the broker's log for the reason.",)),
    0x81: ("the broker says the CONNECT was malformed", ("This is a client bug; report it.",)),
    0x82: ("protocol error", ("Check the MQTT 5 properties of the profile.",)),
    0x84: _CONNACK_V3[1],
    0x85: _CONNACK_V3[2],
    0x86: _CONNACK_V3[4],
    0x87: _CONNACK_V3[5],
    0x88: _CONNACK_V3[3],
    0x89: ("the broker is busy", ("Try again later.",)),
    0x8A: ("the client is banned", ("Ask the broker's administrator.",)),
    0x8C: ("bad authentication method", ("Remove the authentication method from the profile.",)),
    0x90: ("the will topic name is invalid", ("Fix the last-will topic.",)),
    0x95: ("the CONNECT is larger than the broker allows", ("Shorten the will payload or user properties.",)),
    0x97: ("quota exceeded", ("Wait, or reduce the connection rate.",)),
    0x9F: ("connection rate exceeded", ("Wait before reconnecting.",)),
}


def connack_error(code: int, protocol: int, broker: str, reason_string: str = "") -> MqttConnectError:
    """A refused CONNACK in words, with what to check."""
    table = _CONNACK_V5 if protocol == 5 else _CONNACK_V3
    meaning, causes = table.get(code, (f"refused with code {code}", ("Look at the broker's log.",)))
    extra = (f"The broker says: {reason_string}",) if reason_string else ()
    return MqttConnectError(f"{broker} refused the connection (CONNACK {code}: {meaning})", extra + causes)


def early_disconnect_error(broker: str, tls: bool) -> MqttConnectError:
    """The broker closed before CONNACK: on TLS 1.3 that is how a rejected client certificate shows up."""
    if tls:
        return MqttConnectError(
            f"{broker} closed the connection before answering the CONNECT",
            ("With TLS 1.3 a rejected client certificate shows up this way: the CA may not be uploaded, or "
             "the chain in the keystore does not reach it.",
             "The certificate may be expired, revoked, or its key may not match.",
             "The broker may not accept this client id or MQTT version."))
    return MqttConnectError(f"{broker} closed the connection before answering the CONNECT",
                            ("The broker may not accept this client id, credentials or MQTT version.",))
