"""The one map from the app's icon names to qtawesome glyphs, coloured for the theme on show, with a drawn fallback
when the icon font cannot load (a broken bundle, a font blocked by the OS), so no button or navigation row is ever
left without an icon or crashes the window."""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QIcon, QIconEngine, QPainter, QPixmap

from workbench.ui import theme

log = logging.getLogger(__name__)

# Material Design Icons 6 (Apache-2.0, bundled with qtawesome): one family, outlined, so the set looks kept.
GLYPHS: dict[str, str] = {
    "Onboarding": "mdi6.rocket-launch-outline",
    "Connections": "mdi6.lan-connect",
    "Certificates": "mdi6.certificate-outline",
    "Keystores": "mdi6.key-chain-variant",
    "Proof of Possession": "mdi6.file-sign",
    "Local Platform": "mdi6.server-network",
    "Fleet": "mdi6.devices",
    "demo": "mdi6.play-circle-outline",
    "ok": "mdi6.check-circle",
    "warn": "mdi6.alert",
    "error": "mdi6.close-circle",
    "info": "mdi6.information",
    "neutral": "mdi6.circle-outline",
    "theme": "mdi6.theme-light-dark",
}

# The one icon font the app loads (qtawesome's own `icon()` would load all twelve of its fonts); the bundle carries
# only this font of qtawesome's (installer/workbench.spec, ICON_FONTS).
FONT = ("mdi6", "materialdesignicons6-webfont-6.9.96.ttf", "materialdesignicons6-webfont-charmap-6.9.96.json")

_failed: list[str] = []  # why the font did not load, once: later icons use the fallback without retrying
_font: list[Any] = []  # the loaded GlyphFont, once


class GlyphFont:
    """qtawesome's font and charmap, loaded straight into Qt: importing qtawesome itself goes through qtpy, whose
    `from PySide6.QtGui import *` (and QtWidgets) costs the window's cold start ~0.3 s (bench/cold_start.py)."""

    def __init__(self, prefix: str, ttf: Path, charmap: Path) -> None:
        font_id = QFontDatabase.addApplicationFont(str(ttf))
        families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
        if not families:
            raise OSError(f"the icon font {ttf.name} did not load")
        self.family = families[0]
        self.charmap = {prefix: {name: chr(int(code, 16)) for name, code in json.loads(charmap.read_text()).items()}}

    def icon(self, glyph: str, *, color: QColor, color_active: QColor, color_selected: QColor,
             color_disabled: QColor) -> QIcon:
        """The glyph as an icon, drawn at any size in the colour of each mode (as qtawesome's icons are)."""
        prefix, _, short = glyph.partition(".")
        colours = {QIcon.Mode.Normal: color, QIcon.Mode.Active: color_active, QIcon.Mode.Selected: color_selected,
                   QIcon.Mode.Disabled: color_disabled}
        return QIcon(_GlyphEngine(self.family, self.charmap[prefix][short], colours))


class _GlyphEngine(QIconEngine):
    """Paints one font glyph, 7/8 of the icon's height (qtawesome's proportion, for the glyphs' bearing)."""

    def __init__(self, family: str, char: str, colours: dict[QIcon.Mode, QColor]) -> None:
        super().__init__()
        self.family, self.char, self.colours = family, char, colours

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        """Draw the glyph centred in `rect` in the mode's colour."""
        painter.save()
        font = QFont(self.family)
        font.setPixelSize(max(round(0.875 * rect.height()), 1))
        painter.setFont(font)
        painter.setPen(self.colours.get(mode, self.colours[QIcon.Mode.Normal]))
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), self.char)
        painter.restore()

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        """The glyph on a transparent pixmap of `size`."""
        pixmap = QPixmap(size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        self.paint(painter, QRect(0, 0, size.width(), size.height()), mode, state)
        painter.end()
        return pixmap

    def clone(self) -> QIconEngine:
        """A copy (QIcon detaches on change)."""
        return _GlyphEngine(self.family, self.char, dict(self.colours))


def _qtawesome_fonts() -> Path:
    """qtawesome's font folder, found without importing qtawesome: the installed package's, or in a PyInstaller
    bundle the data folder installer/workbench.spec collects (qtawesome/fonts under the bundle's root)."""
    bundle_root = getattr(sys, "_MEIPASS", None)
    if bundle_root and (Path(bundle_root) / "qtawesome" / "fonts").is_dir():
        return Path(bundle_root) / "qtawesome" / "fonts"
    spec = importlib.util.find_spec("qtawesome")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("qtawesome is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "fonts"


def fonts_loaded() -> bool:
    """Whether the icon font loaded (False after a failure, until the next start)."""
    return not _failed


def _icon_font() -> Any:
    """Our one icon font, loaded on first use; None (and one log line) when it cannot load."""
    if _font or _failed:
        return _font[0] if _font else None
    try:
        folder = _qtawesome_fonts()
        _font.append(GlyphFont(FONT[0], folder / FONT[1], folder / FONT[2]))
    except Exception as exc:  # a missing or corrupt font file, a font the OS blocks: the drawn fallback
        _failed.append(type(exc).__name__)
        log.warning("icon fonts unavailable (%s); drawing plain icons instead", _failed[0])
        return None
    return _font[0]


def icon(name: str, colour: str | QColor | None = None, active: str | QColor | None = None) -> QIcon:
    """The icon for a name of GLYPHS (or an "mdi6." name), in the given colour or the theme's text colour.

    `active` is the colour for the selected/active state (navigation rows). Needs a QApplication.
    """
    colours = theme.current()
    normal = QColor(colour) if colour is not None else QColor(colours.text)
    selected = QColor(active) if active is not None else normal
    glyph = GLYPHS.get(name, name)
    font = _icon_font()
    prefix, _, short = glyph.partition(".")
    if font is not None and short in font.charmap.get(prefix, {}):
        result: QIcon = font.icon(glyph, color=normal, color_active=selected, color_selected=selected,
                                  color_disabled=QColor(colours.muted))
        return result
    if font is not None:
        log.warning("no icon glyph named %r; drawing a plain icon", glyph)
    return fallback_icon(name, normal)


def fallback_icon(name: str, colour: QColor, size: int = 64) -> QIcon:
    """A rounded square with the name's initial: plain, but an icon in every size and state."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    box = QRectF(size * 0.08, size * 0.08, size * 0.84, size * 0.84)
    painter.drawRoundedRect(box, size * 0.2, size * 0.2)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(int(size * 0.5))
    painter.setFont(font)
    painter.setPen(QColor("#ffffff") if colour.lightness() < 160 else QColor("#000000"))
    initial = (name.split(".")[-1][:1] or "?").upper()
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, initial)
    painter.end()
    return QIcon(pixmap)
