import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from workbench.errors import PasswordError
from workbench.ui.dialogs.crash_dialog import CrashDialog
from workbench.ui.dialogs.problem_dialog import ProblemDialog
from workbench.ui.errors import ErrorBridge, run_action
from workbench.ui.main_window import AREAS, MainWindow
from workbench.ui.theme import apply_theme


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
