"""DISCONNECT from the client: normal close suppresses the will (0x00), 0x04 keeps it; v5 may update expiry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedded_broker.errors import ProtocolError
from embedded_broker.mqtt.codec.packets import Disconnect
from embedded_broker.mqtt.codec.reason_codes import ReasonCode

if TYPE_CHECKING:
    from embedded_broker.mqtt.connection import Connection



async def handle_disconnect(conn: Connection, packet: Disconnect) -> None:
    """Close cleanly, deciding on the will and the session expiry the client asked for."""
    session = conn.session
    expiry = packet.properties.get("session_expiry_interval")
    if expiry is not None and session is not None:
        if session.expiry_interval == 0 and expiry != 0:
            raise ProtocolError("session expiry cannot be set on DISCONNECT when it was 0 at CONNECT",
                                ReasonCode.PROTOCOL_ERROR)
        session.expiry_interval = min(expiry, conn.limits.max_session_expiry)
    conn.closed_by_client(packet.reason_code, packet.properties.get("reason_string", "client disconnected"),
                          will=packet.reason_code == ReasonCode.DISCONNECT_WITH_WILL)
