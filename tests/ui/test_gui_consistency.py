"""Every page shows a problem in one colour and style (the shared ProblemLabel look), and the plain look again for
news once the problem is gone, so a red line means the same thing on every page."""

from __future__ import annotations

import gc
from pathlib import Path

from PySide6.QtCore import QEvent
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from workbench.ui import theme
from workbench.ui.certificates.page import CertificatesPage
from workbench.ui.keystore_editor.page import KeystoresPage
from workbench.ui.pop.page import PopPage
from workbench.ui.widgets.problem_label import STYLE, ProblemLabel
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


def test_profile_editor_and_local_platform_use_the_shared_status_styles(qapp: QApplication, qtbot: QtBot) -> None:
    """No page keeps colours of its own: problems in the ProblemLabel look, warnings, notes and the log's "why?" in
    the theme's status colours, and data colours (event kinds) readable on the dark theme too."""
    from workbench.core.profiles import ConnectionProfile, ProfileSecrets, TlsMode, TlsSettings
    from workbench.ui.dialogs.profile_editor import ProfileEditor
    from workbench.ui.local_platform.event_log import EventLog

    gc.collect()  # pages of earlier tests go now, on this thread, before the theme repolishes every widget
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    palette, sheet = qapp.palette(), qapp.styleSheet()

    def look(colours: theme.Colours) -> None:  # the theme's palette and stylesheet (the style stays as it is)
        qapp.setPalette(theme.palette_for(colours))
        qapp.setStyleSheet(theme.stylesheet(colours))

    try:
        look(theme.DARK)
        editor = ProfileEditor(ConnectionProfile(name="aws", broker_host="iot.example.com", broker_port=8883,
                                                 tls=TlsSettings(mode=TlsMode.CA_SIGNED_SERVER)), ProfileSecrets())
        qtbot.addWidget(editor)
        editor.skip_verification.setChecked(True)
        assert editor.warnings.text() and editor.warnings.property("status") == "warn"
        editor.warnings.ensurePolished()
        assert editor.warnings.palette().color(QPalette.ColorRole.WindowText).name() == theme.DARK.warn
        editor.alpn.setText("not valid")
        editor._on_save()
        assert isinstance(editor.problem, ProblemLabel) and editor.problem.styleSheet() == STYLE
        assert "ALPN protocol" in editor.problem.text() and editor.problem.isVisibleTo(editor)
        log = EventLog()
        qtbot.addWidget(log)
        for kind in ("refused", "operation_created", "token_issued", "disconnected"):
            log.add_event({"time": "2024-01-01T00:00:00.000Z", "kind": kind, "message": kind})
        why = log.log.cellWidget(0, 5)
        assert why is not None and why.property("status") == "error" and "#" not in why.styleSheet()
        why.ensurePolished()
        assert why.palette().color(QPalette.ColorRole.ButtonText).name() == theme.DARK.error
        for row in range(4):
            item = log.log.item(row, 1)
            assert item is not None
            ink = item.foreground().color()
            assert min(theme.contrast_ratio(ink, bg) for bg in (theme.DARK.base, theme.DARK.alternate)) >= 4.5, \
                (item.text(), ink.name())
        look(theme.LIGHT)  # the labels follow the theme on the spot
        editor.warnings.ensurePolished()
        assert editor.warnings.palette().color(QPalette.ColorRole.WindowText).name() == theme.LIGHT.warn
    finally:
        qapp.setStyleSheet(sheet)
        qapp.setPalette(palette)
