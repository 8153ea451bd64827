"""The GUI with no system keyring: a CA password given earlier in the session is found by the next wizard, the demo
CA made at first run signs PoP without asking for a password nobody saw, the Certificates page shows or resets a CA
password, and the texts say "kept for this session only" instead of claiming the keyring."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from tests.support.memory_keyring import no_system_keyring
from tests.ui.test_certificate_wizard import make_intermediate, make_root
from workbench.core.pki.keys import KeySpec
from workbench.core.pki.names import parse_dn
from workbench.core.pki.store import CAStore
from workbench.services.ca_passwords import remember_ca_password, stored_ca_password
from workbench.services.first_run import prepare_demo_device
from workbench.services.local_platform import LocalPlatformInfo
from workbench.ui.certificates.page import CertificatesPage
from workbench.ui.pop.page import PopPage
from workbench.ui.wizards.certificate_wizard import CertificateWizard


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """keyring's `fail` backend, no vault prompt: secrets live in this session's memory only."""
    with no_system_keyring():
        yield


@pytest.mark.usefixtures("no_keyring")
def test_the_device_wizard_finds_the_ca_password_set_earlier(qtbot: QtBot, tmp_path: Path,
                                                           qasync_loop: object) -> None:
    workspace = tmp_path / "ws"
    root = make_root(qtbot, workspace, cn="Session Root CA")  # its wizard keeps the password (memory only)
    make_intermediate(qtbot, workspace, root.name)  # asserts "✓ The password is stored" on the issuer page
    wizard = CertificateWizard(workspace, "device")
    qtbot.addWidget(wizard)
    issuer = wizard.issuer_page
    assert issuer is not None
    issuer.parent_ca.setCurrentIndex(issuer.parent_ca.findData(root.name))
    assert issuer.keyring_state.text() == "✓ The password is stored (kept for this session only)."
    assert issuer.password() is not None
    root_wizard = CertificateWizard(workspace, "root")
    qtbot.addWidget(root_wizard)
    root_wizard.subject_page.fields["common_name"].setText("Another CA")  # type: ignore[union-attr]
    root_wizard.key_page.passwords.password.setText("pw-12345")  # type: ignore[union-attr]
    facts = dict(root_wizard.plan().facts)
    assert facts["Password"].startswith("The CA key password is kept for this session only")
    assert "keyring" not in " ".join(facts.values())


@pytest.mark.usefixtures("no_keyring")
def test_pop_with_the_demo_ca_does_not_ask_for_a_password(qtbot: QtBot, tmp_path: Path, qasync_loop: object) -> None:
    workspace, folder = tmp_path / "ws", tmp_path / "demo"
    settings = PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)
    with BackgroundLocalPlatform(settings) as lp:
        assert lp.local is not None and lp.local.server_ca_path is not None and lp.local.admin_password
        info = LocalPlatformInfo(dict(lp.ports), lp.local.server_ca_path, lp.local.admin_password)
        task = asyncio.ensure_future(prepare_demo_device(info, None, folder, workspace), loop=qasync_loop)
        qtbot.waitUntil(task.done, timeout=30_000)
        assert task.exception() is None
    page = PopPage(workspace)
    qtbot.addWidget(page)
    demo_ca = page.ca.itemData(page.ca.count() - 1)
    assert demo_ca and stored_ca_password(demo_ca) is not None
    page.ca.setCurrentIndex(page.ca.count() - 1)
    page.code.setPlainText("verification-code-123")
    assert page.key_password.text() == ""  # nothing typed: the password the first run generated is used
    signature = page.sign()
    assert signature is not None and "verifies" in page.result.toPlainText()


@pytest.mark.usefixtures("no_keyring")
def test_certificates_page_shows_and_resets_a_ca_password(qtbot: QtBot, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    with CAStore(workspace) as store:
        ca = store.init_root(parse_dn("CN=Shown CA"), b"first-password", key_spec=KeySpec.EC_P256)
    remember_ca_password(ca.name, b"first-password")
    page = CertificatesPage(workspace)
    qtbot.addWidget(page)
    assert page.select_name(ca.name)
    toolbar = page.toolbar
    assert toolbar.password.isEnabled()
    shown: list[str] = []
    toolbar.confirm = lambda _title, _question: True  # type: ignore[method-assign]
    toolbar.reveal = lambda _title, text: shown.append(text)  # type: ignore[method-assign]
    toolbar.show_ca_password()
    assert shown and shown[-1].endswith("first-password")
    toolbar.reset_ca_password()
    new_password = shown[-1].rsplit("\n", 1)[-1]
    assert new_password != "first-password" and "kept for this session only" in shown[-1]
    assert stored_ca_password(ca.name) == new_password
    with CAStore(workspace) as store:
        store.issuer(ca.name, new_password.encode())  # the key really is re-encrypted with it
    toolbar.confirm = lambda _title, _question: False  # type: ignore[method-assign]
    toolbar.show_ca_password()
    assert len(shown) == 2  # declined: nothing shown
