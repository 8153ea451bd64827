"""The topic tree of one connection: topics as a tree with counts, rates, the last value, a retained marker and a
short history per topic, fed in batches and bounded in memory at any message rate (no Qt here; the view is
`workbench/ui/console/topic_tree.py`)."""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from workbench.errors import InvalidInputError

from .messages import ConsoleMessage, topic_matches

RATE_TAU_S = 5.0  # the rate is an exponential average over about this many seconds
DEFAULT_MAX_TOPICS = 20_000
DEFAULT_HISTORY = 50  # messages kept per topic for the history and the diff
DEFAULT_HISTORY_BUDGET = 100_000  # messages kept in all histories together
DEFAULT_HISTORY_BYTES = 64 * 1024 * 1024  # payload bytes kept in all histories together
PREVIEW_CHARS = 80
_RATE_STEP = 1.0 / RATE_TAU_S


@dataclass(eq=False, slots=True)
class TopicNode:
    """One level of the tree; a node with `count > 0` is a topic that had messages itself."""

    name: str
    path: str
    parent: TopicNode | None
    children: dict[str, TopicNode] = field(default_factory=dict)
    order: list[TopicNode] = field(default_factory=list)  # children in order of arrival (the rows of the view)
    row: int = 0  # this node's index in parent.order
    count: int = 0  # messages on exactly this topic
    total: int = 0  # messages on this topic and every topic below it
    last_time: float = 0.0  # the newest message here or below
    rate_level: float = 0.0  # exponential-average state of the rate (this node and below)
    retained: bool = False  # the last message on this topic was a retained one
    last: ConsoleMessage | None = None
    history: deque[ConsoleMessage] | None = None

    def rate(self, now: float) -> float:
        """Messages per second here and below, averaged over about RATE_TAU_S seconds."""
        if self.last_time <= 0:
            return 0.0
        return self.rate_level * math.exp(-max(0.0, now - self.last_time) / RATE_TAU_S)

    def walk(self) -> Iterator[TopicNode]:
        """This node and every node below it, depth first, in row order."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.order))


@dataclass
class TreeChanges:
    """What one batch changed in the tree's shape (values change every batch; the view repaints those itself)."""

    added: list[TopicNode] = field(default_factory=list)  # new nodes, parents before their children
    removed: list[str] = field(default_factory=list)  # topics dropped to stay within max_topics


def preview(payload: bytes, limit: int = PREVIEW_CHARS) -> str:
    """A one-line preview of a payload: the text (newlines as ⏎), or the size of a binary payload."""
    head = payload[: limit * 4]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(head) == len(payload) or exc.start < len(head) - 3:  # not just a character cut by the slice
            return f"<{len(payload)} bytes binary>"
        text = head[: exc.start].decode("utf-8")
    if not payload:
        return "(empty)"
    text = text.replace("\r\n", "⏎").replace("\n", "⏎")
    return text if len(text) <= limit and len(head) == len(payload) else text[: limit - 1] + "…"


def topic_filter_predicate(text: str) -> TopicMatcher:
    """A search of the tree: an MQTT filter when it has + or #, else a case-insensitive substring of the topic."""
    return TopicMatcher(text.strip())


@dataclass(frozen=True)
class TopicMatcher:
    """Whether a topic is shown by the tree's search field."""

    text: str

    def __post_init__(self) -> None:
        if self.wildcard and any(("#" in p and p != "#") or ("+" in p and p != "+") for p in self.text.split("/")):
            raise InvalidInputError(f"'{self.text}' is not a valid MQTT topic filter",
                                    ("'+' and '#' stand alone between '/' ('a/+/c', 'a/#'); '#' comes last.",))

    @property
    def wildcard(self) -> bool:
        """True for an MQTT filter, False for a substring search."""
        return "+" in self.text or "#" in self.text

    def __call__(self, topic: str) -> bool:
        """Whether the topic matches."""
        if not self.text:
            return True
        if self.wildcard:
            return topic_matches(self.text, topic)
        return self.text.lower() in topic.lower()


def _count(node: TopicNode, t: float) -> None:
    """One more message here or below: the total and the rate's exponential average (the hot path: messages of
    one batch share their time, so most calls skip the exponential)."""
    node.total += 1
    elapsed = t - node.last_time
    if elapsed > 0:
        node.rate_level = node.rate_level * math.exp(-elapsed / RATE_TAU_S) + _RATE_STEP
        node.last_time = t
    else:
        node.rate_level += _RATE_STEP


