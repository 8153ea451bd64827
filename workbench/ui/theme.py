"""Light and dark themes that follow the system setting, on the Fusion style so they look the same everywhere."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


def system_prefers_dark() -> bool:
    """Qt 6.5+ reports the desktop's colour scheme; unknown means light."""
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def dark_palette() -> QPalette:
    """A calm dark palette with enough contrast for long console sessions."""
    p = QPalette()
    base, window, text, accent = QColor(30, 32, 36), QColor(43, 45, 50), QColor(222, 224, 228), QColor(64, 140, 255)
    for role, colour in (
        (QPalette.ColorRole.Window, window), (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base), (QPalette.ColorRole.AlternateBase, window),
        (QPalette.ColorRole.Text, text), (QPalette.ColorRole.Button, window),
        (QPalette.ColorRole.ButtonText, text), (QPalette.ColorRole.Highlight, accent),
        (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)), (QPalette.ColorRole.ToolTipBase, base),
        (QPalette.ColorRole.ToolTipText, text), (QPalette.ColorRole.Link, accent),
        (QPalette.ColorRole.PlaceholderText, QColor(140, 144, 150)),
    ):
        p.setColor(role, colour)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(120, 120, 120))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(120, 120, 120))
    return p


def apply_theme(app: QApplication, dark: bool | None = None) -> bool:
    """Apply the light or dark theme (by default the system's); returns whether dark is on."""
    use_dark = system_prefers_dark() if dark is None else dark
    app.setStyle("Fusion")
    app.setPalette(dark_palette() if use_dark else app.style().standardPalette())
    return use_dark
