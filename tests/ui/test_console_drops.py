"""The console never loses a message without a word: what it could not show is counted on screen with the reason,
against mosquitto with paho as an independent publisher."""

from pathlib import Path

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
            qtbot.waitUntil(lambda: model.rowCount() == console.bridge.received, timeout=5_000)
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

