"""Outgoing QoS 1/2 messages awaiting acknowledgement, with packet-id allocation and redelivery order."""

from __future__ import annotations

from collections.abc import Iterator

from embedded_broker.mqtt.message import Message


class OutFlight:
    """One unacknowledged outgoing message; `released` once PUBREC arrived and PUBREL was sent (QoS 2)."""

    __slots__ = ("message", "qos", "released", "retain", "sub_ids")

    def __init__(self, message: Message, qos: int, retain: bool, sub_ids: tuple[int, ...]) -> None:
        self.message = message
        self.qos = qos
        self.retain = retain
        self.sub_ids = sub_ids
        self.released = False


class Inflight:
    """The window of a session's unacknowledged outgoing messages, in send order."""

    __slots__ = ("_items", "_next_id")

    def __init__(self) -> None:
        self._items: dict[int, OutFlight] = {}
        self._next_id = 1

    def __len__(self) -> int:
        return len(self._items)

    def add(self, flight: OutFlight) -> int:
        """Store `flight` under a fresh packet id (1..65535, skipping ids in use) and return the id."""
        pid = self._next_id
        items = self._items
        while pid in items:
            pid = pid % 65535 + 1
        self._next_id = pid % 65535 + 1
        items[pid] = flight
        return pid

    def get(self, packet_id: int) -> OutFlight | None:
        """The in-flight message with this id, if any."""
        return self._items.get(packet_id)

    def pop(self, packet_id: int) -> OutFlight | None:
        """Forget an acknowledged message; None if the id was unknown."""
        return self._items.pop(packet_id, None)

    def items(self) -> Iterator[tuple[int, OutFlight]]:
        """(packet id, flight) in send order, for redelivery on reconnect."""
        return iter(list(self._items.items()))

    def clear(self) -> None:
        """Drop everything (clean start)."""
        self._items.clear()
