"""The broker's exception tree: one root, protocol errors carry the MQTT reason code that closes the connection."""

from __future__ import annotations


class BrokerError(Exception):
    """Root of every error the broker raises on purpose."""


class ConfigError(BrokerError):
    """The broker configuration is invalid; the message lists every problem found."""


class ProtocolError(BrokerError):
    """A client broke the MQTT protocol; the connection closes with ``reason_code`` (a v5 reason code value).

    The v3 translation (close without DISCONNECT, or a CONNACK return code) is done in one table,
    `embedded_broker.mqtt.codec.reason_codes`, never at the raise site.
    """

    def __init__(self, message: str, reason_code: int = 0x82) -> None:
        super().__init__(message)
        self.reason_code = reason_code


class MalformedPacket(ProtocolError):
    """Bytes that do not decode to a valid packet: the only exception the decoder raises."""

    def __init__(self, message: str, reason_code: int = 0x81) -> None:
        super().__init__(message, reason_code)


class PacketTooLarge(MalformedPacket):
    """A packet exceeds the negotiated Maximum Packet Size (v5 reason 0x95)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 0x95)


class AuthError(BrokerError):
    """Authentication or authorisation refused a client; carries a reason code and a sentence for the event log."""

    def __init__(self, message: str, reason_code: int = 0x87) -> None:
        super().__init__(message)
        self.reason_code = reason_code
