"""The fleet dialog: 20 EC devices with a progress bar reaching 100%, a summary and the files; Cancel deletes the
partial output; the bulk-registration CSV goes to a local platform started in-process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QDesktopServices
from pytestqt.qtbot import QtBot

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from workbench.core.pki.keys import KeySpec
from workbench.core.pki.names import parse_dn
from workbench.core.pki.store import CAStore
from workbench.core.profiles.model import SecretName
from workbench.core.profiles.secrets import SecretStore
from workbench.services.ca_passwords import ca_secret_id
from workbench.services.fleet import FleetResult
from workbench.services.local_platform import LocalPlatformInfo
from workbench.ui.dialogs.fleet_dialog import NO_PLATFORM, FleetDialog

pytestmark = pytest.mark.usefixtures("qasync_loop")


@pytest.fixture
def info() -> Iterator[LocalPlatformInfo]:
    with BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)) as lp:
        assert lp.local is not None and lp.local.server_ca_path is not None and lp.local.admin_password
        yield LocalPlatformInfo(dict(lp.ports), lp.local.server_ca_path, lp.local.admin_password)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    workspace = tmp_path / "ws"
    with CAStore(workspace) as store:
        record = store.init_root(parse_dn("CN=Fleet Dialog CA"), b"fleet-ca", key_spec=KeySpec.EC_P256)
    SecretStore().set(ca_secret_id(record.name), SecretName.KEY_PASSWORD, "fleet-ca")
    return workspace


def _dialog(qtbot: QtBot, workspace: Path, out: Path, count: int) -> FleetDialog:
    dialog = FleetDialog(workspace)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.count.setValue(count)
    dialog.key_type.setCurrentIndex(dialog.key_type.findData(KeySpec.EC_P256))
    dialog.passwords.password.setText("device-pass")
    dialog.passwords.confirm.setText("device-pass")
    dialog.out_dir.setText(str(out))
    return dialog


def test_issue_twenty_devices(qtbot: QtBot, workspace: Path, tmp_path: Path, screenshot_dir: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "fleet"
    dialog = _dialog(qtbot, workspace, out, 20)
    dialog.keystore.setCurrentIndex(dialog.keystore.findData("pkcs12"))
    assert dialog.ca.currentData() == "Fleet Dialog CA"
    assert not dialog.upload_button.isEnabled() and dialog.upload_button.toolTip() == NO_PLATFORM
    with qtbot.waitSignal(dialog.finished_run, timeout=30_000) as blocker:
        dialog.start()
    result = blocker.args[0]
    assert isinstance(result, FleetResult) and len(result.records) == 20
    assert dialog.progress.value() == dialog.progress.maximum() == 20
    assert "devices/s" in dialog.rate.text()
    text = dialog.message.text()
    assert "Issued 20 devices" in text and str(out) in text and "bulk-registration.csv" in text
    assert (out / "bulk-registration.csv").read_text().count("CERTIFICATES") == 20
    for device in ("wb-dev-0001", "wb-dev-0020"):
        assert {p.name for p in (out / device).iterdir()} == {"deviceKey.pem", "deviceCert.pem",
                                                               "deviceCertChain.pem", "deviceKeystore.pkcs12"}
    with CAStore(workspace) as store:
        assert len(store.certificates("Fleet Dialog CA")) == 20
    assert dialog.open_button.isEnabled() and not dialog.upload_button.isEnabled()
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    dialog.open_folder()
    assert opened == [str(out)]
    dialog.resize(780, 640)
    dialog.grab().save(str(screenshot_dir / "fleet-dialog.png"))


def test_bad_input_is_explained(qtbot: QtBot, workspace: Path, tmp_path: Path) -> None:
    dialog = _dialog(qtbot, workspace, tmp_path / "fleet", 5)
    dialog.pattern.setText("dev:{n}")
    assert dialog.start() is None
    assert "invalid id" in dialog.message.text() and "Traceback" not in dialog.message.text()
    dialog.pattern.setText("dev-{n}")
    dialog.passwords.confirm.setText("other")
    assert dialog.start() is None and "differ" in dialog.message.text()


def test_cancel_deletes_the_partial_fleet(qtbot: QtBot, workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "fleet"
    dialog = _dialog(qtbot, workspace, out, 600)
    dialog.jobs = 1  # in-process: progress after every chunk, cancel checked between chunks
    task = dialog.start()
    assert task is not None and dialog.cancel_button.isEnabled() and not dialog.start_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=20_000)
    dialog.cancel()
    qtbot.waitUntil(task.done, timeout=20_000)
    assert "Fleet issuance was cancelled" in dialog.message.text()
    assert dialog.progress.value() < 600
    assert not out.exists() and not list(tmp_path.glob(".fleet.partial-*"))
    assert dialog.start_button.isEnabled() and not dialog.cancel_button.isEnabled() and dialog.result is None


def test_upload_bulk_registration(qtbot: QtBot, workspace: Path, tmp_path: Path, info: LocalPlatformInfo) -> None:
    dialog = _dialog(qtbot, workspace, tmp_path / "fleet", 3)
    dialog.set_platform(info)
    assert not dialog.upload_button.isEnabled()  # nothing issued yet
    with qtbot.waitSignal(dialog.finished_run, timeout=30_000):
        dialog.start()
    assert dialog.upload_button.isEnabled() and "bulkNewDeviceRequests" in dialog.upload_button.toolTip()
    task = dialog.upload()
    assert isinstance(task, asyncio.Task)
    qtbot.waitUntil(task.done, timeout=15_000)
    assert task.exception() is None
    assert "Bulk registration: 3 of 3 devices registered." in dialog.message.text()
