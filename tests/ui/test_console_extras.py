"""Console extras on MQTT 5: per-filter colours and mute, subscription options, PUBLISH properties, saved messages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from embedded_broker import BackgroundBroker, BrokerConfig
from workbench.services.mqtt_session import SessionSettings
from workbench.ui.console.console_widget import ConsoleWidget


@pytest.fixture
def port() -> Iterator[int]:
    with BackgroundBroker(BrokerConfig.sandbox(port=0, sys_interval=0)) as broker:
        yield broker.ports["mqtt"]


def _console(qtbot: QtBot, port: int, profile_id: str = "profile-extras") -> ConsoleWidget:
    console = ConsoleWidget(SessionSettings("127.0.0.1", port, "wb-extras", protocol=5), profile_id=profile_id)
    qtbot.addWidget(console)
    console.show()
    console.connect_session()
    qtbot.waitUntil(lambda: console.state_label.text() == "connected", timeout=10_000)
    return console


def _subscribe(console: ConsoleWidget, topic_filter: str) -> None:
    console.subscribe_panel.filter_edit.setText(topic_filter)
    console.subscribe_panel.subscribe()


def _received(console: ConsoleWidget, topic: str) -> list:
    return [m for m in console.model.ring if m.direction == "in" and m.topic == topic]


def test_colours_mute_no_local_and_properties(qtbot: QtBot, port: int) -> None:
    console = _console(qtbot, port)
    sub, pub = console.subscribe_panel, console.publish_panel
    _subscribe(console, "a/#")
    _subscribe(console, "b/#")
    sub.no_local.setChecked(True)
    _subscribe(console, "c/#")
    assert console.model.colours["a/#"] != console.model.colours["b/#"]
    assert pub.publish_properties is not None
    pub.publish_properties.content_type.setText("application/json")
    pub.publish_properties.user_properties.setText("site=lab; line=3")
    for topic in ("a/1", "b/1", "c/1"):
        pub.topic_combo.setCurrentText(topic)
        pub.payload_edit.setPlainText('{"v": 1}')
        qtbot.waitUntil(lambda t=topic: pub.publish() or bool(_received(console, t)) or t == "c/1",
                        timeout=10_000)
    qtbot.waitUntil(lambda: bool(_received(console, "a/1")) and bool(_received(console, "b/1")), timeout=10_000)
    incoming = _received(console, "a/1")[0]
    assert incoming.properties.get("ContentType") == "application/json"  # as paho names received properties
    assert ("site", "lab") in [tuple(p) for p in incoming.properties.get("UserProperty", [])]
    assert not _received(console, "c/1")  # no local: our own publication did not come back
    sub.subscriptions["b/#"].setCheckState(0, Qt.CheckState.Checked)
    assert sub.muted() == frozenset({"b/#"})
    shown = console.model.visible_messages()
    assert not any(m.topic == "b/1" and m.direction == "in" for m in shown)
    assert any(m.topic == "a/1" and m.direction == "in" for m in shown)
    assert sub.subscriptions["b/#"].text(2) != "0"  # muted, still counted
    console.shutdown()


def test_saved_messages_per_profile(qtbot: QtBot, port: int) -> None:
    console = _console(qtbot, port, "profile-saved")
    pub = console.publish_panel
    pub.topic_combo.setCurrentText("s/us")
    pub.payload_edit.setPlainText("211,25.5")
    pub.pub_qos.setCurrentIndex(1)
    assert pub.saved_button.save_current("temperature") is not None
    console.shutdown()
    again = _console(qtbot, port, "profile-saved")
    saved = again.publish_panel.saved_button
    saved.rebuild()
    names = [a.text() for a in saved.menu().actions()]
    assert "temperature  (s/us)" in names
    saved.load_message(saved.store.load()[0])
    assert again.publish_panel.payload_edit.toPlainText() == "211,25.5"
    assert again.publish_panel.pub_qos.currentIndex() == 1
    other = _console(qtbot, port, "another-profile")
    assert other.publish_panel.saved_button.store.load() == []
    again.shutdown()
    other.shutdown()
