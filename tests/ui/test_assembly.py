"""The whole window as `workbench` builds it: every area has its real page, the local platform reaches every page
that talks to it, and a step's link on the Onboarding page opens the page that shows its result."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from workbench.core.keystore.codec import build_truststore
from workbench.core.pki.certio import load_certificate
from workbench.services.local_platform import LocalPlatformProcess
from workbench.ui.assembly import build_workbench
from workbench.ui.local_platform_control import LocalPlatformControl
from workbench.ui.main_window import AREAS


def test_pages_are_wired(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop, tmp_path: Path,
                         screenshot_dir: Path) -> None:
    bench = build_workbench(LocalPlatformControl(LocalPlatformProcess(ephemeral=True), prepare_demo=False))
    window = bench.window
    qtbot.addWidget(window)
    window.show()
    assert window.pages.count() == len(AREAS)
    pages = (bench.onboarding, bench.connections, bench.certificates, bench.keystores, bench.pop, bench.fleet,
             bench.local_platform)
    assert [window.pages.widget(i) for i in range(len(AREAS))] == list(pages)
    try:
        bench.platform.start()
        qtbot.waitUntil(lambda: bench.pop.target.local is not None, timeout=30_000)
        assert bench.certificates.platform_info is not None and bench.onboarding.target.local is not None
        assert window.platform_status.text().startswith("Local platform: running")
        bench.onboarding.inspect.emit("Certificates", "")
        assert window.pages.currentWidget() is bench.certificates
        bench.onboarding.inspect.emit("Connections", "")
        assert window.pages.currentWidget() is bench.connections
        assert bench.keystores.server_ca == bench.pop.target.local.server_ca
        store = tmp_path / "double-clicked.p12"
        server_ca = load_certificate(bench.pop.target.local.server_ca.read_bytes())
        store.write_bytes(build_truststore([server_ca], b"secret", "pkcs12"))
        bench.keystores.toolbar.ask_password = lambda _label: "secret"
        bench.open_path(str(store))  # what `workbench double-clicked.p12` does once the window is up
        assert window.pages.currentWidget() is bench.keystores and len(bench.keystores.state.store) == 1
        bench.keystores.rename(bench.keystores.state.store.aliases[0], "renamed")
        bench.keystores.toolbar.ask_unsaved = lambda: QMessageBox.StandardButton.Cancel
        assert not window.close() and window.isVisible()  # unsaved keystore edits keep the window open
        bench.keystores.toolbar.ask_unsaved = lambda: QMessageBox.StandardButton.Discard
        # the README's first picture: the demo run to its end, in the whole window
        window.resize(1360, 900)
        window.show_area("Onboarding")
        with qtbot.waitSignal(bench.onboarding.finished, timeout=60_000):
            bench.onboarding.demo()
        panel = bench.onboarding.demo_panel
        qtbot.waitUntil(lambda: panel.plot.point_count() >= 3, timeout=10_000)
        assert window.connection_status.text() == "Connections: 1 (demo device)"  # the simulated device counts
        window.grab().save(str(screenshot_dir / "main-window.png"))
        bench.onboarding.checklist.setCurrentItem(bench.onboarding.items["keystores"])
        bench.onboarding.link.click()  # opens the device keystore in the editor, with the run's password
        assert window.pages.currentWidget() is bench.keystores
        assert bench.keystores.state is not None and bench.keystores.state.store.aliases == ("devicekeyentry",)
        with qtbot.waitSignal(panel.stopped, timeout=10_000):
            panel.stop()
        assert window.connection_status.text() == "Connections: none"
    finally:
        bench.platform.stop()
