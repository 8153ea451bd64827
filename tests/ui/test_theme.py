"""The look: light and dark themes that follow the desktop's colour scheme, status colours readable in both, and
icons that load offscreen (or fall back to drawn ones when the icon font cannot load)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from workbench.ui import theme
from workbench.ui.main_window import MainWindow
from workbench.ui.widgets import icons
from workbench.ui.widgets.problem_label import STYLE, ProblemLabel


@pytest.fixture
def restore_look(qapp: QApplication, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test leaves the application's style, palette and stylesheet (and the theme choice) as it found them."""
    monkeypatch.delenv("WORKBENCH_THEME", raising=False)
    style, palette, sheet = qapp.style().name(), qapp.palette(), qapp.styleSheet()
    QSettings().remove(theme.SETTING)
    yield
    QSettings().remove(theme.SETTING)
    qapp.setStyleSheet(sheet)
    if style:
        qapp.setStyle(style)
    qapp.setPalette(palette)


def inked(image: QImage) -> list[QColor]:
    """The colours of an image's opaque pixels (the glyph's strokes)."""
    return [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())
            if image.pixelColor(x, y).alpha() == 255]


def close_to(colour: QColor, expected: str, tolerance: int = 24) -> bool:
    """Whether a painted colour is the expected one, give or take anti-aliasing."""
    want = QColor(expected)
    return all(abs(a - b) <= tolerance for a, b in ((colour.red(), want.red()), (colour.green(), want.green()),
                                                    (colour.blue(), want.blue())))


def nav_icon_in(window: MainWindow, colour: str) -> bool:
    """Whether the first navigation icon is drawn in a colour."""
    return any(close_to(c, colour) for c in inked(window.navigation.item(0).icon().pixmap(QSize(20, 20)).toImage()))


def test_the_theme_follows_the_desktop_colour_scheme(qapp: QApplication, qtbot: QtBot, restore_look: None) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    follower = theme.ThemeFollower(qapp)
    hints = qapp.styleHints()
    try:
        with qtbot.waitSignal(follower.changed) as dark:
            hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)  # what Qt sends when the desktop turns dark
        assert dark.args == [True] and theme.current() is theme.DARK
        assert qapp.palette().window().color() == QColor(theme.DARK.window) and theme.DARK.sidebar in qapp.styleSheet()
        qtbot.waitUntil(lambda: nav_icon_in(window, theme.DARK.muted))  # the navigation's icons were recoloured
        with qtbot.waitSignal(follower.changed) as light:
            hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
        assert light.args == [False] and theme.current() is theme.LIGHT
        assert qapp.palette().base().color() == QColor(theme.LIGHT.base)
        qtbot.waitUntil(lambda: nav_icon_in(window, theme.LIGHT.muted))
    finally:
        hints.colorSchemeChanged.disconnect(follower.on_scheme_changed)
        follower.deleteLater()


