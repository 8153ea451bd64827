"""The topic tree's counts, rates, retained markers, search and histories, and the budgets that bound its memory."""

from __future__ import annotations

import pytest

from workbench.core.console.messages import ConsoleMessage
from workbench.core.console.topic_tree import TopicTree, preview, topic_filter_predicate
from workbench.errors import InvalidInputError

_seq = iter(range(10**9))


def msg(topic: str, payload: bytes = b"1", t: float = 1000.0, retain: bool = False,
        direction: str = "in") -> ConsoleMessage:
    return ConsoleMessage(next(_seq), t, direction, topic, payload, 0, retain)


def test_the_tree_grows_with_counts_totals_and_the_last_value() -> None:
    tree = TopicTree()
    changes = tree.apply([msg("plant/a/temp", b"20"), msg("plant/a/temp", b"21"), msg("plant/b", b"x"),
                          msg("other", b"y"), msg("plant/a/temp", b"sent", direction="out")])
    assert [n.path for n in changes.added] == ["plant", "plant/a", "plant/a/temp", "plant/b", "other"]
    temp = tree.find("plant/a/temp")
    assert temp is not None and temp.count == 2 and temp.last is not None and temp.last.payload == b"21"
    plant = tree.find("plant")
    assert plant is not None and plant.count == 0 and plant.total == 3
    assert [c.name for c in plant.order] == ["a", "b"] and plant.order[1].row == 1
    assert len(tree) == 3 and tree.root.total == 4


def test_rate_is_messages_per_second_and_decays_when_quiet() -> None:
    tree = TopicTree()
    tree.apply(msg("r", t=1000.0 + i / 10) for i in range(300))  # 10 msg/s for 30 s
    node = tree.find("r")
    assert node is not None
    assert node.rate(1030.0) == pytest.approx(10.0, rel=0.05)
    assert node.rate(1060.0) < 0.01 * node.rate(1030.0)


def test_retained_marker_follows_the_last_message_and_clearing() -> None:
    tree = TopicTree()
    tree.apply([msg("cfg", b"on", retain=True)])
    node = tree.find("cfg")
    assert node is not None and node.retained
    tree.mark_cleared("cfg")
    assert not node.retained
    tree.apply([msg("cfg", b"", retain=True)])  # an empty retained message is a deletion, not a retained value
    assert not node.retained


def test_history_per_topic_is_bounded_and_in_order() -> None:
    tree = TopicTree(history=3)
    tree.apply(msg("h", str(i).encode()) for i in range(10))
    assert [m.payload for m in tree.history("h")] == [b"7", b"8", b"9"]
    assert tree.history("missing") == []


def test_global_history_budgets_drop_the_least_recent_topics_first() -> None:
    tree = TopicTree(history=10, history_budget=25)
    for topic in ("a", "b", "c", "d"):
        tree.apply(msg(topic) for _ in range(10))
    assert tree.history_kept[0] == 25
    assert len(tree.history("a")) == 0 and len(tree.history("b")) == 5 and len(tree.history("d")) == 10
    by_bytes = TopicTree(history_bytes=1000)
    by_bytes.apply(msg(f"t/{i}", b"x" * 100) for i in range(50))
    assert by_bytes.history_kept[1] <= 1000 and len(by_bytes.history("t/49")) == 1


def test_topic_count_is_bounded_the_least_recently_updated_topic_goes() -> None:
    tree = TopicTree(max_topics=3)
    tree.apply([msg("x/1"), msg("x/2"), msg("y/1")])
    tree.apply([msg("x/1")])
    changes = tree.apply([msg("z/1")])
    assert changes.removed == ["x/2"]
    assert sorted(tree.topics()) == ["x/1", "y/1", "z/1"]
    x = tree.find("x")
    assert x is not None and [c.name for c in x.order] == ["1"] and x.order[0].row == 0
    tree.apply([msg("q")])  # y/1 goes, and with it the empty level y
    assert tree.find("y") is None and tree.dropped_topics == 2


def test_memory_stays_bounded_with_many_distinct_topics() -> None:
    tree = TopicTree(max_topics=1000, history=5, history_budget=2000)
    for batch in range(20):
        tree.apply(msg(f"dev/{batch}/{i}", b"v") for i in range(500))
    assert len(tree) == 1000 and tree.history_kept[0] <= 2000
    assert sum(1 for node in tree.root.walk()) <= 1000 + 20 + 2


@pytest.mark.parametrize(("search", "topic", "shown"), [
    ("", "a/b", True), ("TEMP", "plant/temp", True), ("temp", "plant/pressure", False),
    ("plant/+/temp", "plant/a/temp", True), ("plant/+/temp", "plant/a/b/temp", False), ("plant/#", "plant/x/y", True),
])
def test_search_by_substring_or_mqtt_filter(search: str, topic: str, shown: bool) -> None:
    assert topic_filter_predicate(search)(topic) is shown


def test_a_broken_filter_in_the_search_says_so() -> None:
    with pytest.raises(InvalidInputError, match="not a valid MQTT topic filter"):
        topic_filter_predicate("a/b#")


@pytest.mark.parametrize(("payload", "shown"), [
    (b'{"t": 1}', '{"t": 1}'), (b"a\nb", "a⏎b"), (b"\x00\xff\xfe", "<3 bytes binary>"), (b"", "(empty)"),
    (b"x" * 100, "x" * 79 + "…"), ("é".encode() * 400, "é" * 79 + "…"),
])
def test_preview_is_one_short_line(payload: bytes, shown: str) -> None:
    assert preview(payload) == shown
