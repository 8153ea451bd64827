"""The SmartREST template editor with pytest-qt: import the cloud's export, edit templates in the tables and as lines,
the live check's JSON, export and push/pull over REST against the real local platform; and in a certificate console:
publish on s/ut, the helper's custom templates, and the detail pane decoding s/uc and s/dc through the collection.
The editor's screenshot at 1280x800 goes to docs/screenshots/template-editor.png."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from tests.platform.support import Rest
from tests.support.geometry import layout_problems
from tests.support.platform_device import auto_registered_device
from workbench.services.mqtt_session import SessionSettings
from workbench.ui.console.console_widget import ConsoleWidget
from workbench.ui.errors import pending
from workbench.ui.smartrest.library import TemplateLibrary
from workbench.ui.smartrest.template_editor import TemplateEditor

EXPORT = {
    "name": "boiler-v1", "type": "c8y_SmartRest2Template", "__externalId": "boiler-v1",
    "com_cumulocity_model_smartrest_csv_CsvSmartRestTemplate": {
        "requestTemplates": [
            {"msgId": "901", "method": "POST", "api": "MEASUREMENT", "response": False,
             "mandatoryValues": ["c8y_Steam", ""],
             "customValues": [{"path": "c8y_Steam.T.value", "type": "NUMBER", "value": ""},
                              {"path": "c8y_Steam.T.unit", "type": "STRING", "value": "C"}]},
            {"msgId": "902", "method": "POST", "api": "EVENT", "response": False,
             "mandatoryValues": ["c8y_DoorEvent", "", ""],
             "customValues": [{"path": "c8y_Door.state", "type": "STRING", "value": ""}]},
            {"msgId": "903", "method": "POST", "api": "ALARM", "response": False,
             "mandatoryValues": ["c8y_Overheat", "Boiler too hot", "ACTIVE", "", ""], "customValues": []},
            {"msgId": "904", "method": "PUT", "api": "OPERATION", "response": False,
             "mandatoryValues": ["c8y_Valve"],
             "customValues": [{"path": "status", "type": "OPERATIONSTATUS", "value": ""}]}],
        "responseTemplates": [{"msgId": "801", "base": "c8y_Valve", "condition": "c8y_Valve",
                               "pattern": ["position", "speed"]}]}}


@pytest.fixture
def platform() -> Iterator[BackgroundLocalPlatform]:
    with BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)) as lp:
        yield lp


def _settle(qtbot: QtBot) -> None:
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(10)


def test_import_edit_check_export_and_screenshot(qtbot: QtBot, tmp_path: Path, screenshot_dir: Path) -> None:
    library = TemplateLibrary()
    editor = TemplateEditor(library)
    qtbot.addWidget(editor)
    editor.resize(1280, 800)
    editor.show()
    source = tmp_path / "boiler-v1.json"
    source.write_text(json.dumps(EXPORT))
    collection = editor.import_file(source)
    assert collection is not None and editor.xid_edit.text() == "boiler-v1"
    assert editor.requests.rowCount() == 4 and editor.responses.rowCount() == 1
    assert editor.requests.item(0, 5).text() == "c8y_Steam.T.value,NUMBER,,c8y_Steam.T.unit,STRING,C"
    assert library.get("boiler-v1") == collection and not editor.publish_button.isEnabled()

    # the live check: what each pasted line becomes, or the platform's error line
    editor.live.lines_edit.setPlainText("901,2024-05-01T10:00:00.000Z,98.5\n903,major\n901,,hot")
    checks = editor.live.checks
    assert [c.kind for c in checks[:2]] == ["measurement", "alarm"]
    assert checks[0].document == {"type": "c8y_Steam", "time": "2024-05-01T10:00:00.000Z",
                                  "c8y_Steam": {"T": {"value": 98.5, "unit": "C"}}, "source": {"id": "<this device>"}}
    assert checks[2].error_line == "45,901,Value is not a number: 'hot'"
    shown = editor.live.result.toPlainText()
    assert '"severity": "MAJOR"' in shown and "✗ 45,901,Value is not a number" in shown

    # edit a cell: the lines, the library and the live check follow; a cell the platform refuses says why
    editor.requests.item(0, 5).setText("c8y_Steam.T.value,NUMBER,,c8y_Steam.T.unit,STRING,F")
    assert "c8y_Steam.T.unit,STRING,F" in editor.lines_edit.toPlainText()
    assert library.get("boiler-v1").requests["901"].custom[1].value == "F"  # type: ignore[union-attr]
    assert editor.live.checks[0].document["c8y_Steam"]["T"]["unit"] == "F"  # type: ignore[index]
    editor.requests.item(1, 2).setText("NOPE")
    assert editor.collection is None and editor.status.shows_problem
    assert "line 2: POST NOPE is not a template" in editor.status.text()
    editor.requests.item(1, 2).setText("EVENT")
    assert editor.collection is not None and not editor.status.shows_problem
    editor.add_row(editor.responses)
    editor.responses.item(1, 3).setText("c8y_Restart.delay")
    assert editor.collection is not None and [r.msg_id for r in editor.collection.responses] == ["801", "802"]

    # typed creation lines fill the tables
    assert editor.set_lines("10,700,POST,EVENT,,c8y_Ping,ping,\n11,600,,c8y_Ping,text") is not None
    assert editor.requests.rowCount() == 1 and editor.requests.item(0, 0).text() == "700"
    assert editor.set_lines("10,700,POST") is None and "line 1" in editor.status.text()
    editor.set_collection(collection)

    exported = tmp_path / "out.json"
    assert editor.export_file(exported)
    assert json.loads(exported.read_text())["__externalId"] == "boiler-v1"
    lines_file = tmp_path / "out.csv"
    assert editor.export_file(lines_file)
    editor.xid_edit.setText("boiler-lines")
    again = editor.import_file(lines_file)
    assert again is not None and again.xid == "boiler-lines" and again.requests == collection.requests
    editor.set_collection(collection)
    editor.live.lines_edit.setPlainText("901,2024-05-01T10:00:00.000Z,98.5\n902,Door opened,,open\n903,major\n"
                                        "904,SUCCESSFUL\n901,,hot")

    _settle(qtbot)
    assert editor.size().width() == 1280 and editor.size().height() == 800
    assert layout_problems(editor) == []
    assert editor.grab().save(str(screenshot_dir / "template-editor.png"))


def test_push_and_pull_over_rest(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop, tmp_path: Path,
                                 platform: BackgroundLocalPlatform) -> None:
    assert platform.local is not None and platform.local.server_ca_path is not None
    editor = TemplateEditor(TemplateLibrary())
    qtbot.addWidget(editor)
    source = tmp_path / "boiler-v1.json"
    source.write_text(json.dumps(EXPORT))
    editor.import_file(source)
    url = f"https://localhost:{platform.ports['https']}"
    editor.set_rest_target(url, "t100/admin", "wrong", platform.local.server_ca_path)
    editor.push_rest()
    qtbot.waitUntil(lambda: editor.status.shows_problem, timeout=10_000)
    assert "HTTP 401" in editor.status.text()
    editor.set_rest_target(url, "t100/admin", platform.local.admin_password or "", platform.local.server_ca_path)
    editor.push_rest()
    qtbot.waitUntil(lambda: editor.status.text().startswith("✓ created boiler-v1"), timeout=10_000)
    rest = Rest(platform.ports["https"], platform.local.server_ca_path, "t100/admin",
                platform.local.admin_password or "")
    mo = rest.call("GET", "/identity/externalIds/c8y_SmartRest2DeviceIdentifier/boiler-v1").json["managedObject"]
    editor.new_collection()
    assert editor.collection is not None and list(editor.collection.requests) == ["900"]
    editor.pull_rest()
    qtbot.waitUntil(lambda: editor.status.text().startswith("✓ pulled boiler-v1"), timeout=10_000)
    assert editor.requests.rowCount() == 4
    editor.push_rest()  # the X-ID exists: the GUI's Push replaces it
    qtbot.waitUntil(lambda: editor.status.text().startswith(f"✓ replaced boiler-v1 as managed object {mo['id']}"),
                    timeout=10_000)
    editor.xid_edit.setText("nobody-x")
    editor.pull_rest()
    qtbot.waitUntil(lambda: editor.status.shows_problem, timeout=10_000)
    assert "No template collection nobody-x" in editor.status.text()
    qtbot.waitUntil(lambda: pending() == 0, timeout=10_000)


def test_console_publishes_s_ut_offers_custom_templates_and_decodes_s_dc(
        qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop, platform: BackgroundLocalPlatform,
        tmp_path: Path) -> None:
    tls = auto_registered_device(platform, "dev-tpl", "Template CA")
    console = ConsoleWidget(SessionSettings("localhost", platform.ports["mqtts"], "d:dev-tpl", protocol=4, tls=tls))
    qtbot.addWidget(console)
    console.resize(1280, 800)
    console.show()
    editor = console.template_editor
    source = tmp_path / "boiler-v1.json"
    source.write_text(json.dumps(EXPORT))
    editor.import_file(source)
    console.connect_session()
    qtbot.waitUntil(lambda: console.state_label.text() == "connected", timeout=10_000)
    assert editor.publish_button.isEnabled()
    console.subscribe_panel.subscribe_to("s/dc/boiler-v1")
    editor.publish_button.click()
    model = console.model
    qtbot.waitUntil(lambda: any(model.message(r).topic == "s/dt" for r in range(model.rowCount())), timeout=10_000)
    answer = next(model.message(r) for r in range(model.rowCount()) if model.message(r).topic == "s/dt")
    assert answer.payload.decode().startswith("20,boiler-v1,")

    # the helper offers the custom templates beside the static ones and fills topic and line
    button = console.publish_panel.templates_button
    button.rebuild()
    titles = [a.text() for a in button.menu().actions()]
    assert titles[0].startswith("100") and "Custom: boiler-v1" in titles
    custom = next(a.menu() for a in button.menu().actions() if a.text() == "Custom: boiler-v1")
    first = custom.actions()[0]
    assert first.text() == "901  POST MEASUREMENT" and first.toolTip() == "time (optional), c8y_Steam.T.value"
    console.publish_panel.payload_edit.clear()
    first.trigger()
    assert console.publish_panel.topic_combo.currentText() == "s/uc/boiler-v1"
    assert console.publish_panel.payload_edit.toPlainText() == "901,<time (optional)>,<c8y_Steam.T.value>"
    console.publish_panel.payload_edit.setPlainText("901,,21.5")
    console.publish_panel.publish()

    # an operation reaches the device on s/dc through the response template; the detail pane decodes both ways
    rest = Rest(platform.ports["https"], platform.local.server_ca_path, "t100/admin",
                platform.local.admin_password or "")
    qtbot.waitUntil(lambda: rest.call("GET", "/identity/externalIds/c8y_Serial/dev-tpl").status == 200,
                    timeout=10_000)
    mo = rest.call("GET", "/identity/externalIds/c8y_Serial/dev-tpl").json["managedObject"]["id"]
    rest.call("POST", "/devicecontrol/operations", {"deviceId": mo, "c8y_Valve": {"position": 40, "speed": "slow"}})
    qtbot.waitUntil(lambda: any(model.message(r).topic == "s/dc/boiler-v1" for r in range(model.rowCount())),
                    timeout=10_000)
    down = next(model.message(r) for r in range(model.rowCount()) if model.message(r).topic == "s/dc/boiler-v1")
    detail = console.message_view.detail
    detail.show_message(down)
    assert detail.tabs.currentWidget() is detail.views["SmartREST"]
    assert detail.views["SmartREST"].toPlainText() == "801 c8y_Valve: device=dev-tpl, position=40, speed=slow"
    up = next(model.message(r) for r in range(model.rowCount()) if model.message(r).topic == "s/uc/boiler-v1")
    detail.show_message(up)
    assert detail.views["SmartREST"].toPlainText().startswith("✓ 901 → POST MEASUREMENT: creates this measurement")
    console.views.setCurrentWidget(editor)
    _settle(qtbot)
    assert console.size().width() == 1280 and console.size().height() == 800
    console.shutdown()