def test_a_chosen_theme_wins_over_the_desktop_and_is_remembered(qapp: QApplication, qtbot: QtBot,
                                                                 restore_look: None,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    follower = theme.ThemeFollower(qapp)
    try:
        dark_action = next(a for a in window.theme_actions.actions() if a.data() == "dark")
        dark_action.trigger()  # View → Theme → Dark
        assert theme.current() is theme.DARK and QSettings().value(theme.SETTING) == "dark"
        follower.on_scheme_changed(Qt.ColorScheme.Light)  # the desktop turns light: the user's choice stays
        assert theme.current() is theme.DARK
        assert theme.apply_theme(qapp) is True  # the next start applies the remembered choice
        window.choose_theme("system")
        follower.on_scheme_changed(Qt.ColorScheme.Light)
        assert theme.current() is theme.LIGHT
        monkeypatch.setenv("WORKBENCH_THEME", "dark")  # a demo machine can force it
        assert theme.apply_theme(qapp) is True
    finally:
        qapp.styleHints().colorSchemeChanged.disconnect(follower.on_scheme_changed)
        follower.deleteLater()


@pytest.mark.parametrize("colours", [theme.LIGHT, theme.DARK], ids=["light", "dark"])
def test_status_colours_are_readable_in_both_themes(colours: theme.Colours) -> None:
    for ground in (colours.base, colours.window, colours.sidebar):
        assert theme.contrast_ratio(colours.text, ground) >= 7, ground
        assert theme.contrast_ratio(colours.muted, ground) >= 4.5, ground
        for status in theme.STATUSES:
            ratio = theme.contrast_ratio(colours.status(status), ground)
            assert ratio >= 4.5, f"{status} on {ground}: {ratio:.2f}"
    assert theme.contrast_ratio(colours.problem_fg, colours.problem_bg) >= 4.5
    assert theme.contrast_ratio("#ffffff", colours.accent) >= 4.5  # selected rows and primary buttons
    assert theme.contrast_ratio(colours.accent_text, colours.base) >= 4.5


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_status_labels_paint_in_the_theme_status_colours(qapp: QApplication, qtbot: QtBot, restore_look: None,
                                                        dark: bool) -> None:
    theme.apply_theme(qapp, dark=dark)
    colours = theme.DARK if dark else theme.LIGHT
    for status in ("ok", "warn", "error", "info"):
        label = QLabel("██")  # solid blocks: most of the label is ink in the status colour
        label.setProperty("status", status)
        qtbot.addWidget(label)
        label.show()
        ink = [c for c in inked(label.grab().toImage()) if close_to(c, colours.status(status), 8)]
        assert len(ink) > 20, status


def test_problem_labels_follow_the_theme(qapp: QApplication, qtbot: QtBot, restore_look: None) -> None:
    theme.apply_theme(qapp, dark=False)
    label = ProblemLabel()
    qtbot.addWidget(label)
    label.show_error("The CA's key is not in the store.")
    qtbot.waitExposed(label)

    def background_is(colour: str) -> bool:
        image = label.grab().toImage()
        return close_to(image.pixelColor(image.width() // 2, 3), colour, 6)

    assert background_is(theme.LIGHT.problem_bg)
    theme.apply_theme(qapp, dark=True)
    qtbot.waitUntil(lambda: background_is(theme.DARK.problem_bg))
    assert label.styleSheet() == STYLE  # the pages' "shows a problem" check still holds


def test_every_icon_loads_offscreen(qapp: QApplication, caplog: pytest.LogCaptureFixture) -> None:
    assert QApplication.platformName() == "offscreen"
    for name in icons.GLYPHS:
        image = icons.icon(name, "#c4202b").pixmap(QSize(24, 24)).toImage()
        assert any(close_to(c, "#c4202b") for c in inked(image)), name
    assert icons.fonts_loaded()
    assert not icons.icon("mdi6.no-such-glyph").isNull()  # a typo draws a plain icon and says so, once per call
    assert "no icon glyph named 'mdi6.no-such-glyph'" in caplog.text and icons.fonts_loaded()


FALLBACK_PROBE = """
import logging, sys
logging.basicConfig(level=logging.WARNING, stream=sys.stdout)
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication
app = QApplication([])
import qtawesome
from workbench.ui.widgets import icons
from workbench.ui.main_window import MainWindow
assert qtawesome.__file__.startswith(sys.argv[1]), qtawesome.__file__
image = icons.icon("Certificates", "#2358c9").pixmap(QSize(24, 24)).toImage()
ink = [image.pixelColor(x, y).name() for x in range(24) for y in range(24) if image.pixelColor(x, y).alpha() == 255]
window = MainWindow()
print("fonts_loaded", icons.fonts_loaded(), "ink", ink.count("#2358c9"),
      "nav_icons", all(not window.navigation.item(i).icon().isNull() for i in range(window.navigation.count())))
"""


def test_icons_fall_back_to_drawn_ones_when_the_fonts_cannot_load(tmp_path: Path) -> None:
    import qtawesome

    # qtawesome without its font files, as a bundle that forgot them would carry it, first on the path of a new app
    shutil.copytree(Path(qtawesome.__file__).parent, tmp_path / "qtawesome",
                    ignore=shutil.ignore_patterns("*.ttf", "__pycache__"))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    probe = subprocess.run([sys.executable, "-c", FALLBACK_PROBE, str(tmp_path)], capture_output=True, text=True,
                           env=env, timeout=60)
    assert probe.returncode == 0, probe.stdout + probe.stderr
    assert "fonts_loaded False" in probe.stdout and "nav_icons True" in probe.stdout, probe.stdout
    assert int(probe.stdout.split(" ink ")[1].split()[0]) > 20  # the drawn icon, in the colour asked for
    assert "icon fonts unavailable" in probe.stdout and "Traceback" not in probe.stdout + probe.stderr
