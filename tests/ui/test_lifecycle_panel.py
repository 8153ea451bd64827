"""The Certificates page's Lifecycle tab: a CA-store device and an EST device (enrolled with the real local platform,
certificates valid 10 minutes) are listed with their expiry, filtered by "expires within N days", and renewed
together with "Renew selected" (re-issue with the CA password asked, re-enrollment with the running platform); the
tab fits 1280x800."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pytestqt.qtbot import QtBot

from embedded_broker import BackgroundLocalPlatform
from tests.services.test_cert_lifecycle import CA_PW, _ca_store_device, enroll_est_device, platform  # noqa: F401
from workbench.core.keystore import load_keystore
from workbench.services.local_platform import LocalPlatformInfo
from workbench.ui.certificates.lifecycle_panel import left_text
from workbench.ui.certificates.page import CertificatesPage


def test_lists_filters_and_renews(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop, tmp_path: Path,
                                  platform: BackgroundLocalPlatform, screenshot_dir: Path) -> None:  # noqa: F811
    workspace = tmp_path / "ws"
    store_device = _ca_store_device(workspace, tmp_path / "store-1")
    with ThreadPoolExecutor(1) as pool:  # asyncio.run cannot run on the thread of the (running) qasync loop
        est_device = pool.submit(enroll_est_device, platform, tmp_path / "fleet" / "est-gui", "est-gui").result()
    page = CertificatesPage(workspace)
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    asked: list[str] = []

    def answer(label: str) -> str:
        asked.append(label)
        return CA_PW.decode() if "CA" in label else "shared-ks"

    page.toolbar.ask_password = answer  # type: ignore[method-assign]
    panel = page.lifecycle
    page.tabs.setCurrentWidget(panel)
    panel.add_folder(str(tmp_path / "fleet"))
    items = [panel.tree.topLevelItem(i) for i in range(panel.tree.topLevelItemCount())]
    rows = {item.text(0): item for item in items}
    assert set(rows) == {"store-1", "est-gui"}
    assert rows["est-gui"].text(4) == "re-enroll" and rows["store-1"].text(4) == "re-issue"
    assert rows["est-gui"].text(2).endswith("min") and rows["store-1"].text(2) == "20 days"
    assert rows["store-1"].toolTip(5) == str((tmp_path / "store-1").absolute())
    panel.days.setValue(1)
    assert panel.tree.topLevelItemCount() == 1 and panel.tree.topLevelItem(0).text(0) == "est-gui"
    assert "1 of 2 device certificate(s) expire within 1 days" in panel.message.text()
    panel.only_expiring.setChecked(False)
    assert panel.tree.topLevelItemCount() == 2

    panel.tree.selectAll()
    panel.renew_selected()  # the platform is not known yet: said, nothing renewed
    assert "local platform is not running" in panel.message.text()
    assert platform.local is not None and platform.local.server_ca_path is not None
    page.set_local_platform(LocalPlatformInfo(dict(platform.ports), platform.local.server_ca_path,
                                              platform.local.admin_password or ""))
    panel.renew_selected()
    qtbot.waitUntil(lambda: "renewed" in panel.message.text() or "failed" in panel.message.text(), timeout=20_000)
    assert "✓" in panel.message.text(), panel.message.text()
    assert any("Lifecycle Root" in a for a in asked) and any("Keystore" in a for a in asked)
    serials = {panel.tree.topLevelItem(i).text(0): panel.tree.topLevelItem(i).toolTip(0)
               for i in range(panel.tree.topLevelItemCount())}
    assert f"serial {est_device.serial_hex}\n" not in serials["est-gui"]
    assert f"serial {store_device.record.serial:x}\n" not in serials["store-1"]
    password = (tmp_path / "fleet" / "est-gui" / "keystorePassword.txt").read_text().strip().encode()
    stored = load_keystore((tmp_path / "fleet" / "est-gui" / "deviceKeystore.p12").read_bytes(), password)
    assert f"serial {stored.key_entries()[0].chain[0].serial_number:x}\n" in serials["est-gui"]
    assert page.minimumSizeHint().width() <= 1280 and page.minimumSizeHint().height() <= 800
    page.grab().save(str(screenshot_dir / "certificates-lifecycle.png"))


def test_left_text() -> None:
    assert [left_text(d) for d in (-1, 0.01, 0.5, 12.4)] == ["expired", "14 min", "12.0 h", "12 days"]