class TopicTree:
    """The tree, its per-topic histories and the budgets that bound them.

    Memory is bounded three ways: at most `max_topics` topics (the least recently updated ones are dropped), at
    most `history` messages per topic, and at most `history_budget` messages / `history_bytes` payload bytes in all
    histories together (the oldest entries of the least recently updated topics go first).
    """

    def __init__(self, max_topics: int = DEFAULT_MAX_TOPICS, history: int = DEFAULT_HISTORY,
                 history_budget: int = DEFAULT_HISTORY_BUDGET, history_bytes: int = DEFAULT_HISTORY_BYTES) -> None:
        if max_topics < 1 or history < 1 or history_budget < 1 or history_bytes < 1:
            raise InvalidInputError("The topic tree needs room for at least one topic and one message", ())
        self.max_topics = max_topics
        self.history_size = history
        self.history_budget = history_budget
        self.history_bytes = history_bytes
        self.clear()

    def clear(self) -> None:
        """Forget every topic and message (the user's Clear)."""
        self.root = TopicNode("", "", None)
        self._topics: OrderedDict[str, TopicNode] = OrderedDict()  # topics with messages, least recent first
        self._with_history: OrderedDict[str, TopicNode] = OrderedDict()
        self._history_count = 0
        self._history_payload = 0
        self.dropped_topics = 0

    # --- reading -------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        """How many topics had messages (inner levels that never had one are not counted)."""
        return len(self._topics)

    def find(self, topic: str) -> TopicNode | None:
        """The node of a topic, or None."""
        node = self.root
        for level in topic.split("/"):
            child = node.children.get(level)
            if child is None:
                return None
            node = child
        return node

    def history(self, topic: str) -> list[ConsoleMessage]:
        """The kept messages of one topic, oldest first."""
        node = self.find(topic)
        return list(node.history) if node is not None and node.history is not None else []

    def topics(self) -> list[str]:
        """Every topic that had messages, least recently updated first."""
        return list(self._topics)

    @property
    def history_kept(self) -> tuple[int, int]:
        """(messages, payload bytes) in all histories together."""
        return self._history_count, self._history_payload

    # --- feeding -------------------------------------------------------------------------------------------
    def apply(self, messages: Iterable[ConsoleMessage]) -> TreeChanges:
        """Add a batch of received messages (sent ones are skipped: the tree shows what the broker delivers)."""
        changes = TreeChanges()
        for message in messages:
            if message.direction == "in":
                self._add(message, changes)
        return changes

    def _add(self, message: ConsoleMessage, changes: TreeChanges) -> None:
        node = self.root
        t = message.timestamp
        _count(node, t)
        for level in message.topic.split("/"):
            child = node.children.get(level)
            if child is None:
                path = f"{node.path}/{level}" if node is not self.root else level
                child = TopicNode(level, path, node, row=len(node.order))
                node.children[level] = child
                node.order.append(child)
                changes.added.append(child)
            node = child
            _count(node, t)
        node.count += 1
        node.last = message
        node.retained = message.retain and bool(message.payload)
        topic = node.path
        if topic in self._topics:
            self._topics.move_to_end(topic)
        else:
            self._topics[topic] = node
            if len(self._topics) > self.max_topics:
                self._drop_oldest_topic(changes)
        self._remember(node, message)

    def _remember(self, node: TopicNode, message: ConsoleMessage) -> None:
        if node.history is None:
            node.history = deque()
        if len(node.history) >= self.history_size:
            self._forget(node.history.popleft())
        node.history.append(message)
        self._history_count += 1
        self._history_payload += len(message.payload)
        self._with_history[node.path] = node
        self._with_history.move_to_end(node.path)
        while (self._history_count > self.history_budget or self._history_payload > self.history_bytes) \
                and self._with_history:
            oldest = next(iter(self._with_history.values()))
            if oldest is node and len(node.history) == 1:
                break  # the message just added stays, whatever its size
            assert oldest.history is not None
            self._forget(oldest.history.popleft())
            if not oldest.history:
                del self._with_history[oldest.path]

    def _forget(self, message: ConsoleMessage) -> None:
        self._history_count -= 1
        self._history_payload -= len(message.payload)

    def _drop_oldest_topic(self, changes: TreeChanges) -> None:
        topic, node = self._topics.popitem(last=False)
        self.dropped_topics += 1
        changes.removed.append(topic)
        if node.history:
            for message in node.history:
                self._forget(message)
        node.history = None
        self._with_history.pop(topic, None)
        node.count, node.last, node.retained = 0, None, False
        while node is not self.root and node.parent is not None and not node.children and node.count == 0:
            parent = node.parent
            del parent.children[node.name]
            parent.order.pop(node.row)
            for row, sibling in enumerate(parent.order[node.row:], start=node.row):
                sibling.row = row
            node = parent

    # --- commands ------------------------------------------------------------------------------------------
    def mark_cleared(self, topic: str) -> None:
        """After an empty retained message was published: the topic has no retained message any more."""
        node = self.find(topic)
        if node is not None:
            node.retained = False
