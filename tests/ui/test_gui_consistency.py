"""Every page shows a problem in one colour and style (the shared ProblemLabel look), and the plain look again for
news once the problem is gone, so a red line means the same thing on every page."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from workbench.ui.certificates.page import CertificatesPage
from workbench.ui.keystore_editor.page import KeystoresPage
from workbench.ui.pop.page import PopPage
from workbench.ui.widgets.problem_label import STYLE
from workbench.ui.wizards.certificate_wizard import CertificateWizard


def test_every_page_shows_problems_in_the_shared_style(qtbot: QtBot, tmp_path: Path) -> None:
    garbage = tmp_path / "notes.p12"
    garbage.write_text("not a keystore")
    keystores = KeystoresPage(tmp_path / "ws")
    certificates = CertificatesPage(tmp_path / "ws")
    pop = PopPage(tmp_path / "ws")
    for page in (keystores, certificates, pop):
        qtbot.addWidget(page)
    keystores.toolbar.ask_password = lambda _label: None  # never a modal prompt in a test
    assert not keystores.open_file(garbage)
    assert not certificates.inspect_file(tmp_path / "missing.pem")
    pop.code.setPlainText("")
    assert pop.sign() is None
    pop.verification.code.setText("x" * 65)
    assert pop.verification.create() is None
    lines = {"keystores": keystores.message, "certificates": certificates.message, "pop": pop.state,
             "verification": pop.verification.state}
    for where, line in lines.items():
        assert line.styleSheet() == STYLE and line.text(), where
    wizard = CertificateWizard(tmp_path / "ws", "device")
    qtbot.addWidget(wizard)
    assert wizard.issuer_page is not None and wizard.issuer_page.problem.styleSheet() == STYLE  # "no CA yet"
    keystores.say("✓ Saved.")
    certificates.refresh()
    assert keystores.message.styleSheet() == "" and certificates.message.styleSheet() == ""  # news is plain again


def test_onboarding_failure_uses_the_shared_style(qtbot: QtBot, qasync_loop: object, tmp_path: Path) -> None:
    from workbench.core.profiles import ProfileStore
    from workbench.ui.onboarding.page import OnboardingPage

    page = OnboardingPage(ProfileStore(tmp_path / "profiles"), tmp_path / "ws", tmp_path / "out")
    qtbot.addWidget(page)
    assert page.status.styleSheet() == ""
    page.run()  # no local platform yet: refused before anything is created
    qtbot.waitUntil(lambda: page.status.text().startswith("✗"), timeout=10_000)
    assert page.status.styleSheet() == STYLE
