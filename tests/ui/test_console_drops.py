"""The console never loses a message without a word: what it could not show is counted on screen with the reason,
against mosquitto with paho as an independent publisher."""

import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.support.mosquitto import run_mosquitto
from workbench.services.mqtt_session import SessionSettings
from workbench.ui.console.console_widget import ConsoleWidget

pytestmark = pytest.mark.interop


def test_messages_that_fell_out_while_paused_are_counted_on_screen(qtbot: QtBot, tmp_path: Path,
                                                                   screenshot_dir: Path) -> None:
    with run_mosquitto(tmp_path) as broker:
        console = ConsoleWidget(SessionSettings("127.0.0.1", broker.plain_port, "wb-drops"), capacity=100)
        qtbot.addWidget(console)
        console.resize(1200, 760)
        console.show()
        console.connect_session()
        qtbot.waitUntil(lambda: console.state_label.text() == "connected", timeout=10_000)
        console.subscribe_panel.filter_edit.setText("flood/#")
        console.subscribe_panel.subscribe()
        view, model = console.message_view, console.model
        publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="flood")
        publisher.connect("127.0.0.1", broker.plain_port)
        publisher.loop_start()
        try:
            # The SUBACK may lag the click: probe until one message comes back, then flood.
            qtbot.waitUntil(lambda: publisher.publish("flood/probe", b"p", 1).wait_for_publish(5) or
                            console.bridge.received > 0, timeout=10_000)
            # A last probe on the same topic arrives after every earlier one (MQTT keeps a topic's order), so the
            # count below starts with no probe still on its way.
            publisher.publish("flood/probe", b"last", 1).wait_for_publish(5)
            qtbot.waitUntil(lambda: model.rowCount() == console.bridge.received and model.rowCount() > 0 and
                            model.message(model.rowCount() - 1).payload == b"last", timeout=5_000)
            assert not view.dropped.isVisible()
            before = console.bridge.received
            qtbot.mouseClick(view.pause_button, Qt.MouseButton.LeftButton)
            for burst in range(3):  # bursts of 100 (the buffer's size): each tick takes at most a buffer-full
                for i in range(100):
                    publisher.publish(f"flood/{burst}", f"{i}".encode(), 1)
                qtbot.waitUntil(lambda b=burst: console.bridge.received == before + 100 * (b + 1), timeout=10_000)
                model.flush()
        finally:
            publisher.loop_stop()
            publisher.disconnect()
        assert model.rowCount() == before  # paused: the view stood still
        assert (model.dropped_paused, model.dropped_capacity) == (200, 0)
        assert view.dropped.isVisible() and view.dropped.text() == "200 dropped: paused"
        assert "fell out of the buffer" in view.dropped.toolTip() and "100 messages" in view.dropped.toolTip()
        console.grab().save(str(screenshot_dir / "console-dropped-while-paused.png"))
        qtbot.mouseClick(view.pause_button, Qt.MouseButton.LeftButton)
        assert model.rowCount() == 100 and model.message(99).payload == b"99"
        assert model.shown_total + model.dropped_paused + model.dropped_capacity == console.bridge.received
        model.clear()
        assert not view.dropped.isVisible()
        console.shutdown()


def test_the_views_paint_with_the_feed_held(qtbot: QtBot) -> None:
    """While the message table or the topic tree paints, a message from paho's thread waits at the feed (off the
    GIL) rather than taking the GIL back between the paint's data() calls (bench/console.py: p99 75 → 32 ms)."""
    console = ConsoleWidget(SessionSettings("127.0.0.1", 1, "wb-held"))
    qtbot.addWidget(console)
    console.resize(1200, 760)
    console.show()
    feed = console.model.feed
    for i in range(50):
        feed.add("in", f"t/{i}", b"x")
    feed.flush()
    added: list[float] = []
    adder = threading.Thread(target=lambda: (feed.add("in", "t/late", b"y"), added.append(time.perf_counter())))
    with feed.held():  # as a paint does: the adder is stuck at the feed's lock
        adder.start()
        adder.join(0.3)  # it would have added by now, were it not held
        assert not added
    adder.join(5)
    assert added  # released after the hold
    for tab, view in ((console.message_view, console.message_view.table),
                      (console.topics, console.topics.tree_panel.view)):
        console.views.setCurrentWidget(tab)
        qtbot.waitExposed(view)
        _assert_paints_held(qtbot, feed, view)
    console.shutdown()


def _assert_paints_held(qtbot: QtBot, feed: Any, view: Any) -> None:
    painted: list[bool] = []

    def recording_hold() -> Any:
        painted.append(threading.current_thread() is threading.main_thread())
        return feed.held()

    view._hold = recording_hold
    view.viewport().update()
    qtbot.waitUntil(lambda: bool(painted), timeout=5_000)  # the next paint goes through the hold
    assert all(painted), f"{type(view).__name__} took the feed's hold off the GUI thread"
