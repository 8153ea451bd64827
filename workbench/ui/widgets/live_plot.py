"""A live line plot drawn with QPainter: cheap enough to repaint every second for a demo or a device page, with no
QtCharts in the bundle (QtCharts is only in PySide6-Addons: docs/platform-notes.md)."""

from __future__ import annotations

import functools
import itertools
from collections import deque
from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from workbench.ui import theme

PALETTE = ("#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#c62828", "#00838f")


@functools.lru_cache(maxsize=32)
def _series_hex(index: int, dark: bool) -> str:
    return theme.readable(PALETTE[index], theme.DARK if dark else theme.LIGHT).name()


def translucent(colour: str, alpha: int) -> QColor:
    """A theme colour with some of the plot showing through (legend boxes, grid lines)."""
    result = QColor(colour)
    result.setAlpha(alpha)
    return result


def series_colour(index: int) -> QColor:
    """The colour of the index-th series: PALETTE's hue, made to read on the theme on show (light or dark)."""
    return QColor(_series_hex(index % len(PALETTE), theme.current().dark))


def nice_range(low: float, high: float, min_span: float = 0.0) -> tuple[float, float]:
    """Pad a value range so a flat line sits mid-plot, the extremes never touch the frame, and noise smaller than
    `min_span` (0.1 °C on a thermometer) does not fill the whole height."""
    if high - low < 1e-9 and min_span <= 0:
        return low - 1.0, high + 1.0
    if high - low < min_span:
        middle = (high + low) / 2
        return middle - min_span / 2, middle + min_span / 2
    pad = (high - low) * 0.1
    return low - pad, high + pad


GAP_FACTOR = 3.0  # a pause longer than 3x the series' median interval is a gap: no data, so no line across it


