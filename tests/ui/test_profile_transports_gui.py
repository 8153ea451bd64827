"""The profile editor's transport, WebSocket path, ALPN and "skip server certificate verification" fields, the
console's visible warning while verification is skipped, and a console connected over ws:// to mosquitto."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from tests.support.mosquitto_ws import run_mosquitto_ws
from workbench.core.profiles import ConnectionProfile, ProfileSecrets, TlsMode, TlsSettings, Transport
from workbench.services.profile_connect import session_settings
from workbench.ui.console.console_widget import ConsoleWidget
from workbench.ui.dialogs.profile_editor import ProfileEditor


def test_editor_sets_websocket_alpn_and_skip_with_a_warning(qtbot: QtBot) -> None:
    profile = ConnectionProfile(name="aws", broker_host="iot.example.com", broker_port=443,
                                tls=TlsSettings(mode=TlsMode.CA_SIGNED_SERVER))
    editor = ProfileEditor(profile, ProfileSecrets())
    qtbot.addWidget(editor)
    assert not editor.skip_verification.isChecked()  # never on by default
    assert not editor.websocket_path.isEnabled()
    editor.transport.setCurrentIndex(1)
    assert editor.websocket_path.isEnabled()
    editor.websocket_path.setText("/mqtt")
    editor.alpn.setText("x-amzn-mqtt-ca, mqtt")
    editor.skip_verification.setChecked(True)
    assert "server certificate verification is OFF" in editor.warnings.text()
    built, _secrets = editor._build()
    assert built.transport is Transport.WEBSOCKETS and built.url == "wss://iot.example.com:443/mqtt"
    assert built.tls.alpn_protocols == ("x-amzn-mqtt-ca", "mqtt") and built.tls.skip_server_verification
    editor.alpn.setText("not valid")
    editor._on_save()
    assert "ALPN protocol 'not valid' is not valid" in editor.problem.text()


def test_console_warns_while_verification_is_skipped(qtbot: QtBot) -> None:
    checked = ConnectionProfile(name="c", broker_host="localhost", broker_port=8883,
                                tls=TlsSettings(mode=TlsMode.CA_SIGNED_SERVER))
    skipping = checked.with_changes(tls=TlsSettings(mode=TlsMode.CA_SIGNED_SERVER, skip_server_verification=True))
    safe = ConsoleWidget(session_settings(checked, ProfileSecrets()))
    qtbot.addWidget(safe)
    assert not hasattr(safe, "insecure_label")
    console = ConsoleWidget(session_settings(skipping, ProfileSecrets()))
    qtbot.addWidget(console)
    console.show()
    assert console.insecure_label.isVisible() and "NOT verified" in console.insecure_label.text()


@pytest.mark.interop
def test_console_connects_over_websocket(qtbot: QtBot, tmp_path: Path) -> None:
    with run_mosquitto_ws(tmp_path) as broker:
        profile = ConnectionProfile(name="ws", broker_host="127.0.0.1", broker_port=broker.ws_port,
                                    client_id="wb-gui-ws", transport=Transport.WEBSOCKETS)
        console = ConsoleWidget(session_settings(profile, ProfileSecrets()))
        qtbot.addWidget(console)
        console.show()
        console.connect_session()
        qtbot.waitUntil(lambda: console.state_label.text() == "connected", timeout=10_000)
        url = f"ws://127.0.0.1:{broker.ws_port}/mqtt"
        assert any(url in label.text() for label in console.findChildren(QLabel))  # the connection bar says ws://
        console.disconnect_session()
        console.shutdown()
