"""Connection profiles in the GUI: create a keystore profile in the editor (passwords to the keyring, not the JSON),
connect it to the local platform, see a wrong password explained, import MQTT.fx and MQTTX files, and get the
built-in local-platform profiles on first run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from PySide6.QtWidgets import QDialog, QTabWidget
from pytestqt.qtbot import QtBot

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from tests.support.certs import simple_cert as _cert
from workbench.core.keystore import build_device_keystore, build_truststore
from workbench.core.profiles import ProfileStore, SecretName, TlsMode
from workbench.services.local_platform import LocalPlatformInfo
from workbench.ui.connections.page import ConnectionsPage

DATA = Path(__file__).resolve().parents[1] / "data" / "profiles"
PEM = serialization.Encoding.PEM



@pytest.fixture
def platform(tmp_path: Path) -> Iterator[tuple[BackgroundLocalPlatform, Path]]:
    with BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sandbox_port=0,
                                                  sys_interval=0)) as lp:
        ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        ca = _cert("GUI Profile CA", ca_key, None, ca_key)
        device = _cert("dev-profile-gui", key, ca, ca_key)
        lp.call(lambda: lp.platform.trust.upload("t100", {"status": "ENABLED", "autoRegistrationEnabled": True,
                                                          "certInPemFormat": ca.public_bytes(PEM).decode()}))
        assert lp.local is not None and lp.local.server_ca_path is not None
        server_ca = x509.load_pem_x509_certificate(lp.local.server_ca_path.read_bytes())
        (tmp_path / "device.jks").write_bytes(build_device_keystore(key, (device, ca), b"ks-pass", "jks"))
        (tmp_path / "trust.jks").write_bytes(build_truststore([server_ca], b"ts-pass", "jks"))
        yield lp, tmp_path


def test_keystore_profile_edit_save_connect(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop, platform,
                                            tmp_path: Path, screenshot_dir: Path) -> None:
    lp, files = platform
    store = ProfileStore(tmp_path / "profiles")
    page = ConnectionsPage(store)
    qtbot.addWidget(page)
    page.resize(1400, 900)
    page.show()
    panel = page.profiles
    panel.new_profile()
    editor = panel.findChild(QDialog)
    assert editor is not None
    editor.name.setText("Device over keystores")
    editor.port.setValue(lp.ports["mqtts"])
    editor.tls_mode.setCurrentIndex(list(TlsMode).index(TlsMode.KEYSTORES))
    editor.keystore_file.setText(str(files / "trust.jks"))
    editor.trusted_password.setText("ts-pass")
    editor.client_keystore.setText(str(files / "device.jks"))
    editor.client_keystore_password.setText("ks-pass")
    editor.key_pair_password.setText("ks-pass")
    editor.keystore_type.setCurrentIndex(1)
    editor.version.setCurrentText("3.1.1")
    editor._use_certificate_cn()
    assert editor.client_id.text() == "d:dev-profile-gui"
    editor.findChild(QTabWidget).setCurrentIndex(1)
    editor.resize(640, 720)
    editor.grab().save(str(screenshot_dir / "profile-editor-keystores.png"))
    editor._on_save()
    qtbot.waitUntil(lambda: panel.list.count() == 1)
    saved = store.load_all().profiles[0]
    raw = store.path_of(saved.id).read_text()
    assert "ks-pass" not in raw and "ts-pass" not in raw and json.loads(raw)["tls"]["mode"] == "keystores"
    assert store.secrets_for(saved.id).client_keystore_password == "ks-pass"
    panel.list.setCurrentRow(0)
    panel.connect_selected()
    console = page.consoles()[0]
    qtbot.waitUntil(lambda: console.state_label.text() == "connected", timeout=10_000)
    assert console.token_panel is not None
    sub, pub, view = console.subscribe_panel, console.publish_panel, console.message_view
    # over mutual TLS: subscribe, publish, filter and export, against the platform's real rules
    sub.filter_edit.setText("s/e")
    sub.subscribe()
    pub.topic_combo.setCurrentText("s/us")
    pub.payload_edit.setPlainText("999,unknown")
    qtbot.waitUntil(lambda: pub.publish() or any(m.topic == "s/e" for m in console.model.visible_messages()),
                    timeout=10_000)
    error = next(m for m in console.model.visible_messages() if m.topic == "s/e")
    assert error.payload == b"40,999,Unknown template 999"
    view.topic_filter.setText("s/e")
    assert {m.topic for m in console.model.visible_messages()} == {"s/e"}
    out = tmp_path / "errors.jsonl"
    assert view.export(out) == len(console.model.visible_messages())
    assert json.loads(out.read_text().splitlines()[0])["topic"] == "s/e"
    view.topic_filter.setText("")
    page.grab().save(str(screenshot_dir / "connections-profiles.png"))
    console.shutdown()
    # a wrong keystore password is explained before any connection is tried
    store.secrets.set(saved.id, SecretName.CLIENT_KEYSTORE_PASSWORD, "wrong")
    panel.connect_selected()
    assert "password" in panel.problem.text().lower() and len(page.consoles()) == 1


def test_import_and_first_run_profiles(qtbot: QtBot, tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles")
    page = ConnectionsPage(store)
    qtbot.addWidget(page)
    panel = page.profiles
    assert panel.import_file(str(DATA / "mqttfx-1x-keystores.xml")) >= 1
    assert panel.import_file(str(DATA / "mqttx-export.json")) >= 1
    count = panel.list.count()
    assert panel.import_file(str(DATA / "mqttfx-5-profiles.xml")) == 0
    assert "MQTT.fx" in panel.problem.text()
    info = LocalPlatformInfo({"mqtt": 1883, "mqtts": 8883, "https": 8443, "sandbox": 1884}, tmp_path / "ca.pem",
                             "pw")
    page.set_local_platform(info)
    names = [panel.list.item(i).text() for i in range(panel.list.count())]
    assert panel.list.count() == count + 2
    assert "Local sandbox" in names and any(n.startswith("Local platform (certificate device)") for n in names)
    panel.list.setCurrentRow(names.index("Local sandbox"))
    panel.duplicate_selected()
    assert panel.list.count() == count + 3
    panel.delete_selected()
    assert panel.list.count() == count + 2
    out = tmp_path / "export.json"
    panel.list.setCurrentRow(0)
    panel.export_selected(str(out))
    assert out.exists() and "password" in panel.problem.text().lower()
