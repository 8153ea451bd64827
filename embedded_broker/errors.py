"""The broker's exception tree: one root, protocol errors carry the MQTT reason code that closes the connection."""

from __future__ import annotations

from embedded_broker.mqtt.codec.reason_codes import ReasonCode


class BrokerError(Exception):
    """Root of every error the broker and the local platform raise on purpose.

    Intermediate bases: `ProtocolError` (MQTT, carries a reason code), `AuthError` (a refused client),
    `embedded_broker.platform.errors.PlatformError` (a REST refusal in the platform's error envelope). Module-local
    errors (`ChainRefused`, `SmartRestError`, `BulkCsvError`, `ConnectionLost`...) derive from it directly;
    tests/broker/test_error_tree.py checks that no exception class in the package escapes this tree.
    """


class ConfigError(BrokerError):
    """The broker configuration is invalid; the message lists every problem found."""


class ProtocolError(BrokerError):
    """A client broke the MQTT protocol; the connection closes with ``reason_code`` (a v5 reason code value).

    The v3 translation (close without DISCONNECT, or a CONNACK return code) is done in one table,
    `embedded_broker.mqtt.codec.reason_codes`, never at the raise site.
    """

    def __init__(self, message: str, reason_code: int = ReasonCode.PROTOCOL_ERROR) -> None:
        super().__init__(message)
        self.reason_code = reason_code


class MalformedPacket(ProtocolError):
    """Bytes that do not decode to a valid packet: the only exception the decoder raises."""

    def __init__(self, message: str, reason_code: int = ReasonCode.MALFORMED_PACKET) -> None:
        super().__init__(message, reason_code)


class PacketTooLarge(MalformedPacket):
    """A packet exceeds the negotiated Maximum Packet Size (v5 reason PACKET_TOO_LARGE)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ReasonCode.PACKET_TOO_LARGE)


class AuthError(BrokerError):
    """Authentication or authorisation refused a client; carries a reason code and a sentence for the event log."""

    def __init__(self, message: str, reason_code: int = ReasonCode.NOT_AUTHORIZED) -> None:
        super().__init__(message)
        self.reason_code = reason_code
