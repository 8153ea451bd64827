"""Light and dark themes that follow the system setting, on the Fusion style so they look the same everywhere.

One place holds the colours (`Colours`: the palette, the sidebar, the accent and the ok/warn/error/info status set)
and the application stylesheet built from them, so every page, the navigation, the page headers, the status bar and
the problem labels change together when the desktop switches between light and dark.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

Status = Literal["ok", "warn", "error", "info", "neutral"]
STATUSES: tuple[Status, ...] = ("ok", "warn", "error", "info", "neutral")
CHOICES = ("system", "light", "dark")  # the View menu's choices; WORKBENCH_THEME takes the same words
SETTING = "appearance/theme"
MARKER = "/* workbench theme */"  # first line of our stylesheet: the app has Fusion and this theme on


@dataclass(frozen=True)
class Colours:
    """Every colour of one theme; status colours keep WCAG AA contrast (4.5:1) on `base`, `window` and `sidebar`."""

    dark: bool
    window: str
    base: str
    alternate: str
    text: str
    muted: str  # secondary text: subtitles, hints
    border: str
    sidebar: str
    accent: str  # selection and primary buttons (white text on it)
    accent_text: str  # the accent as a text or icon colour on base/window
    ok: str
    warn: str
    error: str
    info: str
    problem_bg: str
    problem_fg: str
    problem_border: str

    def status(self, kind: Status) -> str:
        """The colour of a status (neutral is the muted text colour)."""
        return self.muted if kind == "neutral" else str(getattr(self, kind))


LIGHT = Colours(
    dark=False, window="#f5f6f8", base="#ffffff", alternate="#f3f5f8", text="#1d2129", muted="#596170",
    border="#d5d9e0", sidebar="#eaedf1", accent="#2358c9", accent_text="#2358c9",
    ok="#17732f", warn="#8a5a00", error="#c4202b", info="#0b62c4",
    problem_bg="#fdecea", problem_fg="#8e1b1b", problem_border="#f5c2c0",
)
DARK = Colours(
    dark=True, window="#25272c", base="#1c1e22", alternate="#222429", text="#e3e5e8", muted="#a0a8b3",
    border="#3b3f46", sidebar="#1f2125", accent="#2f68d8", accent_text="#7fb0ff",
    ok="#4cc46a", warn="#e0a83a", error="#ff7b72", info="#79b8ff",
    problem_bg="#3b1f21", problem_fg="#ffb4ab", problem_border="#7a3136",
)


def system_prefers_dark() -> bool:
    """Qt 6.5+ reports the desktop's colour scheme; unknown means light."""
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def current() -> Colours:
    """The colours of the theme on show (read from the application palette, so a page never keeps its own flag)."""
    return DARK if QGuiApplication.palette().window().color().lightness() < 128 else LIGHT


def status_colour(kind: Status) -> QColor:
    """A status colour of the theme on show, for painting (icons, dots, plots)."""
    return QColor(current().status(kind))


def readable(colour: str | QColor, colours: Colours | None = None) -> QColor:
    """A data colour (an event kind, a plot series, a filter) that reads on the theme: its hue kept, made lighter on
    the dark theme (darker on the light one) until it has 4.5:1 on the base, alternate and window backgrounds."""
    given = QColor(colour)
    return QColor(_readable(given.getRgbF(), colours or current()))  # a copy: callers may change what they get


@functools.lru_cache(maxsize=256)
def _readable(rgba: tuple[float, float, float, float], k: Colours) -> QColor:
    """`readable`'s search, once per colour and theme: table rows (the event log) ask for the same few colours."""
    result = QColor.fromRgbF(*rgba)
    for _ in range(60):
        if min(contrast_ratio(result, bg) for bg in (k.base, k.alternate, k.window)) >= 4.5:
            break
        hue, saturation, lightness = result.hslHueF(), result.hslSaturationF(), result.lightnessF()
        lightness = min(1.0, lightness + 0.02) if k.dark else max(0.0, lightness - 0.02)
        result = QColor.fromHslF(max(hue, 0.0), saturation, lightness, result.alphaF())
    return result


