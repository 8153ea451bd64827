"""The main window: navigation with icons, a header per area, the status bar's colours, shortcuts, the remembered
layout, the error dialogs and the themes."""

import asyncio
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from workbench.errors import PasswordError
from workbench.services.local_platform import LocalPlatformProcess
from workbench.ui.assembly import build_workbench
from workbench.ui.dialogs.crash_dialog import CrashDialog
from workbench.ui.dialogs.problem_dialog import ProblemDialog
from workbench.ui.errors import ErrorBridge, run_action
from workbench.ui.local_platform_control import LocalPlatformControl
from workbench.ui.main_window import AREAS, MainWindow
from workbench.ui.theme import apply_theme
from workbench.ui.widgets import icons


def test_main_window_lists_every_area_and_switches_with_shortcuts(qtbot: QtBot, screenshot_dir: Path) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    titles = [window.navigation.item(i).text() for i in range(window.navigation.count())]
    assert titles == [a[0] for a in AREAS]
    window.show_area("Keystores")
    assert window.pages.currentIndex() == 3
    window.set_platform_status("running on 127.0.0.1:8883")
    window.set_connection_count(2)
    assert window.platform_status.text() == "Local platform: running on 127.0.0.1:8883"
    window.show_area("Certificates")
    assert window.pages.currentIndex() == 2


def test_window_layout_is_remembered(qtbot: QtBot) -> None:
    first = MainWindow()
    qtbot.addWidget(first)
    first.resize(700, 500)
    first.show_area("Local Platform")
    first.close()
    second = MainWindow()
    qtbot.addWidget(second)
    assert second.navigation.currentRow() == len(AREAS) - 1 and second.current_area() == "Local Platform"
    assert second.size().width() == 700


def test_workbench_error_opens_a_problem_dialog_with_causes(qtbot: QtBot) -> None:
    bridge = ErrorBridge()
    bridge.report(PasswordError("Could not decrypt the private key", ("The password is wrong.",)))
    qtbot.waitUntil(lambda: isinstance(bridge.last_dialog, ProblemDialog))
    text = bridge.last_dialog.message.text()
    assert "Could not decrypt the private key" in text and "The password is wrong." in text
    assert "Traceback" not in text
    bridge.last_dialog.close()


def test_a_bug_opens_the_crash_dialog_with_copyable_details(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # install() replaces both hooks: restored afterwards
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    bridge = ErrorBridge()
    bridge.install()
    assert run_action(None, lambda: 1 / 0) is None  # a bug in an action reaches the installed crash handler
    qtbot.waitUntil(lambda: isinstance(bridge.last_dialog, CrashDialog))
    dialog = bridge.last_dialog
    assert "ZeroDivisionError" in dialog.details.toPlainText()
    dialog._on_copy_clicked()
    assert "ZeroDivisionError" in QApplication.clipboard().text()
    dialog.close()


def test_dark_theme_applies(qapp: QApplication) -> None:
    assert apply_theme(qapp, dark=True) is True
    assert qapp.palette().window().color().lightness() < 100
    apply_theme(qapp, dark=False)


def test_every_area_has_an_icon_and_a_header_named_as_in_the_navigation(qtbot: QtBot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    for row, (title, description) in enumerate(AREAS):
        item = window.navigation.item(row)
        assert not item.icon().isNull() and not item.icon().pixmap(QSize(20, 20)).isNull(), title
        window.navigation.setCurrentRow(row)
        assert window.header.title.text() == item.text() == title
        assert window.header.subtitle.text() and description in window.header.subtitle.toolTip()
        assert window.header.icon.pixmap() is not None and not window.header.icon.pixmap().isNull()
    assert icons.fonts_loaded()
    assert not window.demo_button.icon().isNull() and window.demo_button.property("primary") is True


def test_the_header_subtitle_elides_instead_of_widening_the_window(qtbot: QtBot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(900, 600)
    window.show()
    qtbot.waitExposed(window)
    window.show_area("Certificates")
    subtitle = window.header.subtitle
    qtbot.waitUntil(lambda: subtitle.is_elided())
    assert "drop a PEM, DER, PKCS#12 or JKS file here" in subtitle.toolTip()
    assert window.width() == 900 and window.header.height() <= 64  # one title line and one subtitle line


def test_status_bar_dots_show_the_platform_and_connection_state(qtbot: QtBot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    assert window.platform_dot.status() == "neutral" and window.connection_dot.status() == "neutral"
    window.set_platform_status("starting…", "starting")
    assert window.platform_dot.status() == "info"
    window.set_platform_status("running: MQTT/TLS 8883, REST 8443, demo device ready", "running")
    assert window.platform_dot.status() == "ok"
    window.set_platform_status("running: MQTT/TLS 8883, REST 8443 (demo device: no CA)", "running")
    assert window.platform_dot.status() == "warn"
    window.set_platform_status("not running (port 8883 is taken)", "failed")
    assert window.platform_dot.status() == "error" and "port 8883" in window.platform_status.toolTip()
    window.set_connection_count(1)
    assert window.connection_dot.status() == "ok"


def test_whole_window_fits_1280x800_with_headers_and_runs_the_demo_from_the_sidebar(
        qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop, screenshot_dir: Path) -> None:
    bench = build_workbench(LocalPlatformControl(LocalPlatformProcess(ephemeral=True), prepare_demo=False))
    window = bench.window
    qtbot.addWidget(window)
    window.resize(1280, 760)
    window.show()
    qtbot.waitExposed(window)
    pages = (bench.onboarding, bench.connections, bench.certificates, bench.keystores, bench.pop, bench.fleet,
             bench.local_platform)
    for row, page in enumerate(pages):
        window.navigation.setCurrentRow(row)
        title = window.navigation.item(row).text()
        assert window.pages.currentWidget() is page and window.header.title.text() == title
        said_again = [label for label in page.findChildren(QLabel) if label.isVisible()
                      and any(label.text().startswith(f"<{h}>{title}</{h}>") for h in ("h1", "h2", "h3"))]
        assert not said_again, f"{title}: the page repeats the header's title"
    header_and_chrome = window.header.sizeHint().height() + window.menuBar().sizeHint().height()
    assert header_and_chrome + window.statusBar().sizeHint().height() < 140
    try:
        bench.platform.start()
        qtbot.waitUntil(lambda: bench.platform.phase == "running", timeout=30_000)
        assert window.platform_dot.status() == "ok"
        window.show_area("Keystores")
        with qtbot.waitSignal(bench.onboarding.finished, timeout=60_000):
            window.demo_button.click()  # from any page: the demo runs on the Onboarding page
            assert window.current_area() == "Onboarding"
        panel = bench.onboarding.demo_panel
        qtbot.waitUntil(lambda: panel.plot.point_count() >= 1, timeout=10_000)
        assert window.connection_dot.status() == "ok"
        window.grab().save(str(screenshot_dir / "main-window-demo.png"))
        with qtbot.waitSignal(panel.stopped, timeout=10_000):
            panel.stop()
    finally:
        bench.platform.stop()
