"""PINGREQ: answer PINGRESP (any received byte already refreshed the keep alive timer)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedded_broker.mqtt.codec.packets import PingReq, PingResp

if TYPE_CHECKING:
    from embedded_broker.mqtt.connection import Connection

_PINGRESP = PingResp()


async def handle_pingreq(conn: Connection, packet: PingReq) -> None:
    """Keep the client's connection alive."""
    conn.send_packet(_PINGRESP)