def contrast_ratio(first: str | QColor, second: str | QColor) -> float:
    """The WCAG 2 contrast ratio of two colours (1 to 21); 4.5 is the floor for normal text."""

    def luminance(colour: QColor) -> float:
        def channel(value: float) -> float:
            return value / 12.92 if value <= 0.04045 else float(((value + 0.055) / 1.055) ** 2.4)

        return 0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())

    a, b = sorted((luminance(QColor(first)), luminance(QColor(second))), reverse=True)
    return (a + 0.05) / (b + 0.05)


def palette_for(colours: Colours) -> QPalette:
    """The QPalette of a theme, with the bevel roles Fusion draws with and muted disabled text."""
    p = QPalette()
    c = QColor
    window = c(colours.window)
    button = c(colours.base) if not colours.dark else window.lighter(112)
    for role, colour in (
        (QPalette.ColorRole.Window, window), (QPalette.ColorRole.WindowText, c(colours.text)),
        (QPalette.ColorRole.Base, c(colours.base)), (QPalette.ColorRole.AlternateBase, c(colours.alternate)),
        (QPalette.ColorRole.Text, c(colours.text)), (QPalette.ColorRole.Button, button),
        (QPalette.ColorRole.ButtonText, c(colours.text)), (QPalette.ColorRole.Highlight, c(colours.accent)),
        (QPalette.ColorRole.HighlightedText, c("#ffffff")), (QPalette.ColorRole.ToolTipBase, c(colours.base)),
        (QPalette.ColorRole.ToolTipText, c(colours.text)), (QPalette.ColorRole.Link, c(colours.accent_text)),
        (QPalette.ColorRole.LinkVisited, c(colours.accent_text)),
        (QPalette.ColorRole.PlaceholderText, c(colours.muted)), (QPalette.ColorRole.BrightText, c(colours.error)),
        (QPalette.ColorRole.Light, button.lighter(125)), (QPalette.ColorRole.Midlight, button.lighter(110)),
        (QPalette.ColorRole.Mid, c(colours.border)), (QPalette.ColorRole.Dark, c(colours.border).darker(130)),
        (QPalette.ColorRole.Shadow, c("#000000") if colours.dark else c("#8a8f98")),
        (QPalette.ColorRole.Accent, c(colours.accent)),
    ):
        p.setColor(role, colour)
    disabled = c(colours.muted)
    disabled.setAlpha(150)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, c(colours.border))
    p.setColor(QPalette.ColorGroup.Inactive, QPalette.ColorRole.Highlight, c(colours.accent))
    return p


