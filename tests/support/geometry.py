"""Geometry checks for GUI tests: a window that fits a screen shows every control whole, inside its parent, and
never on top of a sibling; when one does not, these helpers name the widget and what is wrong with it."""

from __future__ import annotations

from collections.abc import Iterator

from PySide6.QtCore import QRect, QSize
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QLayout,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QWidget,
)


def describe(widget: QWidget) -> str:
    """A widget as a reader can find it: its class, object name or text, and its chain of parents."""
    parts = []
    node: QWidget | None = widget
    while node is not None and len(parts) < 6:
        label = type(node).__name__
        name = node.objectName()
        text = getattr(node, "text", None)
        if name and not name.startswith("qt_"):
            label += f"#{name}"
        elif callable(text):
            try:
                value = str(text())
            except TypeError:
                value = ""
            if value:
                label += f"[{value[:30]!r}]"
        parts.append(label)
        node = node.parentWidget()
    return " < ".join(parts)


def _layout_widgets(layout: QLayout) -> Iterator[QWidget]:
    """The widgets a layout places, through its nested layouts."""
    for index in range(layout.count()):
        item = layout.itemAt(index)
        if item is None:
            continue
        if item.widget() is not None:
            yield item.widget()
        elif item.layout() is not None:
            yield from _layout_widgets(item.layout())


def _placed_children(widget: QWidget) -> list[QWidget]:
    """The visible children whose place the widget's own layout or splitter decides (Qt's composite widgets place
    their internals themselves, and a scroll area's content may be larger than its viewport on purpose)."""
    if isinstance(widget, QSplitter):
        children = [widget.widget(i) for i in range(widget.count())]
    elif widget.layout() is not None:
        children = list(_layout_widgets(widget.layout()))
    else:
        children = []
    return [c for c in children if c is not None and c.isVisible()]


def _descend(widget: QWidget) -> list[QWidget]:
    """Where the check goes next: placed children, a tab widget's current page, a scroll area's content."""
    nodes = _placed_children(widget)
    if isinstance(widget, QTabWidget) and widget.currentWidget() is not None:
        nodes.append(widget.currentWidget())
    if isinstance(widget, QScrollArea) and widget.widget() is not None and widget.widget().isVisible():
        nodes.append(widget.widget())
    return nodes


def _squeezed(child: QWidget) -> QSize | None:
    """The minimum a control needs when it has less than that (the layout then draws it over its neighbours)."""
    if isinstance(child, (QAbstractScrollArea, QSplitter, QTabWidget)):
        return None  # these scroll or elide their own content
    hint = child.minimumSizeHint().expandedTo(child.minimumSize())
    policy = child.sizePolicy()
    ignored = QSizePolicy.Policy.Ignored
    need_w = 0 if policy.horizontalPolicy() == ignored else hint.width()
    need_h = 0 if policy.verticalPolicy() == ignored else hint.height()
    if child.width() + 1 < need_w or child.height() + 1 < need_h:
        return QSize(need_w, need_h)
    return None


def layout_problems(root: QWidget) -> list[str]:
    """Every visible control placed outside its parent, over a sibling, or smaller than it needs, under root."""
    problems: list[str] = []
    stack = [root]
    while stack:
        widget = stack.pop()
        children = _placed_children(widget)
        bounds = widget.rect()
        for child in children:
            if not bounds.contains(child.geometry()):
                problems.append(f"outside its parent ({_rect(child.geometry())} not in {_rect(bounds)}): "
                                f"{describe(child)}")
            need = _squeezed(child)
            if need is not None:
                problems.append(f"squeezed to {child.width()}x{child.height()} (needs {need.width()}x"
                                f"{need.height()}): {describe(child)}")
        for i, first in enumerate(children):
            for second in children[i + 1:]:
                overlap = first.geometry().intersected(second.geometry())
                if overlap.width() > 0 and overlap.height() > 0:
                    problems.append(f"overlaps {describe(second)} by {_rect(overlap)}: {describe(first)}")
        stack.extend(_descend(widget))
    return problems


def widest(root: QWidget, limit: int = 8) -> list[str]:
    """The visible widgets whose minimum size is largest: where to look when a window grows."""
    found: list[tuple[int, int, str]] = []
    for widget in [root, *root.findChildren(QWidget)]:
        if widget.isVisible():
            hint = widget.minimumSizeHint().expandedTo(widget.minimumSize())
            found.append((hint.width(), hint.height(), describe(widget)))
    found.sort(reverse=True)
    return [f"{w}x{h} {what}" for w, h, what in found[:limit]]


def _rect(rect: QRect) -> str:
    return f"{rect.width()}x{rect.height()}+{rect.x()}+{rect.y()}"
