"""A bounded ring buffer of console messages: the console stays fast and small at any message rate."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from workbench.errors import InvalidInputError

DEFAULT_CAPACITY = 100_000


@dataclass(frozen=True, slots=True)
class ConsoleMessage:
    """One message seen by the console: received from the broker or published by us."""

    seq: int
    timestamp: float
    direction: str  # "in" or "out"
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    properties: dict[str, Any] = field(default_factory=dict)
    subscription: str = ""  # the filter that matched, for colours and counts


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT filter matching (+ and #, and $-topics only for filters that start with $) for the view's filter."""
    if topic.startswith("$") and not topic_filter.startswith("$"):
        return False
    f_parts = topic_filter.split("/")
    t_parts = topic.split("/")
    for i, part in enumerate(f_parts):
        if part == "#":
            return True
        if i >= len(t_parts) or (part != "+" and part != t_parts[i]):
            return False
    return len(f_parts) == len(t_parts)


@dataclass(frozen=True)
class MessageFilter:
    """What the message view shows: a topic filter, and payload text or a regular expression."""

    topic_filter: str = ""
    text: str = ""
    regex: bool = False
    muted: frozenset[str] = frozenset()  # subscriptions whose messages are hidden (still counted and kept)

    def __post_init__(self) -> None:
        if self.regex and self.text:
            try:
                re.compile(self.text)
            except re.error as exc:
                raise InvalidInputError(f"'{self.text}' is not a valid regular expression", (str(exc),)) from exc

    @property
    def active(self) -> bool:
        """True when anything is filtered out."""
        return bool(self.topic_filter or self.text or self.muted)

    def accepts(self, message: ConsoleMessage) -> bool:
        """Whether the view shows this message."""
        if message.subscription and message.subscription in self.muted:
            return False
        if self.topic_filter and not topic_matches(self.topic_filter, message.topic):
            return False
        if not self.text:
            return True
        payload = message.payload.decode("utf-8", errors="replace")
        if self.regex:
            return re.search(self.text, payload) is not None
        return self.text.lower() in payload.lower()


class MessageRing:
    """The newest ``capacity`` messages; older ones fall off and are counted, so memory stays bounded."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise InvalidInputError("The message buffer needs room for at least one message", ())
        self._items: deque[ConsoleMessage] = deque(maxlen=capacity)
        self._next_seq = 0
        self.evicted = 0
        self.per_subscription: dict[str, int] = {}

    @property
    def capacity(self) -> int:
        """How many messages are kept."""
        return self._items.maxlen or 0

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[ConsoleMessage]:
        return iter(self._items)

    def __getitem__(self, index: int) -> ConsoleMessage:
        return self._items[index]

    def append(self, timestamp: float, direction: str, topic: str, payload: bytes, qos: int = 0,
               retain: bool = False, properties: dict[str, Any] | None = None,
               subscription: str = "") -> ConsoleMessage:
        """Add a message; returns it with its sequence number."""
        if len(self._items) == self._items.maxlen:
            self.evicted += 1
        message = ConsoleMessage(self._next_seq, timestamp, direction, topic, payload, qos, retain,
                                 properties or {}, subscription)
        self._next_seq += 1
        self._items.append(message)
        if subscription:
            self.per_subscription[subscription] = self.per_subscription.get(subscription, 0) + 1
        return message

    def extend(self, items: list[tuple[Any, ...]]) -> list[ConsoleMessage]:
        """Add a batch of ``append`` argument tuples at once (the console's per-tick delivery); returns the messages.

        A batch longer than the capacity keeps only its newest ``capacity`` messages: the caller counts the rest.
        """
        capacity = self.capacity
        if len(items) > capacity:
            items = items[-capacity:]
        seq = self._next_seq
        added = [ConsoleMessage(seq + i, *item) for i, item in enumerate(items)]
        self._next_seq = seq + len(added)
        self.evicted += max(0, len(self._items) + len(added) - capacity)
        self._items.extend(added)
        counts = self.per_subscription
        for message in added:
            if message.subscription:
                counts[message.subscription] = counts.get(message.subscription, 0) + 1
        return added

    def newest(self, count: int) -> list[ConsoleMessage]:
        """The newest ``count`` messages kept, oldest first."""
        count = min(count, len(self._items))
        if count <= 0:
            return []
        return list(islice(self._items, len(self._items) - count, None))

    @property
    def next_seq(self) -> int:
        """The sequence number the next message gets (everything below it has arrived)."""
        return self._next_seq

    def clear(self) -> None:
        """Forget every message (counts per subscription too)."""
        self._items.clear()
        self.evicted = 0
        self.per_subscription.clear()

    @property
    def first_seq(self) -> int:
        """Sequence number of the oldest message kept (the view maps rows to sequence numbers)."""
        return self._items[0].seq if self._items else self._next_seq
