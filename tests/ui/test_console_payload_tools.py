"""The console's payload tools end to end against mosquitto: the publish editor's "Send as" CBOR, MessagePack,
Protobuf (a user's .proto) and Sparkplug B, checked by an independent paho subscriber that decodes with the libraries
(cbor2, msgpack, and protobuf classes protoc generated from the .proto); a Sparkplug B NBIRTH/DDATA from a paho
publisher shown decoded in the Messages tab's detail pane; the decoder chosen per filter in the subscribe panel
survives the profile being saved and loaded by a new console; the profile's saved subscriptions are offered."""

from __future__ import annotations

import importlib
import json
import math
import queue
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import cbor2
import grpc_tools
import msgpack
import paho.mqtt.client as mqtt
import pytest
from grpc_tools import protoc
from pytestqt.qtbot import QtBot

from tests.support.mosquitto import run_mosquitto
from workbench import paths
from workbench.core.console.decoders import DecoderKind, DecoderSpec
from workbench.core.profiles.model import ConnectionProfile
from workbench.core.profiles.parts import Subscription
from workbench.core.profiles.store import ProfileStore
from workbench.services.mqtt_session import SessionSettings
from workbench.ui.connections.page import ConnectionsPage
from workbench.ui.console.console_widget import ConsoleWidget

pytestmark = pytest.mark.interop

READING_PROTO = """
syntax = "proto3";
package plant.v1;
enum Unit { UNIT_UNSPECIFIED = 0; CELSIUS = 1; BAR = 2; }
message Reading {
  string sensor = 1;
  double value = 2;
  Unit unit = 3;
  repeated int32 tags = 4;
}
"""


def generated_module(proto: Path, out: Path, module: str) -> ModuleType:
    """The _pb2 module protoc generates for a .proto: the subscriber's own decoder, independent of the workbench."""
    out.mkdir(exist_ok=True)
    include = Path(grpc_tools.__file__).parent / "_proto"
    assert protoc.main(["protoc", f"-I{proto.parent}", f"-I{include}", f"--python_out={out}", proto.name]) == 0
    sys.path.insert(0, str(out))
    try:
        sys.modules.pop(module, None)
        return importlib.import_module(module)
    finally:
        sys.path.remove(str(out))


class Subscriber:
    """An independent paho client that queues what it receives on one filter."""

    def __init__(self, port: int, topic_filter: str) -> None:
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"paho-{topic_filter[:4]}")
        subscribed = threading.Event()
        self.client.on_message = lambda _c, _u, m: self.messages.put(m)
        self.client.on_connect = lambda c, *_: c.subscribe(topic_filter, qos=1)
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(10)

    def next(self) -> mqtt.MQTTMessage:
        return self.messages.get(timeout=10)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[int]:
    with run_mosquitto(tmp_path) as running:
        yield running.plain_port


def open_console(qtbot: QtBot, port: int, client_id: str, profile_id: str = "") -> tuple[ConnectionsPage,
                                                                                          ConsoleWidget]:
    page = ConnectionsPage()
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    console = page.open_console(SessionSettings("127.0.0.1", port, client_id), profile_id=profile_id)
    qtbot.waitUntil(lambda: console.state_label.text() == "connected", timeout=10_000)
    return page, console


