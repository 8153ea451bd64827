import csv
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.console.export import to_csv, to_json_lines
from workbench.core.console.messages import MessageFilter, MessageRing, topic_matches
from workbench.errors import InvalidInputError


def test_ring_keeps_the_newest_and_counts_what_fell_off() -> None:
    ring = MessageRing(capacity=3)
    for i in range(5):
        ring.append(float(i), "in", f"t/{i}", b"x", subscription="t/#")
    assert [m.topic for m in ring] == ["t/2", "t/3", "t/4"]
    assert ring.evicted == 2 and ring.first_seq == 2 and ring.per_subscription == {"t/#": 5}
    ring.clear()
    assert len(ring) == 0 and ring.evicted == 0


@pytest.mark.parametrize(("flt", "topic", "ok"), [
    ("a/+/c", "a/b/c", True), ("a/#", "a", True), ("a/#", "a/b/c", True), ("+/b", "a/b", True),
    ("a/+", "a/b/c", False), ("#", "$SYS/x", False), ("$SYS/#", "$SYS/broker/uptime", True), ("a", "a/b", False),
])
def test_topic_filter_matching(flt: str, topic: str, ok: bool) -> None:
    assert topic_matches(flt, topic) is ok


@given(st.lists(st.sampled_from(["a", "b", "+"]), min_size=1, max_size=4),
       st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=4))
def test_plus_matches_exactly_one_level(filter_parts: list[str], topic_parts: list[str]) -> None:
    expected = len(filter_parts) == len(topic_parts) and all(
        f in ("+", t) for f, t in zip(filter_parts, topic_parts, strict=True))
    assert topic_matches("/".join(filter_parts), "/".join(topic_parts)) is expected


def test_filter_by_text_and_regex() -> None:
    ring = MessageRing()
    a = ring.append(0, "in", "s/ds", b"510,dev-1")
    b = ring.append(0, "in", "s/e", b"41,100,Device already existing")
    assert MessageFilter(text="DEVICE").accepts(b) and not MessageFilter(text="device").accepts(a)
    assert MessageFilter(text=r"^5\d\d,", regex=True).accepts(a)
    assert not MessageFilter(topic_filter="s/e").accepts(a)
    with pytest.raises(InvalidInputError, match="not a valid regular expression"):
        MessageFilter(text="(", regex=True)


def test_exports_keep_text_and_binary_payloads() -> None:
    ring = MessageRing()
    ring.append(1700000000.0, "in", "t", "zażółć,\"x\"".encode())
    ring.append(1700000000.5, "out", "bin", b"\xff\x00", qos=1, retain=True, properties={"correlation_data": b"\x01"})
    rows = list(csv.reader(io.StringIO(to_csv(ring).decode())))
    assert rows[1][2:] == ["t", "0", "0", str(len("zażółć,\"x\"".encode())), "utf-8", "zażółć,\"x\""]
    assert rows[2][6:] == ["base64", "/wA="]
    lines = [json.loads(line) for line in to_json_lines(ring).decode().splitlines()]
    assert lines[1]["properties"] == {"correlation_data": "01"} and lines[1]["retain"] is True
