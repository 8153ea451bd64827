"""Retained messages: one per topic, deleted by an empty payload, expired per v5 message expiry."""

from __future__ import annotations

from collections.abc import Iterator

from embedded_broker.mqtt.message import Message
from embedded_broker.mqtt.subscriptions import filter_matches


class RetainStore:
    """The last retained message of every topic."""

    def __init__(self) -> None:
        self._messages: dict[str, Message] = {}

    def __len__(self) -> int:
        return len(self._messages)

    def store(self, message: Message) -> None:
        """Keep `message` as the topic's retained message, or delete it if the payload is empty."""
        if message.payload:
            self._messages[message.topic] = message
        else:
            self._messages.pop(message.topic, None)

    def matching(self, topic_filter: str) -> Iterator[Message]:
        """Unexpired retained messages whose topic matches `topic_filter` (expired ones are dropped here)."""
        if "+" not in topic_filter and "#" not in topic_filter:
            found = self._messages.get(topic_filter)
            candidates = [found] if found is not None else []
        else:
            candidates = [m for t, m in self._messages.items() if filter_matches(topic_filter, t)]
        for message in candidates:
            if message.expired():
                self._messages.pop(message.topic, None)
                continue
            yield message