def split_at_gaps(points: Sequence[tuple[float, float]], factor: float = GAP_FACTOR) -> list[list[tuple[float, float]]]:
    """The runs of points to join with lines: a new run starts after a pause longer than ``factor`` times the
    median interval (a device that was offline for a minute shows a gap, not a straight line across the minute).
    With fewer than three points there is no typical interval yet, so nothing is split."""
    if len(points) < 3:
        return [list(points)] if points else []
    steps = sorted(b[0] - a[0] for a, b in itertools.pairwise(points))
    median = steps[len(steps) // 2] if len(steps) % 2 else (steps[len(steps) // 2 - 1] + steps[len(steps) // 2]) / 2
    limit = factor * median
    runs: list[list[tuple[float, float]]] = [[points[0]]]
    for previous, point in itertools.pairwise(points):
        if median > 0 and point[0] - previous[0] > limit:
            runs.append([])
        runs[-1].append(point)
    return runs


class LivePlot(QWidget):
    """Series of (t, value) points; the newest `window` seconds (at most `max_points` per series) are shown.

    Attributes:
        x_label / y_label: axis titles drawn under the time axis and beside the value axis.
    """

    def __init__(self, window: float = 120.0, max_points: int = 2000, parent: QWidget | None = None, *,
                 x_label: str = "seconds", y_label: str = "") -> None:
        super().__init__(parent)
        self.window_seconds = window  # not `self.window`: that would hide QWidget.window()
        self.max_points = max_points
        self.series: dict[str, deque[tuple[float, float]]] = {}
        self.min_span = 0.0  # the smallest value range shown (set it to the sensor's meaningful change)
        self.x_label = x_label
        self.y_label = y_label
        self.drawn_paths: dict[str, QPainterPath] = {}  # the last paint's line of each series (one subpath per run)
        self.setMinimumSize(240, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAutoFillBackground(True)

    def add_point(self, series: str, t: float, value: float) -> None:
        """Append a point and repaint (cheap: only the visible window is kept)."""
        points = self.series.setdefault(series, deque(maxlen=self.max_points))
        points.append((t, value))
        while points and points[0][0] < t - self.window_seconds:
            points.popleft()
        self.update()

    def clear(self) -> None:
        """Forget every series."""
        self.series.clear()
        self.update()

    def set_labels(self, x_label: str, y_label: str = "") -> None:
        """Change the axis titles (for example the unit of a newly chosen series)."""
        self.x_label, self.y_label = x_label, y_label
        self.update()

    def point_count(self, series: str | None = None) -> int:
        """How many points are shown (of one series, or all)."""
        if series is not None:
            return len(self.series.get(series, ()))
        return sum(len(p) for p in self.series.values())

    def paintEvent(self, _event: QPaintEvent) -> None:
        """Frame, grid with labels, one line per series, and a legend."""
        painter = QPainter(self)
        k = theme.current()  # the plot is drawn in the theme's colours, light or dark
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(k.base))
        metrics = painter.fontMetrics()
        title = metrics.height() + 4 if self.y_label else 0
        area = QRectF(metrics.horizontalAdvance("00000.000") + 12 + title, 10, 0, 0)
        area.setRight(self.width() - 12)
        area.setBottom(self.height() - metrics.height() * (2 if self.x_label else 1) - 14)
        painter.setPen(QPen(QColor(k.border)))
        painter.drawRect(area)
        painter.setPen(QColor(k.muted))
        if self.x_label:
            painter.drawText(QRectF(area.left(), area.bottom() + metrics.height() + 6, area.width(),
                                    metrics.height()), Qt.AlignmentFlag.AlignHCenter, self.x_label)
        if self.y_label:
            painter.save()
            painter.translate(4, area.center().y())
            painter.rotate(-90)
            painter.drawText(QRectF(-area.height() / 2, 0, area.height(), metrics.height()),
                             Qt.AlignmentFlag.AlignHCenter, self.y_label)
            painter.restore()
        points = [p for series in self.series.values() for p in series]
        if not points:
            painter.setPen(QColor(k.muted))
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "waiting for data…")
            return
        t_low = min(t for t, _ in points)
        t_high = max(max(t for t, _ in points), t_low + 10)  # the first seconds fill from the left
        v_low, v_high = nice_range(min(v for _, v in points), max(v for _, v in points), self.min_span)
        step = (v_high - v_low) / 4
        decimals = 0 if step >= 5 else 1 if step >= 0.5 else 2 if step >= 0.05 else 3

        def at(t: float, v: float) -> QPointF:
            x = area.left() + (t - t_low) / max(t_high - t_low, 1e-9) * area.width()
            y = area.bottom() - (v - v_low) / (v_high - v_low) * area.height()
            return QPointF(x, y)

        for i in range(5):  # horizontal grid with value labels
            v = v_low + (v_high - v_low) * i / 4
            y = at(t_low, v).y()
            painter.setPen(QPen(translucent(k.border, 130)))
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            painter.setPen(QColor(k.muted))
            painter.drawText(QRectF(0, y - metrics.height() / 2, area.left() - 6, metrics.height()),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{v:.{decimals}f}")
        painter.drawText(QRectF(area.left(), area.bottom() + 4, area.width(), metrics.height()),
                         Qt.AlignmentFlag.AlignLeft, f"{t_low:.0f} s")
        painter.drawText(QRectF(area.left(), area.bottom() + 4, area.width(), metrics.height()),
                         Qt.AlignmentFlag.AlignRight, f"{t_high:.0f} s")
        self.drawn_paths.clear()
        for index, (name, series) in enumerate(self.series.items()):
            colour = series_colour(index)
            path = QPainterPath()
            painter.setPen(QPen(colour, 2))
            for run in split_at_gaps(list(series)):  # each run is one stroke: a gap stays empty
                for n, (t, v) in enumerate(run):
                    (path.lineTo if n else path.moveTo)(at(t, v))
                if len(run) == 1:  # a lone point between two gaps is still seen
                    painter.setBrush(colour)
                    painter.drawEllipse(at(*run[0]), 1.5, 1.5)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)
            self.drawn_paths[name] = path
            last = at(*series[-1])
            painter.setBrush(colour)
            painter.drawEllipse(last, 3, 3)
        for index, (name, series) in enumerate(self.series.items()):  # the legend on top of every line
            label = f"{name}: {series[-1][1]:g}"
            box = QRectF(area.left() + 4, area.top() + 4 + index * (metrics.height() + 2),
                         metrics.horizontalAdvance(label) + 8, metrics.height() + 2)
            painter.fillRect(box, translucent(k.base, 220))
            painter.setPen(series_colour(index))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, label)
