"""macOS opens a double-clicked keystore by sending the running app a QFileOpenEvent: the app's filter opens it on
the Keystores page exactly as `workbench store.p12` does, including one that arrives before the window exists."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from workbench.core.keystore.codec import build_truststore
from workbench.core.pki.issuance import create_root_ca
from workbench.core.pki.keys import KeySpec, generate_key
from workbench.core.pki.profiles import root_ca_profile
from workbench.services.local_platform import LocalPlatformProcess
from workbench.ui.assembly import Workbench, build_workbench
from workbench.ui.lifecycle import FileOpenFilter, install_file_open
from workbench.ui.local_platform_control import LocalPlatformControl


@pytest.fixture
def file_open(qapp: QApplication) -> Iterator[FileOpenFilter]:
    """The filter on the session's QApplication, as run_gui installs it; removed again afterwards."""
    file_filter = install_file_open(qapp)
    yield file_filter
    qapp.removeEventFilter(file_filter)
    file_filter.deleteLater()


@pytest.fixture
def bench(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop) -> Workbench:
    """The whole window, its platform never started."""
    built = build_workbench(LocalPlatformControl(LocalPlatformProcess(ephemeral=True), prepare_demo=False))
    qtbot.addWidget(built.window)
    built.keystores.toolbar.ask_password = lambda _label: "secret"
    return built


def keystore(path: Path) -> Path:
    """A PKCS#12 truststore with one CA certificate, password 'secret'."""
    key = generate_key(KeySpec.EC_P256)
    ca = create_root_ca(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Finder CA")]), key, root_ca_profile())
    path.write_bytes(build_truststore([ca], b"secret", "pkcs12"))
    return path


def test_a_file_open_event_opens_the_keystore_on_the_keystores_page(qtbot: QtBot, qapp: QApplication,
                                                                    file_open: FileOpenFilter, bench: Workbench,
                                                                    tmp_path: Path) -> None:
    window = bench.window
    window.show()
    window.show_area("Onboarding")
    file_open.deliver_to(bench.open_path)
    store = keystore(tmp_path / "double-clicked in Finder.p12")
    QApplication.sendEvent(qapp, QFileOpenEvent(str(store)))
    qtbot.waitUntil(lambda: bench.keystores.state is not None, timeout=5_000)
    assert window.pages.currentWidget() is bench.keystores
    assert bench.keystores.state is not None and len(bench.keystores.state.store) == 1


def test_a_file_that_arrives_before_the_window_waits_for_it(qtbot: QtBot, qapp: QApplication,
                                                            file_open: FileOpenFilter, bench: Workbench,
                                                            tmp_path: Path) -> None:
    store = keystore(tmp_path / "early.p12")
    QApplication.sendEvent(qapp, QFileOpenEvent(str(store)))  # macOS sends it while the app is still starting
    assert bench.keystores.state is None
    bench.window.show()
    file_open.deliver_to(bench.open_path)
    qtbot.waitUntil(lambda: bench.keystores.state is not None, timeout=5_000)
    assert bench.window.pages.currentWidget() is bench.keystores


def test_other_events_pass_through(file_open: FileOpenFilter) -> None:
    opened: list[str] = []
    file_open.deliver_to(opened.append)
    assert not file_open.eventFilter(QObject(), QEvent(QEvent.Type.MouseMove))
    assert not file_open.eventFilter(QObject(), QFileOpenEvent(""))  # nothing to open
    assert opened == []
