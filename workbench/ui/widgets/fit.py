"""Pieces that keep every page inside a 1280x800 (down to 1024x768) window: a one-line label that elides with its
full text as tooltip, a layout that wraps a row of buttons onto the next line, and a scroll area that holds a page
whose content cannot shrink further, so no text or control ever makes the window grow."""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QContextMenuEvent, QGuiApplication, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QLayout,
    QLayoutItem,
    QMenu,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

MIN_CHARS = 8  # an elided label never gets narrower than about this many characters


class ElidedLabel(QLabel):
    """One line of plain text that shortens itself with "…" to the width it gets; the full text is its tooltip
    (with any tooltip the page set) and what `text()` and its "Copy" menu give, so long values never widen a page."""

    def __init__(self, text: str = "", parent: QWidget | None = None,
                 mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight) -> None:
        super().__init__(parent)
        self._full = ""
        self._tip = ""
        self._mode = mode
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(False)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:
        """Keep the full text; show as much of it as fits."""
        self._full = str(text)
        self.updateGeometry()
        self._refresh()

    def text(self) -> str:
        """The full text, not the elided one on screen."""
        return self._full

    def setToolTip(self, tip: str) -> None:
        """A page's own tooltip; the full text is added to it while the text is elided."""
        self._tip = tip
        self._refresh()

    def is_elided(self) -> bool:
        """True while the label shows less than its full text."""
        return super().text() != self._full

    def sizeHint(self) -> QSize:
        """As wide as the full text wants."""
        metrics = self.fontMetrics()
        margins = self.contentsMargins()
        return QSize(metrics.horizontalAdvance(self._full) + margins.left() + margins.right() + 2,
                     super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        """A few characters: the rest elides."""
        metrics = self.fontMetrics()
        want = metrics.horizontalAdvance(self._full[:MIN_CHARS] + "…") + 2
        return QSize(min(want, self.sizeHint().width()), super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Elide again for the new width."""
        super().resizeEvent(event)
        self._refresh()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """"Copy" copies the full text (the screen may show it shortened)."""
        menu = QMenu(self)
        menu.addAction("Copy").triggered.connect(lambda: QGuiApplication.clipboard().setText(self._full))
        menu.exec(event.globalPos())

    def _refresh(self) -> None:
        width = self.contentsRect().width()
        shown = self.fontMetrics().elidedText(self._full, self._mode, max(width, 0)) if width > 0 else self._full
        QLabel.setText(self, shown)
        tips = [t for t in ((self._full if shown != self._full else ""), self._tip) if t]
        QLabel.setToolTip(self, "\n\n".join(tips))


class FlowLayout(QLayout):
    """Widgets left to right, wrapping onto the next line when the row is full (a toolbar on a narrow window)."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._gap = spacing
        self._width = 0  # the width last laid out: the minimum height follows it (splitters ask no height-for-width)
        self._height = 0
        if parent is not None:
            self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        """Qt's hook for addWidget."""
        self._items.append(item)

    def count(self) -> int:
        """How many items the layout places."""
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        """The item at an index (None past the end, as Qt expects)."""
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        """Remove and return the item at an index."""
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        """Never wider than needed; the height follows the width."""
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        """The height depends on how many lines the width allows."""
        return True

    def heightForWidth(self, width: int) -> int:
        """The height of the wrapped rows at this width."""
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        """Place the items, wrapping as needed; a change in the number of lines asks the parents for the room."""
        super().setGeometry(rect)
        height = self._place(rect, move=True)
        self._width = rect.width()
        if height != self._height:
            self._height = height
            QTimer.singleShot(0, self, self._grow)  # cancelled with the layout if it goes first

    def _grow(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            self.invalidate()
            parent.updateGeometry()

    def sizeHint(self) -> QSize:
        """Everything on one line."""
        width = sum(i.sizeHint().width() for i in self._items) + self._gap * max(len(self._items) - 1, 0)
        height = max((i.sizeHint().height() for i in self._items), default=0)
        m = self.contentsMargins()
        return QSize(width + m.left() + m.right(), height + m.top() + m.bottom())

    def minimumSize(self) -> QSize:
        """The widest single item (everything else wraps), as high as the lines at the current width need."""
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        size += QSize(m.left() + m.right(), m.top() + m.bottom())
        if self._width > 0:
            size.setHeight(max(size.height(), self.heightForWidth(self._width)))
        return size

    def _place(self, rect: QRect, move: bool) -> int:
        m: QMargins = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, line = area.x(), area.y(), 0
        for item in self._items:
            if item.isEmpty():
                continue
            hint = item.sizeHint()
            if x + hint.width() > area.right() + 1 and line > 0:
                x, y, line = area.x(), y + line + self._gap, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._gap
            line = max(line, hint.height())
        return y + line - rect.y() + m.bottom()


class _BodyLayout(QVBoxLayout):
    """A page body's layout that claims no height-for-width: a scroll area otherwise asks the body for its
    preferred height at the viewport's width (word-wrapped labels, wrapping toolbars) and scrolls a page that
    fits at its minimum."""

    def hasHeightForWidth(self) -> bool:
        """Lay out by minimum sizes; the scroll bar appears only when those do not fit."""
        return False


def scroll_body(page: QWidget) -> QWidget:
    """Put a frameless scroll area in `page` and return the widget to lay the page out on (its layout is set by
    the caller, or `scroll_layout` gives one): at any window size the page shows whole or scrolls, and never makes
    the window grow."""
    outer = QVBoxLayout(page)
    outer.setContentsMargins(0, 0, 0, 0)
    area = QScrollArea(page)
    area.setObjectName("page_scroll")
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidgetResizable(True)
    body = QWidget()
    body.setObjectName("page_body")
    area.setWidget(body)
    outer.addWidget(area)
    return body


def scroll_layout(page: QWidget) -> QVBoxLayout:
    """The vertical layout of a scrolling page body (see `scroll_body`)."""
    return _BodyLayout(scroll_body(page))
