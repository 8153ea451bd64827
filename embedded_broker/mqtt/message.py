"""The engine's one in-memory application message, shared by every subscriber it is routed to.

It is created once per PUBLISH received (or will, or `send_to_client`), never per delivery; encoded
bytes are cached on it per distinct wire form so fan-out writes the same bytes object many times.
"""

from __future__ import annotations

import time
from typing import Any

# v5 properties that travel with an application message from publisher to subscriber [MQTT-3.3.2].
FORWARDED_PROPERTIES = frozenset(
    {
        "payload_format_indicator",
        "message_expiry_interval",
        "content_type",
        "response_topic",
        "correlation_data",
        "user_property",
    }
)


class Message:
    """An application message with its forwardable v5 properties and absolute expiry time."""

    __slots__ = ("encoded", "expires_at", "payload", "properties", "qos", "retain", "sender", "topic")

    def __init__(
        self,
        topic: str,
        payload: bytes,
        qos: int = 0,
        retain: bool = False,
        properties: dict[str, Any] | None = None,
        sender: Any = None,
    ) -> None:
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.sender = sender
        self.encoded: dict[Any, Any] = {}  # wire form -> bytes (QoS 0) or (template, packet id offset)
        if properties:
            props = {k: v for k, v in properties.items() if k in FORWARDED_PROPERTIES}
            expiry = props.get("message_expiry_interval")
            self.expires_at: float | None = time.monotonic() + expiry if expiry is not None else None
            self.properties: dict[str, Any] = props
        else:
            self.expires_at = None
            self.properties = {}

    def expired(self, now: float | None = None) -> bool:
        """Whether the v5 message expiry interval has passed (then it must not be delivered)."""
        if self.expires_at is None:
            return False
        return (now if now is not None else time.monotonic()) >= self.expires_at

    def properties_for_delivery(self, subscription_ids: tuple[int, ...]) -> dict[str, Any]:
        """The v5 properties of one delivery: remaining expiry and the receiver's subscription identifiers."""
        if not self.properties and not subscription_ids:
            return self.properties
        props = dict(self.properties)
        if self.expires_at is not None:
            props["message_expiry_interval"] = max(0, int(self.expires_at - time.monotonic() + 0.999))
        if subscription_ids:
            props["subscription_identifier"] = list(subscription_ids)
        return props
