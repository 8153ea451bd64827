"""Packet handlers per family, and the dispatch table the connection indexes by the packet type nibble."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from embedded_broker.mqtt.handlers.auth import handle_auth, handle_unexpected
from embedded_broker.mqtt.handlers.connect import handle_connect
from embedded_broker.mqtt.handlers.disconnect import handle_disconnect
from embedded_broker.mqtt.handlers.ping import handle_pingreq
from embedded_broker.mqtt.handlers.publish import (
    handle_puback,
    handle_pubcomp,
    handle_publish,
    handle_pubrec,
    handle_pubrel,
)
from embedded_broker.mqtt.handlers.subscribe import handle_subscribe, handle_unsubscribe

Handler = Callable[[Any, Any], Awaitable[None]]

# Index = packet type (first byte >> 4). Types a client must never send map to `handle_unexpected`.
HANDLERS: tuple[Handler, ...] = (
    handle_unexpected,  # 0 reserved
    handle_connect,  # 1 CONNECT (a second one is refused inside)
    handle_unexpected,  # 2 CONNACK
    handle_publish,  # 3
    handle_puback,  # 4
    handle_pubrec,  # 5
    handle_pubrel,  # 6
    handle_pubcomp,  # 7
    handle_subscribe,  # 8
    handle_unexpected,  # 9 SUBACK
    handle_unsubscribe,  # 10
    handle_unexpected,  # 11 UNSUBACK
    handle_pingreq,  # 12
    handle_unexpected,  # 13 PINGRESP
    handle_disconnect,  # 14
    handle_auth,  # 15
)
