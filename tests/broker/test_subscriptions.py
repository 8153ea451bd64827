"""The topic trie against a naive reference matcher (property test), plus the `$` and shared-subscription rules."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from embedded_broker.mqtt.subscriptions import (
    SubOptions,
    TopicTree,
    is_valid_filter,
    is_valid_topic_name,
    split_shared,
)

LEVELS = st.sampled_from(["a", "b", "c", "", "$SYS", "x y"])


def naive_match(topic_filter: str, topic: str) -> bool:
    """Reference semantics written from the spec text, independently of the trie's code."""
    if topic.startswith("$") and (topic_filter.startswith("+") or topic_filter.startswith("#")):
        return False
    f, t = topic_filter.split("/"), topic.split("/")
    i = 0
    while i < len(f):
        if f[i] == "#":
            return True
        if i == len(t) or (f[i] != "+" and f[i] != t[i]):
            return False
        i += 1
    return i == len(t)


def topic_names() -> st.SearchStrategy[str]:
    return st.lists(LEVELS, min_size=1, max_size=4).map("/".join).filter(bool)


def topic_filters() -> st.SearchStrategy[str]:
    level = st.one_of(LEVELS, st.just("+"))
    return st.tuples(st.lists(level, min_size=1, max_size=4), st.booleans()).map(
        lambda parts: "/".join(parts[0] + (["#"] if parts[1] else []))
    ).filter(bool)


class Owner:
    def __init__(self, name: str) -> None:
        self.name = name
        self.connection = object()


@given(filters=st.lists(topic_filters(), max_size=12, unique=True), topic=topic_names())
def test_trie_matches_reference(filters: list[str], topic: str) -> None:
    tree = TopicTree()
    owners = {f: Owner(f) for f in filters}
    for topic_filter, owner in owners.items():
        tree.add(topic_filter, owner, SubOptions())
    got = {target[0].name for target in tree.match(topic).direct}
    assert got == {f for f in filters if naive_match(f, topic)}


@given(filters=st.lists(topic_filters(), min_size=1, max_size=8, unique=True), topic=topic_names())
def test_removing_everything_empties_the_trie(filters: list[str], topic: str) -> None:
    tree = TopicTree()
    owner = Owner("one")
    for topic_filter in filters:
        tree.add(topic_filter, owner, SubOptions())
    tree.match(topic)  # fill the cache, which removal must invalidate
    for topic_filter in filters:
        assert tree.remove(topic_filter, owner)
    assert tree.count == 0
    assert tree.match(topic).direct == ()
    assert list(tree.iter_filters()) == []


def test_dollar_topics_are_not_matched_by_leading_wildcards() -> None:
    tree = TopicTree()
    for topic_filter in ("#", "+/broker/uptime", "$SYS/#", "$SYS/broker/+"):
        tree.add(topic_filter, Owner(topic_filter), SubOptions())
    got = sorted(t[0].name for t in tree.match("$SYS/broker/uptime").direct)
    assert got == ["$SYS/#", "$SYS/broker/+"]


def test_parent_matches_multi_level_wildcard() -> None:
    tree = TopicTree()
    tree.add("sport/tennis/#", Owner("f"), SubOptions())
    assert len(tree.match("sport/tennis").direct) == 1
    assert len(tree.match("sport/tennisplayer").direct) == 0


def test_overlapping_subscriptions_aggregate_per_session() -> None:
    tree = TopicTree()
    owner = Owner("o")
    tree.add("a/+", owner, SubOptions(qos=1, subscription_id=3))
    tree.add("a/#", owner, SubOptions(qos=2, subscription_id=7))
    (target,) = tree.match("a/b").direct
    assert target[1] == 2 and sorted(target[2]) == [3, 7]


def test_shared_groups_round_robin_prefers_connected_members() -> None:
    tree = TopicTree()
    a, b, offline = Owner("a"), Owner("b"), Owner("off")
    offline.connection = None  # type: ignore[assignment]
    for owner in (a, b, offline):
        tree.add("$share/g/jobs/+", owner, SubOptions(qos=1))
    (group,) = tree.match("jobs/1").shared
    picks = [group.pick()[0].name for _ in range(4)]  # type: ignore[index]
    assert sorted(picks) == ["a", "a", "b", "b"]
    assert tree.match("jobs/1").direct == ()


def test_filter_and_share_validation() -> None:
    assert is_valid_filter("a/+/#") and is_valid_filter("+") and is_valid_filter("/")
    for bad in ("", "a/#/b", "a#", "a/b+", "x\x00"):
        assert not is_valid_filter(bad)
    assert is_valid_topic_name("a/b") and not is_valid_topic_name("a/+")
    assert split_shared("$share/g/a/b") == ("g", "a/b")
    assert split_shared("a/b") == (None, "a/b")
    for bad in ("$share/g", "$share//a", "$share/g+/a"):
        try:
            split_shared(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
