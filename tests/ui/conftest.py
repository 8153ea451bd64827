"""GUI test setup: one qasync loop for the whole session (the style docs/platform-notes.md recommends)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication


@pytest.fixture(scope="session", autouse=True)
def _isolated_qsettings(qapp: QApplication, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Window layout and other QSettings go to a temp folder, never the user's real settings."""
    from PySide6.QtCore import QSettings

    qapp.setOrganizationName("WorkbenchTests")
    qapp.setApplicationName("Device Onboarding Workbench")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path_factory.mktemp("qsettings")))


@pytest.fixture(scope="session", autouse=True)
def _gui_thread_gc(qapp: QApplication) -> Iterator[None]:
    """As in the app: cyclic garbage (closed wizards and pages among it) is freed on the GUI thread only, never by
    a collection that happens to start on an executor thread mid-job (that deleted widgets there: a segfault)."""
    from workbench.ui.gui_thread import GuiThreadCollector

    collector = GuiThreadCollector()
    collector.install()
    yield
    collector.uninstall()


@pytest.fixture
def screenshot_dir() -> Path:
    """Screenshots of each page go to docs/screenshots (the README uses them)."""
    folder = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def qasync_loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop bound to the test QApplication; qtbot.waitUntil/waitSignal also drive asyncio."""
    import qasync

    from workbench.ui.gui_thread import GuiThreadExecutor

    loop = qasync.QEventLoop(qapp, already_running=True)
    executor = GuiThreadExecutor(2)  # as in the app: what a job held is released on the GUI thread
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)
    yield loop
    executor.shutdown(wait=True)
    asyncio.set_event_loop(None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/ui/" in str(item.fspath):
            item.add_marker(pytest.mark.gui)
