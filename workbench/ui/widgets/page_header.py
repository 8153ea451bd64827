"""The compact header above every page (icon, title, one elided subtitle line with the full text as a tooltip), so
each area says what it is in the same place and style without each page laying out its own title."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from workbench.ui import theme
from workbench.ui.widgets.fit import ElidedLabel
from workbench.ui.widgets.icons import icon

ICON_SIZE = 26


class PageHeader(QWidget):
    """Icon, title and subtitle of the area on show; the main window updates it when the area changes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page_header")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.icon_name = ""
        self.icon = QLabel()
        self.icon.setObjectName("page_icon")
        self.icon.setFixedSize(ICON_SIZE + 8, ICON_SIZE + 8)
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel()
        self.title.setObjectName("page_title")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.subtitle = ElidedLabel()  # one line; the full sentence and the area's description on hover
        self.subtitle.setObjectName("page_subtitle")
        self.subtitle.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        texts = QVBoxLayout()
        texts.setContentsMargins(0, 0, 0, 0)
        texts.setSpacing(0)
        texts.addWidget(self.title)
        texts.addWidget(self.subtitle)
        row = QHBoxLayout(self)
        row.setContentsMargins(14, 8, 14, 8)
        row.setSpacing(10)
        row.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addLayout(texts, 1)

    def set_area(self, title: str, subtitle: str, tooltip: str = "", icon_name: str = "") -> None:
        """Show an area: its title, a one-sentence subtitle (elided; `tooltip` on hover, plus the full subtitle
        while it is elided)."""
        self.title.setText(title)
        self.subtitle.setText(subtitle)
        self.subtitle.setToolTip(tooltip)
        self.icon_name = icon_name or title
        self._paint_icon()

    def changeEvent(self, event: QEvent) -> None:
        """Recolour the icon when the theme changes."""
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange) and self.icon_name:
            self._paint_icon()

    def _paint_icon(self) -> None:
        colour = theme.current().accent_text
        self.icon.setPixmap(icon(self.icon_name, colour).pixmap(QSize(ICON_SIZE, ICON_SIZE), self.devicePixelRatioF()))