def test_publish_as_cbor_msgpack_protobuf_and_sparkplug_reaches_an_independent_subscriber(
        qtbot: QtBot, tmp_path: Path, broker: int) -> None:
    proto = tmp_path / "reading.proto"
    proto.write_text(READING_PROTO, encoding="utf-8")
    reading_pb2 = generated_module(proto, tmp_path / "gen", "reading_pb2")
    sparkplug_pb2 = generated_module(paths.resource_path("proto", "sparkplug_b.proto"), tmp_path / "gen",
                                     "sparkplug_b_pb2")
    subscriber = Subscriber(broker, "enc/#")
    _page, console = open_console(qtbot, broker, "wb-encode")
    problems: list[str] = []
    console.problem.show_error = lambda error: problems.append(error.summary)  # type: ignore[method-assign]
    publish = console.publish_panel
    try:
        reading = {"sensor": "pump-1", "value": 21.5, "unit": "CELSIUS", "tags": [1, 2]}
        publish.payload_edit.setPlainText(json.dumps(reading))
        assert publish.send_as.currentText() == "Text"
        for kind, decode in ((DecoderKind.CBOR, cbor2.loads), (DecoderKind.MSGPACK, msgpack.unpackb)):
            publish.send_as.choose(DecoderSpec(kind))
            assert publish.payload_check.text().startswith("✓") and "bytes as" in publish.payload_check.text()
            publish.topic_combo.setCurrentText(f"enc/{kind.value}")
            publish.publish()
            got = subscriber.next()
            assert got.topic == f"enc/{kind.value}" and decode(got.payload) == reading
        # Protobuf: "Protobuf (.proto)…" asks for the file and the message type (the dialogs, answered here)
        publish.send_as.pick_protobuf = lambda: DecoderSpec(DecoderKind.PROTOBUF, str(proto), "plant.v1.Reading")
        publish.send_as.activated.emit(publish.send_as.findText("Protobuf (.proto)…"))
        assert publish.send_as.currentText() == "Protobuf: reading.proto:plant.v1.Reading"
        publish.topic_combo.setCurrentText("enc/protobuf")
        publish.publish()
        got = subscriber.next()
        message = reading_pb2.Reading.FromString(got.payload)
        assert (message.sensor, message.value, message.unit, list(message.tags)) == ("pump-1", 21.5, 1, [1, 2])
        # JSON that does not fit the type: a one-line problem, nothing sent, no exception
        publish.payload_edit.setPlainText('{"sensor": "pump-1", "colour": "red"}')
        assert publish.payload_check.text().startswith("✗ The JSON does not fit plant.v1.Reading")
        assert "\n" not in publish.payload_check.text()
        publish.publish()
        assert problems == ["The JSON does not fit plant.v1.Reading"]
        publish.payload_edit.setPlainText("not json")
        publish.publish()
        assert problems[-1] == "The payload is not JSON, so it cannot be sent as Protobuf plant.v1.Reading"
        # Sparkplug B: a DDATA written as JSON in the editor
        publish.send_as.choose(DecoderSpec(DecoderKind.SPARKPLUG))
        publish.payload_edit.setPlainText(json.dumps({"timestamp": 1_700_000_000_000, "seq": 3, "metrics": [
            {"name": "Temperature", "alias": 5, "datatype": 10, "doubleValue": 22.5}]}))
        publish.topic_combo.setCurrentText("enc/spBv1.0")
        publish.publish()
        got = subscriber.next()
        assert got.topic == "enc/spBv1.0"  # the two refused messages were never sent
        payload = sparkplug_pb2.Payload.FromString(got.payload)
        (metric,) = payload.metrics
        assert (payload.seq, metric.name, metric.alias, metric.datatype, metric.double_value) == (
            3, "Temperature", 5, 10, 22.5)
        # back to Text: the editor's text as it is
        publish.send_as.choose(DecoderSpec(DecoderKind.TEXT))
        publish.payload_edit.setPlainText("plain 21.5")
        publish.topic_combo.setCurrentText("enc/text")
        publish.publish()
        assert subscriber.next().payload == b"plain 21.5"
    finally:
        subscriber.close()
        console.disconnect_session()


