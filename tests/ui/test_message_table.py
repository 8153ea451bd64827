import threading

from pytestqt.qtbot import QtBot

from workbench.core.console.messages import MessageFilter, MessageRing
from workbench.ui.models.message_table import MessageTableModel


def test_messages_from_another_thread_arrive_in_batches(qtbot: QtBot) -> None:
    model = MessageTableModel(MessageRing(1000), flush_ms=10)
    worker = threading.Thread(target=lambda: [model.add_message("in", f"t/{i}", b"x") for i in range(500)])
    with qtbot.waitSignal(model.counts_changed, timeout=5000):
        worker.start()
    worker.join()
    qtbot.waitUntil(lambda: model.rowCount() == 500)
    assert model.data(model.index(499, 2)) == "t/499"
    assert model.data(model.index(0, 1)) == "←"


def test_ring_capacity_bounds_the_rows_and_counts_evictions(qtbot: QtBot) -> None:
    model = MessageTableModel(MessageRing(100), flush_ms=10)
    counts: list[tuple[int, int, int, int]] = []
    model.counts_changed.connect(lambda *c: counts.append(c))
    for i in range(250):  # more than the buffer holds in one tick: the oldest 150 never reach it, and are counted
        model.add_message("in", f"t/{i}", b"x")
    model.flush()
    assert model.rowCount() == 100
    assert model.message(0).topic == "t/150"
    assert counts[-1] == (100, 100, 0, 0) and model.dropped_capacity == 150
    for i in range(30):  # in later ticks the oldest shown rows leave the buffer (shown, so not dropped)
        model.add_message("in", f"u/{i}", b"x")
        model.flush()
    assert counts[-1] == (100, 100, 30, 0) and model.message(0).topic == "t/180"
    assert model.shown_total == 130 and model.dropped_capacity == 150 and model.dropped_paused == 0


def test_filter_pause_resume_and_clear(qtbot: QtBot) -> None:
    model = MessageTableModel(MessageRing(1000), flush_ms=10)
    for i in range(10):
        model.add_message("in", "s/ds" if i % 2 else "s/e", f"{i}".encode())
    model.flush()
    model.set_filter(MessageFilter(topic_filter="s/e"))
    assert model.rowCount() == 5
    model.set_paused(True)
    model.add_message("in", "s/e", b"late")
    model.flush()
    assert model.rowCount() == 5 and model.pending == 1
    model.set_paused(False)
    assert model.rowCount() == 6 and model.pending == 0
    model.clear()
    assert model.rowCount() == 0 and len(model.ring) == 0


def test_messages_lost_while_paused_are_counted_with_the_reason(qtbot: QtBot) -> None:
    model = MessageTableModel(MessageRing(100), flush_ms=10)
    drops: list[tuple[int, int]] = []
    model.drops_changed.connect(lambda *d: drops.append(d))
    for i in range(40):
        model.add_message("in", f"t/{i}", b"x")
    model.flush()
    model.set_paused(True)
    for tick in range(5):  # 5 ticks of 50 while paused: 250 arrive, the ring keeps 100, 150 never reach the screen
        for i in range(50):
            model.add_message("in", f"p/{tick}/{i}", b"x")
        model.flush()
    assert model.rowCount() == 40 and model.pending == 100
    assert model.dropped_paused == 150 and drops[-1] == (0, 150)
    model.set_paused(False)
    assert model.rowCount() == 100 and model.message(0).topic == "p/3/0"
    received = 40 + 250
    assert model.shown_total + model.dropped_paused + model.dropped_capacity == received  # nothing lost unsaid
    model.clear()
    assert drops[-1] == (0, 0)


def test_every_consumer_gets_one_batch_per_tick_from_the_same_feed(qtbot: QtBot) -> None:
    model = MessageTableModel(MessageRing(1000), flush_ms=10_000)  # the test drives the ticks
    batches: list[list[str]] = []
    model.feed.batch.connect(lambda added: batches.append([m.topic for m in added]))  # e.g. a topic tree
    for i in range(300):
        model.add_message("in", f"t/{i % 3}", b"x")
    model.flush()
    model.add_message("out", "s/us", b"y")
    model.flush()
    model.flush()  # nothing queued: no empty batch
    assert [len(b) for b in batches] == [300, 1] and batches[1] == ["s/us"]
    assert model.rowCount() == 301 and model.feed.received == 301


def test_a_tick_appends_at_most_a_batch_so_a_backlog_drains_over_ticks(qtbot: QtBot) -> None:
    """After the GUI thread fell behind, one tick takes 1,000 messages, not all of them (bench/console.py saw a
    flood's backlog of thousands turn into one 200-300 ms stall); an explicit flush still takes everything."""
    model = MessageTableModel(MessageRing(10_000), flush_ms=10_000)  # the test drives the ticks
    for i in range(2_500):
        model.add_message("in", f"t/{i}", b"x")
    model.feed._tick()
    assert (model.rowCount(), model.feed.queued) == (1_000, 1_500)
    assert model.data(model.index(999, 2)) == "t/999"  # the oldest first
    model.feed._tick()
    assert (model.rowCount(), model.feed.queued) == (2_000, 500)
    model.flush()
    assert (model.rowCount(), model.feed.queued) == (2_500, 0)


def test_paho_thread_waits_while_a_batch_is_handed_out(qtbot: QtBot) -> None:
    """The consumers of a batch run with the feed held: a message from another thread waits at add(), off the GIL,
    instead of taking the GIL back between the consumers' Python calls; it arrives in the next batch."""
    model = MessageTableModel(MessageRing(1000), flush_ms=10_000)
    model.add_message("in", "t/first", b"x")
    blocked: list[bool] = []

    def consumer(added: object) -> None:
        if blocked:
            return
        adder = threading.Thread(target=model.add_message, args=("in", "t/late", b"y"))
        adder.start()
        adder.join(0.3)
        blocked.append(adder.is_alive())  # still waiting at the feed's lock
        model.add_message("out", "t/own", b"z")  # the GUI thread itself may add (the lock is re-entrant)

    model.feed.batch.connect(consumer)
    model.flush()
    assert blocked == [True]
    qtbot.waitUntil(lambda: model.feed.queued == 2, timeout=5_000)
    model.flush()
    assert sorted(model.data(model.index(r, 2)) for r in range(3)) == ["t/first", "t/late", "t/own"]
