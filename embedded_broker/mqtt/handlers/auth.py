"""AUTH: enhanced authentication is not offered, so an AUTH packet is a protocol error [MQTT-4.12.0-1]."""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedded_broker.errors import ProtocolError
from embedded_broker.mqtt.codec.packets import Auth
from embedded_broker.mqtt.codec.reason_codes import ReasonCode

if TYPE_CHECKING:
    from embedded_broker.mqtt.connection import Connection


async def handle_auth(conn: Connection, packet: Auth) -> None:
    """Refuse AUTH: no authentication method was agreed at CONNECT."""
    raise ProtocolError("AUTH received but no authentication method was agreed", ReasonCode.PROTOCOL_ERROR)


async def handle_unexpected(conn: Connection, packet: object) -> None:
    """Packets only a server may send (CONNACK, SUBACK, ...) are a protocol error from a client."""
    raise ProtocolError(f"a client must not send {type(packet).__name__}", ReasonCode.PROTOCOL_ERROR)