def sparkplug_messages(tmp_path: Path) -> tuple[bytes, bytes]:
    """A DBIRTH with names and aliases and a DDATA carrying only the alias, built with protoc's generated classes."""
    pb2 = generated_module(paths.resource_path("proto", "sparkplug_b.proto"), tmp_path / "gen", "sparkplug_b_pb2")
    birth = pb2.Payload(timestamp=1_700_000_000_000, seq=1)
    for name, alias, datatype, field, value in (("Temperature", 5, 10, "double_value", 21.5),
                                                 ("Status", 6, 12, "string_value", "running")):
        metric = birth.metrics.add(name=name, alias=alias, datatype=datatype, timestamp=1_700_000_000_000)
        setattr(metric, field, value)
    data = pb2.Payload(timestamp=1_700_000_001_000, seq=2)
    data.metrics.add(alias=5, datatype=10, timestamp=1_700_000_001_000, double_value=22.25)
    return birth.SerializeToString(), data.SerializeToString()


def select_row(console: ConsoleWidget, topic: str, payload: bytes) -> None:
    model = console.model
    row = next(r for r in range(model.rowCount()) if model.message(r).topic == topic
               and model.message(r).payload == payload)
    console.message_view.table.selectRow(row)


def test_sparkplug_ddata_decoded_in_the_detail_pane_and_the_choice_survives_the_profile(
        qtbot: QtBot, tmp_path: Path, broker: int, screenshot_dir: Path) -> None:
    store = ProfileStore()
    profile = ConnectionProfile("Sparkplug plant", "127.0.0.1", broker, client_id="wb-spb",
                                subscriptions=(Subscription("spBv1.0/#", 1), Subscription("bin/#", 0)))
    store.save(profile)
    birth, data = sparkplug_messages(tmp_path)
    page, console = open_console(qtbot, broker, "wb-spb", profile.id)
    panel = console.subscribe_panel
    assert panel.saved_button.isVisible() and panel.saved_subscriptions == [("spBv1.0/#", 1), ("bin/#", 0)]
    assert [a.text() for a in panel.saved_button.menu().actions()] == [
        "Subscribe to all 2", "", "spBv1.0/#  (QoS 1)", "bin/#  (QoS 0)"]
    panel.subscribe_saved()
    assert panel.filters() == ["spBv1.0/#", "bin/#"]
    assert panel.subscription_list.topLevelItem(0).text(1) == "1"
    assert panel.decoder_boxes["spBv1.0/#"].currentText() == "Auto"
    panel.choose_decoder("spBv1.0/#", DecoderSpec(DecoderKind.SPARKPLUG))
    panel.choose_decoder("bin/#", DecoderSpec(DecoderKind.CBOR))
    assert store.load(profile.id).payload_decoders == (("spBv1.0/#", "sparkplug"), ("bin/#", "cbor"))
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="paho-edge")
    publisher.connect("127.0.0.1", broker)
    publisher.loop_start()
    try:
        for topic, payload in (("spBv1.0/plant/DBIRTH/edge-1/pump", birth), ("spBv1.0/plant/DDATA/edge-1/pump", data),
                               ("spBv1.0/plant/DDATA/edge-1/pump", b"\x0a\xff"), ("bin/1", cbor2.dumps({"v": 7})),
                               ("bin/1", b"\xff\x00")):
            publisher.publish(topic, payload, qos=1).wait_for_publish(5)
        qtbot.waitUntil(lambda: console.model.rowCount() == 5, timeout=10_000)
        detail = console.message_view.detail
        select_row(console, "spBv1.0/plant/DDATA/edge-1/pump", data)
        shown = detail.views["Decoded"].toPlainText()
        assert detail.tabs.currentWidget() is detail.views["Decoded"]
        assert shown.startswith("Decoded as Sparkplug B\n")
        assert "DDATA from plant/edge-1/pump" in shown
        line = next(x for x in shown.splitlines() if x.startswith("Temperature (from alias)"))
        assert line.split()[3:] == ["5", "Double", "2023-11-14T22:13:21.000Z", "22.25"]  # alias, type, time, value
        console.views.setCurrentWidget(console.message_view)
        page.grab().save(str(screenshot_dir / "console-sparkplug-detail.png"))
        select_row(console, "spBv1.0/plant/DDATA/edge-1/pump", b"\x0a\xff")
        reason, _blank, *raw = detail.views["Decoded"].toPlainText().splitlines()
        assert reason.startswith("Shown raw: Not a org.eclipse.tahu.protobuf.Payload") and raw[0].startswith("0000")
        select_row(console, "bin/1", cbor2.dumps({"v": 7}))
        assert json.loads(detail.views["Decoded"].toPlainText().split("\n", 2)[2]) == {"v": 7}
        select_row(console, "bin/1", b"\xff\x00")
        assert detail.views["Decoded"].toPlainText().splitlines()[0].startswith("Shown raw: Not CBOR")
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        console.disconnect_session()
    # a new console of the same profile: the saved choices are back in the subscribe panel's boxes
    _page2, again = open_console(qtbot, broker, "wb-spb-2", profile.id)
    again.subscribe_panel.subscribe_saved()
    assert again.subscribe_panel.decoder_boxes["spBv1.0/#"].currentText() == "Sparkplug B"
    assert again.subscribe_panel.decoder_boxes["bin/#"].currentText() == "CBOR"
    assert again.topics.decoders.spec_for("spBv1.0/#").kind is DecoderKind.SPARKPLUG
    # the right-click menu offers the same choices (the decoder column hides on a narrow console)
    menu = again.subscribe_panel.decoder_menu("spBv1.0/#")
    (sub,) = [a.menu() for a in menu.actions() if a.menu() is not None]
    assert sub.title() == "Decoder: Sparkplug B"
    next(a for a in sub.actions() if a.text() == "MessagePack").trigger()
    assert dict(store.load(profile.id).payload_decoders)["spBv1.0/#"] == "msgpack"
    assert again.subscribe_panel.decoder_boxes["spBv1.0/#"].currentText() == "MessagePack"
    again.subscribe_panel.resize(250, 300)
    assert again.subscribe_panel.subscription_list.isColumnHidden(3)
    # Protobuf from the box: the picker's answer is shown as "Protobuf: file.proto:Type" and saved with its path
    proto = tmp_path / "reading.proto"
    proto.write_text(READING_PROTO, encoding="utf-8")
    box = again.subscribe_panel.decoder_boxes["bin/#"]
    box.pick_protobuf = lambda: DecoderSpec(DecoderKind.PROTOBUF, str(proto), "plant.v1.Reading")
    box.activated.emit(box.findText("Protobuf (.proto)…"))
    assert box.currentText() == "Protobuf: reading.proto:plant.v1.Reading"
    assert dict(store.load(profile.id).payload_decoders)["bin/#"] == f"protobuf:{proto}:plant.v1.Reading"
    # a choice that cannot be built is refused with a problem and the box shows the choice that holds
    problems: list[str] = []
    again.problem.show_error = lambda error: problems.append(error.summary)  # type: ignore[method-assign]
    box.choose(DecoderSpec(DecoderKind.PROTOBUF, str(tmp_path / "gone.proto"), "X"))
    assert problems and "cannot be read" in problems[-1]
    assert box.currentText() == "Protobuf: reading.proto:plant.v1.Reading"
    again.disconnect_session()


