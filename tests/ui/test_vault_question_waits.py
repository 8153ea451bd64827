"""With no system keyring, the vault passphrase question waits until a secret is first needed: the window and its
welcome come first, reading where secrets go never asks, and a secret needed by a worker thread asks on the GUI
thread (a modal dialog opened from a worker would crash Qt), once per session."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

from tests.support.memory_keyring import no_system_keyring
from workbench.core.profiles.model import SecretName
from workbench.core.profiles.secrets import SecretStore, StoreKind, VaultRequest, default_session
from workbench.ui.assembly import build_workbench
from workbench.ui.local_platform_control import LocalPlatformControl

PASSPHRASE = "correct horse battery"


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """keyring's `fail` backend in a fresh process-wide secret session."""
    with no_system_keyring():
        yield


class Asked:
    """A scripted passphrase prompt that records who asked, from which thread."""

    def __init__(self) -> None:
        self.requests: list[tuple[VaultRequest, bool]] = []

    def __call__(self, request: VaultRequest) -> str | None:
        self.requests.append((request, threading.current_thread() is threading.main_thread()))
        return PASSPHRASE


@pytest.mark.usefixtures("no_keyring")
def test_the_window_and_its_welcome_come_before_the_vault_question(qtbot: QtBot) -> None:
    asked = Asked()
    default_session().set_vault_prompt(asked)  # what run_gui installs before it builds the window
    bench = build_workbench(LocalPlatformControl(), first_run=True)
    window = bench.window
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.current_area() == "Onboarding" and bench.onboarding.welcome.isVisible()
    assert asked.requests == []  # building every page read where secrets go, and asked nothing
    assert "if you choose a passphrase" in SecretStore().kept and asked.requests == []
    assert not bench.connections.profiles.notice.isVisible()  # no "session only" claim before the question
    assert SecretStore().get("p1", SecretName.MQTT_PASSWORD) is None  # the first secret needed asks
    assert len(asked.requests) == 1 and asked.requests[0][0].creating
    assert SecretStore().kind is StoreKind.VAULT and "encrypted vault" in SecretStore().kept


@pytest.mark.usefixtures("no_keyring")
def test_a_secret_needed_on_a_worker_thread_is_asked_for_on_the_gui_thread_once(qtbot: QtBot) -> None:
    from workbench.ui.dialogs.vault_dialog import install_vault_prompt

    asked = Asked()
    store = install_vault_prompt(prompt=asked)
    results: list[str | None] = []

    def worker() -> None:  # e.g. the local platform's admin password, read while the platform starts
        store.session.set("platform/admin", "s3cret")
        results.append(store.session.get("platform/admin"))

    thread = threading.Thread(target=worker)
    thread.start()
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)  # the GUI thread answers while the worker waits
    thread.join(5)
    assert results == ["s3cret"]
    assert [on_gui for _request, on_gui in asked.requests] == [True]
    second = threading.Thread(target=lambda: results.append(store.session.get("platform/admin")))
    second.start()
    second.join(5)
    assert results[-1] == "s3cret" and len(asked.requests) == 1  # given once, never asked again this session
    assert store.kind is StoreKind.VAULT and store.session.vault_file.exists()


@pytest.mark.usefixtures("no_keyring")
def test_the_dialog_opens_on_the_gui_thread_for_a_worker(qtbot: QtBot) -> None:
    from workbench.ui.dialogs.vault_dialog import VaultPassphraseDialog, install_vault_prompt

    dialogs: list[VaultPassphraseDialog] = []

    def answer_dialog() -> None:  # runs inside the dialog's own event loop, as a user's typing would
        found = [w for w in QApplication.topLevelWidgets() if isinstance(w, VaultPassphraseDialog) and w.isVisible()]
        if found and not dialogs:
            dialogs.append(found[0])
            found[0].passphrase.setText(PASSPHRASE)
            found[0].repeat.setText(PASSPHRASE)
            found[0].ok.click()

    typist = QTimer()
    typist.setInterval(20)
    typist.timeout.connect(answer_dialog)
    typist.start()
    store = install_vault_prompt()
    done: list[str | None] = []
    thread = threading.Thread(target=lambda: done.append(store.session.get("profile/password")))
    thread.start()
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    typist.stop()
    thread.join(5)
    assert done == [None] and store.kind is StoreKind.VAULT
    assert dialogs and dialogs[0].result() == QDialog.DialogCode.Accepted