def stylesheet(colours: Colours) -> str:
    """The application stylesheet: colours and the shell's spacing only (pages keep Fusion's metrics, so a theme
    never makes a page taller than it was laid out for)."""
    k = colours
    accent_hover = QColor(k.accent).lighter(112).name()
    rules = [
        f"QToolTip {{ color: {k.text}; background: {k.base}; border: 1px solid {k.border}; padding: 4px; }}",
        # navigation (main_window): roomy rows, an accent bar on the selected one
        f"#navigation {{ background: {k.sidebar}; border: none; outline: none; font-size: 10.5pt; }}",
        f"#navigation::item {{ padding: 8px 10px; border-left: 3px solid transparent; color: {k.text}; }}",
        f"#navigation::item:hover {{ background: {QColor(k.sidebar).darker(106 if not k.dark else 80).name()}; }}",
        f"#navigation::item:selected {{ background: {k.base if not k.dark else k.window}; color: {k.text}; "
        f"border-left: 3px solid {k.accent_text}; font-weight: 600; }}",
        f"#sidebar {{ background: {k.sidebar}; }}",
        f"#brand {{ color: {k.text}; font-weight: 600; font-size: 10.5pt; }}",
        f"#brand_sub {{ color: {k.muted}; font-size: 8.5pt; }}",
        # page header (widgets/page_header.py)
        f"#page_header {{ background: {k.base}; border-bottom: 1px solid {k.border}; }}",
        f"#page_title {{ color: {k.text}; font-size: 14pt; font-weight: 600; }}",
        f"#page_subtitle {{ color: {k.muted}; }}",
        # status bar
        f"QStatusBar {{ background: {k.sidebar}; border-top: 1px solid {k.border}; color: {k.muted}; }}",
        "QStatusBar::item { border: none; }",
        f"QStatusBar QLabel {{ color: {k.text}; padding: 0 2px; }}",
        # the status set, for any label: label.setProperty("status", "ok"|"warn"|"error"|"info"|"neutral")
        *(f'QLabel[status="{s}"] {{ color: {k.status(s)}; }}' for s in STATUSES),
        *(f'QPushButton[status="{s}"] {{ color: {k.status(s)}; }}' for s in STATUSES),  # e.g. the log's "why?"
        f'QLineEdit[invalid="true"] {{ border: 1px solid {k.error}; }}',  # an entry that cannot be used as typed
        f'QLabel[problem="true"] {{ background: {k.problem_bg}; color: {k.problem_fg}; '
        f"border: 1px solid {k.problem_border}; border-radius: 4px; padding: 4px 8px; }}",
        # primary action: button.setProperty("primary", True)
        f'QPushButton[primary="true"] {{ background: {k.accent}; color: #ffffff; border: 1px solid {k.accent}; '
        "border-radius: 4px; padding: 6px 12px; font-weight: 600; }",
        f'QPushButton[primary="true"]:hover {{ background: {accent_hover}; }}',
        f'QPushButton[primary="true"]:disabled {{ background: {k.border}; border-color: {k.border}; '
        f"color: {k.muted}; }}",
        # dense tables in the KeyStore Explorer manner: thin grid, flat headers
        f"QHeaderView::section {{ background: {k.alternate}; color: {k.text}; border: none; "
        f"border-right: 1px solid {k.border}; border-bottom: 1px solid {k.border}; padding: 3px 6px; }}",
        f"QTableView, QTreeView, QListView {{ gridline-color: {k.border}; }}",
        f"#shell::handle {{ background: {k.border}; }}",  # the main window's sidebar | page splitter: a hairline
    ]
    return "\n".join([MARKER, *rules])


def requested_theme() -> str:
    """The user's choice: WORKBENCH_THEME, else the View menu's saved choice, else follow the system."""
    value = os.environ.get("WORKBENCH_THEME", "").strip().lower()
    if value in CHOICES:
        return value
    saved = str(QSettings().value(SETTING, "system") or "system")
    return saved if saved in CHOICES else "system"


def apply_theme(app: QApplication, dark: bool | None = None) -> bool:
    """Apply the light or dark theme (by default the user's choice, else the system's); returns whether dark is on."""
    if dark is None:
        choice = requested_theme()
        dark = system_prefers_dark() if choice == "system" else choice == "dark"
    colours = DARK if dark else LIGHT
    if not app.styleSheet().startswith(MARKER):  # Fusion sits under our stylesheet already: setStyle costs ~70 ms
        app.setStyle("Fusion")
    app.setPalette(palette_for(colours))
    app.setStyleSheet(stylesheet(colours))
    return dark


def choose(app: QApplication, choice: str) -> bool:
    """The View menu: 'system', 'light' or 'dark', remembered for the next start; returns whether dark is on."""
    QSettings().setValue(SETTING, choice if choice in CHOICES else "system")
    return apply_theme(app)


class ThemeFollower(QObject):
    """Re-applies the theme when the desktop switches between light and dark (Qt 6.5+ `colorSchemeChanged`), unless
    the user chose light or dark for the app.

    Signals:
        changed(bool): the theme was applied again; True when dark.
    """

    changed = Signal(bool)

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self._app = app
        app.styleHints().colorSchemeChanged.connect(self.on_scheme_changed)

    def on_scheme_changed(self, scheme: Qt.ColorScheme) -> None:
        """Follow the system's new scheme (the signal's value: some platforms answer `colorScheme()` late)."""
        if requested_theme() != "system":
            return
        self.changed.emit(apply_theme(self._app, dark=scheme == Qt.ColorScheme.Dark))


def follow_system(app: QApplication) -> ThemeFollower:
    """Apply the theme now and keep following the desktop's colour scheme."""
    apply_theme(app)
    return ThemeFollower(app)