def test_readme_screenshots_of_a_sparkplug_plant_and_a_device(qtbot: QtBot, tmp_path: Path,
                                                               screenshot_dir: Path) -> None:
    """docs/screenshots/console-topic-tree.png and console-chart.png at 1280x800 from a realistic session: an edge
    node with two pumps (Sparkplug B births, then DDATA by alias) and a device sending SmartREST and JSON."""
    pb2 = generated_module(paths.resource_path("proto", "sparkplug_b.proto"), tmp_path / "gen", "sparkplug_b_pb2")
    with run_mosquitto(tmp_path) as broker:
        page, console = open_console(qtbot, broker.plain_port, "wb-plant")
        panel = console.subscribe_panel
        for topic_filter in ("spBv1.0/#", "s/us", "plant/#"):
            panel.subscribe_to(topic_filter)
        panel.choose_decoder("spBv1.0/#", DecoderSpec(DecoderKind.SPARKPLUG))
        console.charts.add_series("spBv1.0/plant/DDATA/edge-1/pump-1", "metric:Temperature")
        console.charts.add_series("spBv1.0/plant/DDATA/edge-1/pump-2", "metric:Temperature")
        edge = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="edge-1")
        edge.connect("127.0.0.1", broker.plain_port)
        edge.loop_start()
        try:
            def send(topic: str, payload: bytes, retain: bool = False) -> None:
                edge.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

            start = 1_700_000_000_000
            birth = pb2.Payload(timestamp=start, seq=0)
            birth.metrics.add(name="bdSeq", alias=0, datatype=4, timestamp=start, long_value=1)
            birth.metrics.add(name="Node Control/Rebirth", alias=1, datatype=11, timestamp=start, boolean_value=False)
            send("spBv1.0/plant/NBIRTH/edge-1", birth.SerializeToString())
            for pump, base in (("pump-1", 61.0), ("pump-2", 48.0)):
                device = pb2.Payload(timestamp=start, seq=1)
                device.metrics.add(name="Temperature", alias=10, datatype=10, timestamp=start, double_value=base)
                device.metrics.add(name="Pressure", alias=11, datatype=10, timestamp=start, double_value=2.1)
                device.metrics.add(name="Running", alias=12, datatype=11, timestamp=start, boolean_value=True)
                send(f"spBv1.0/plant/DBIRTH/edge-1/{pump}", device.SerializeToString())
            for i in range(40):
                for pump, base, swing in (("pump-1", 61.0, 4.0), ("pump-2", 48.0, 2.5)):
                    data = pb2.Payload(timestamp=start + 1000 * i, seq=2 + i)
                    value = base + swing * math.sin(i / 5 + base) + (i % 3) * 0.3
                    data.metrics.add(alias=10, datatype=10, timestamp=start + 1000 * i, double_value=value)
                    if i % 8 == 0:
                        data.metrics.add(alias=11, datatype=10, timestamp=start + 1000 * i, double_value=2.1 + i / 100)
                    send(f"spBv1.0/plant/DDATA/edge-1/{pump}", data.SerializeToString())
                if i % 10 == 0:
                    send("s/us", f"200,c8y_Temperature,T,{20 + i / 10:.1f},C".encode())
                    send("plant/line-1/energy", json.dumps({"kWh": 1200 + i, "phase": "L1"}).encode(), retain=True)
                qtbot.wait(40)  # the edge node's pace (the chart's time axis is the arrival time), not a poll
            qtbot.waitUntil(lambda: [len(d.points) for d in console.charts.definitions] == [40, 40], timeout=10_000)
            console.views.setCurrentWidget(console.topics)
            tree_panel = console.topics.tree_panel
            tree_panel.view.expandAll()
            tree_panel.select_topic("spBv1.0/plant/DDATA/edge-1/pump-1")
            history = console.topics.history
            assert history.list.count() > 2
            history.list.clearSelection()
            history.list.item(0).setSelected(True)
            history.list.item(7).setSelected(True)  # a DDATA with the pressure (i = 32) against one without
            qtbot.waitUntil(lambda: "changed" in history.summary.text(), timeout=5_000)
            page.grab().save(str(screenshot_dir / "console-topic-tree.png"))
            console.views.setCurrentWidget(console.charts)
            console.charts.window_combo.setCurrentIndex(4)  # everything kept: the session's points fill the plot
            console.charts.plot.repaint()
            page.grab().save(str(screenshot_dir / "console-chart.png"))
        finally:
            edge.loop_stop()
            edge.disconnect()
            console.disconnect_session()
