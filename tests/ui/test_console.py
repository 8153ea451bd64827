"""The Connections page and its console, driven through real widgets against mosquitto."""

import csv
import io
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.support.mosquitto import free_port, run_mosquitto
from workbench.services.mqtt_session import SessionSettings
from workbench.ui.connections.page import ConnectionsPage
from workbench.ui.dialogs.connection_dialog import ConnectionDialog

pytestmark = pytest.mark.interop


@pytest.fixture
def broker(tmp_path: Path):
    with run_mosquitto(tmp_path) as b:
        yield b


def test_publish_subscribe_filter_detail_export(qtbot: QtBot, broker, tmp_path: Path, screenshot_dir: Path) -> None:
    page = ConnectionsPage()
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    counts: list[int] = []
    page.connection_count_changed.connect(counts.append)
    console = page.open_console(SessionSettings("127.0.0.1", broker.plain_port, "wb-gui", protocol=5))
    qtbot.waitUntil(lambda: console.state_label.text() == "connected", timeout=10_000)  # as the GUI shows it
    assert counts[-1] == 1 and page.tabs.tabText(0).startswith("●")
    sub, pub, view = console.subscribe_panel, console.publish_panel, console.message_view
    sub.filter_edit.setText("s/#")
    qtbot.mouseClick(sub.subscribe_button, Qt.MouseButton.LeftButton)
    pub.topic_combo.setCurrentText("s/us")
    pub.payload_edit.setPlainText('{"temperature": 21.5}')
    assert pub.payload_check.text() == "✓ valid JSON"
    # Publish until our own message comes back through the subscription (the SUBACK may lag the click).
    qtbot.waitUntil(lambda: pub.publish() or any(m.direction == "in" for m in console.model.visible_messages()),
                    timeout=10_000)
    pub.payload_edit.setPlainText("200,c8y_Temperature,T,21.5,C")
    pub.publish()
    qtbot.waitUntil(lambda: any(m.direction == "in" and m.payload.startswith(b"200,")
                                for m in console.model.visible_messages()), timeout=10_000)
    assert sub.subscriptions["s/#"].text(2) != "0"

    incoming = [i for i, m in enumerate(console.model.visible_messages())
                if m.direction == "in" and m.payload.startswith(b"200,")]
    view.table.selectRow(incoming[-1])
    assert view.detail.tabs.currentWidget() is view.detail.views["SmartREST"]
    assert "fragment=c8y_Temperature" in view.detail.views["SmartREST"].toPlainText()

    view.search.setText("temperature")
    assert all(b"temperature" in m.payload.lower() for m in console.model.visible_messages())
    view.search.setText("")
    out = tmp_path / "messages.csv"
    assert view.export(out) == console.model.rowCount()
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0][:3] == ["time", "direction", "topic"] and len(rows) == console.model.rowCount() + 1
    page.grab().save(str(screenshot_dir / "connections-console.png"))
    console.disconnect_session()
    qtbot.waitUntil(lambda: console.state_label.text() == "disconnected")


def test_refused_connection_is_explained_in_the_console(qtbot: QtBot) -> None:
    page = ConnectionsPage()
    qtbot.addWidget(page)
    console = page.open_console(SessionSettings("127.0.0.1", free_port(), "wb-gui"))
    qtbot.waitUntil(lambda: console.state_label.text() == "failed", timeout=10_000)
    assert "Connection refused by" in console.problem.text()
    assert console.connect_button.isEnabled() and not console.publish_panel.publish_button.isEnabled()
    assert page.tabs.tabText(0).startswith("✗")


def test_connection_dialog_builds_settings_and_reports_bad_tls_files(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = ConnectionDialog()
    qtbot.addWidget(dialog)
    dialog.client_id.setText("d:dev-1")
    dialog.version.setCurrentIndex(1)
    settings = dialog.build_settings()
    assert (settings.client_id, settings.protocol, settings.port, settings.tls) == ("d:dev-1", 5, 1883, None)
    dialog.tls.setChecked(True)
    assert dialog.port.value() == 8883
    dialog.ca_file[1].setText(str(tmp_path / "missing.pem"))
    dialog._on_accepted()
    assert "Cannot use the TLS files" in dialog.problem.text() and dialog.settings() is None
