"""Topic filters in a trie: the one place that knows `+`, `#`, `$`-topics and `$share/group/filter`.

Matches are cached per topic name (cleared on every subscription change), so a stream of publishes to a
few topics costs one dict lookup each instead of a trie walk.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Any

_CACHE_LIMIT = 4096
SHARE_PREFIX = "$share/"


@dataclass(slots=True)
class SubOptions:
    """What one subscription asked for: maximum QoS, the v5 options and its subscription identifier."""

    qos: int = 0
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0
    subscription_id: int | None = None


class SharedGroup:
    """Members of one `$share/<group>/<filter>`; each message goes to one of them, round-robin."""

    __slots__ = ("_next", "members", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.members: dict[Any, SubOptions] = {}
        self._next = 0

    def pick(self) -> tuple[Any, SubOptions] | None:
        """The next member in turn, preferring connected ones (a member is online if its `connection` is set)."""
        items = list(self.members.items())
        if not items:
            return None
        count = len(items)
        for step in range(count):
            session, opts = items[(self._next + step) % count]
            if getattr(session, "connection", None) is not None:
                self._next = (self._next + step + 1) % count
                return session, opts
        session, opts = items[self._next % count]
        self._next = (self._next + 1) % count
        return session, opts


class _Node:
    __slots__ = ("children", "shared", "subs")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.subs: dict[Any, SubOptions] = {}
        self.shared: dict[str, SharedGroup] = {}


# One delivery target after aggregation: (session, max qos, subscription ids, no_local, retain_as_published).
Target = tuple[Any, int, tuple[int, ...], bool, bool]


class MatchResult:
    """Direct subscribers (aggregated per session) and the shared groups a topic reaches."""

    __slots__ = ("direct", "shared")

    def __init__(self, direct: tuple[Target, ...], shared: tuple[SharedGroup, ...]) -> None:
        self.direct = direct
        self.shared = shared


def split_shared(topic_filter: str) -> tuple[str | None, str]:
    """(group, filter) for `$share/group/filter`, (None, filter) otherwise; ValueError if the share is malformed."""
    if not topic_filter.startswith(SHARE_PREFIX):
        return None, topic_filter
    rest = topic_filter[len(SHARE_PREFIX):]
    group, sep, inner = rest.partition("/")
    if not sep or not group or not inner or "+" in group or "#" in group:
        raise ValueError(f"malformed shared subscription {topic_filter!r}")
    return group, inner


def is_valid_filter(topic_filter: str) -> bool:
    """Whether a (non-shared) topic filter is well formed per MQTT 4.7.1."""
    if not topic_filter or "\x00" in topic_filter:
        return False
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return False
        if "+" in level and level != "+":
            return False
    return True


def is_valid_topic_name(topic: str) -> bool:
    """Whether a PUBLISH topic name is well formed: non-empty, no wildcards, no NUL."""
    return bool(topic) and "+" not in topic and "#" not in topic and "\x00" not in topic


def filter_matches(topic_filter: str, topic: str) -> bool:
    """Match one filter against one topic name (used for retained messages and as the reference semantics)."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    f_levels = topic_filter.split("/")
    t_levels = topic.split("/")
    for index, level in enumerate(f_levels):
        if level == "#":
            return True
        if index >= len(t_levels):
            return False
        if level != "+" and level != t_levels[index]:
            return False
    return len(f_levels) == len(t_levels)


class TopicTree:
    """Subscriptions of all sessions; `match(topic)` gives who receives a message published there."""

    def __init__(self) -> None:
        self._root = _Node()
        self._cache: dict[str, MatchResult] = {}
        self.count = 0

    def add(self, topic_filter: str, session: Hashable, opts: SubOptions) -> bool:
        """Add or replace a subscription; True if it already existed (v5 retain handling 1 needs this)."""
        group, inner = split_shared(topic_filter)
        node = self._root
        for level in inner.split("/"):
            node = node.children.setdefault(level, _Node())
        if group is None:
            existed = session in node.subs
            node.subs[session] = opts
        else:
            shared = node.shared.get(group)
            if shared is None:
                shared = node.shared[group] = SharedGroup(group)
            existed = session in shared.members
            shared.members[session] = opts
        if not existed:
            self.count += 1
        self._cache.clear()
        return existed

    def remove(self, topic_filter: str, session: Hashable) -> bool:
        """Remove one subscription; True if it existed. Empty branches are pruned."""
        try:
            group, inner = split_shared(topic_filter)
        except ValueError:
            return False
        path = [self._root]
        for level in inner.split("/"):
            child = path[-1].children.get(level)
            if child is None:
                return False
            path.append(child)
        node = path[-1]
        if group is None:
            found = node.subs.pop(session, None) is not None
        else:
            shared = node.shared.get(group)
            found = shared is not None and shared.members.pop(session, None) is not None
            if shared is not None and not shared.members:
                del node.shared[group]
        if found:
            self.count -= 1
            self._cache.clear()
            levels = inner.split("/")
            for depth in range(len(levels), 0, -1):
                child = path[depth]
                if child.children or child.subs or child.shared:
                    break
                del path[depth - 1].children[levels[depth - 1]]
        return found

    def match(self, topic: str) -> MatchResult:
        """Everyone subscribed to a filter matching `topic`, with per-session aggregated options."""
        cached = self._cache.get(topic)
        if cached is not None:
            return cached
        nodes: list[_Node] = []
        self._collect(self._root, topic.split("/"), 0, nodes, topic.startswith("$"))
        merged: dict[Any, list[Any]] = {}
        shared: list[SharedGroup] = []
        for node in nodes:
            for session, opts in node.subs.items():
                entry = merged.get(session)
                ids = (opts.subscription_id,) if opts.subscription_id else ()
                if entry is None:
                    merged[session] = [opts.qos, ids, opts.no_local, opts.retain_as_published]
                else:
                    entry[0] = max(entry[0], opts.qos)
                    entry[1] = entry[1] + ids
                    entry[2] = entry[2] and opts.no_local
                    entry[3] = entry[3] or opts.retain_as_published
            shared.extend(node.shared.values())
        result = MatchResult(tuple((s, e[0], e[1], e[2], e[3]) for s, e in merged.items()), tuple(shared))
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[topic] = result
        return result

    def _collect(self, node: _Node, levels: list[str], index: int, out: list[_Node], dollar: bool) -> None:
        children = node.children
        if index == len(levels):
            out.append(node)
            hash_node = children.get("#")
            if hash_node is not None:
                out.append(hash_node)
            return
        if not (index == 0 and dollar):
            hash_node = children.get("#")
            if hash_node is not None:
                out.append(hash_node)
            plus = children.get("+")
            if plus is not None:
                self._collect(plus, levels, index + 1, out, dollar)
        child = children.get(levels[index])
        if child is not None:
            self._collect(child, levels, index + 1, out, dollar)

    def iter_filters(self) -> Iterator[tuple[str, Any, SubOptions]]:
        """Every (filter, session, options), for diagnostics and tests."""
        stack: list[tuple[str, _Node]] = [("", self._root)]
        while stack:
            prefix, node = stack.pop()
            for session, opts in node.subs.items():
                yield prefix, session, opts
            for group in node.shared.values():
                for session, opts in group.members.items():
                    yield f"{SHARE_PREFIX}{group.name}/{prefix}", session, opts
            for level, child in node.children.items():
                stack.append((f"{prefix}/{level}" if prefix or node is not self._root else level, child))
