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
    for i in range(250):
        model.add_message("in", f"t/{i}", b"x")
    model.flush()
    assert model.rowCount() == 100
    assert model.message(0).topic == "t/150"
    assert counts[-1] == (100, 100, 150, 0)


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
