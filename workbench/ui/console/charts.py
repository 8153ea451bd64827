"""The console's charts: numbers picked from payloads (a JSON path, a SmartREST 200/201 measurement, a plain number,
a decoded Protobuf field or Sparkplug metric), several series from several topics, a time window, pause, and export
as PNG or CSV.

The plot is drawn with QPainter and min/max decimation per pixel column (`core/console/series.py`): whatever the
number of points, it draws about four points per column and series, so 100,000 points repaint in milliseconds and
no plotting library (pyqtgraph would bring numpy, about 30 MB) joins the bundle.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from workbench.core.console.decoders import Decoded, PayloadDecoder, decode_safely
from workbench.core.console.extract import SourceKind, ValueSource, extract
from workbench.core.console.messages import ConsoleMessage, topic_matches
from workbench.core.console.series import Series, decimate, to_csv
from workbench.core.files import write_atomic
from workbench.errors import InvalidInputError, WorkbenchError
from workbench.ui import theme
from workbench.ui.errors import run_action
from workbench.ui.widgets.live_plot import nice_range, series_colour, translucent

WINDOWS = (("1 min", 60.0), ("5 min", 300.0), ("15 min", 900.0), ("1 h", 3600.0), ("everything", 0.0))
REPAINT_MS = 250


class DecimatedPlot(QWidget):
    """Time series drawn as min/max per pixel column: the drawing costs the same for 1,000 or 1,000,000 points."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: list[Series] = []
        self.window_seconds = 300.0  # 0: everything kept
        self.end_time: float | None = None  # None: follow the clock; a time: frozen there (paused)
        self.clock: Callable[[], float] = time.time
        self.drawn_points = 0  # polyline points of the last paint (tests and the benchmark read it)
        # the console's splitter gives it more; a small window keeps it whole (a few grid lines at the least: the
        # Charts tab is no taller than the Messages tab, and the console fits a 1280x800 screen)
        self.setMinimumSize(240, 72)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def time_span(self) -> tuple[float, float] | None:
        """The shown [t0, t1], or None without points."""
        starts = [s.t[0] for s in self.series if len(s)]
        if not starts:
            return None
        newest = max(s.t[-1] for s in self.series if len(s))
        if self.window_seconds <= 0:  # everything kept: from the first point to the newest (the clock adds nothing)
            t1 = min(newest, self.end_time) if self.end_time is not None else newest
            t0 = min(starts)
            return t0, max(t1, t0 + 1e-3)
        t1 = self.end_time if self.end_time is not None else max(self.clock(), newest)
        t0 = t1 - self.window_seconds
        return t0, max(t1, t0 + 1.0)

    def paintEvent(self, _event: QPaintEvent) -> None:
        """Frame, value grid, one decimated line per series, legend."""
        painter = QPainter(self)
        k = theme.current()  # the plot is drawn in the theme's colours, light or dark
        painter.fillRect(self.rect(), QColor(k.base))
        metrics = painter.fontMetrics()
        area = QRectF(metrics.horizontalAdvance("-00000.00") + 12, 8, 0, 0)
        area.setRight(self.width() - 10)
        area.setBottom(self.height() - metrics.height() - 10)
        painter.setPen(QPen(QColor(k.border)))
        painter.drawRect(area)
        span = self.time_span()
        self.drawn_points = 0
        if span is None or area.width() < 2 or area.height() < 2:
            painter.setPen(QColor(k.muted))
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "add a series, then wait for data…")
            return
        t0, t1 = span
        columns = max(1, int(area.width()))
        decimated = [decimate(series, t0, t1, columns) for series in self.series]
        lows = [c.low for cols in decimated for c in cols]  # the value range from the columns: no second pass
        found = (min(lows), max(c.high for cols in decimated for c in cols)) if lows else None
        if found is None:
            painter.setPen(QColor(k.muted))
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "no points in this time window")
            return
        v_low, v_high = nice_range(*found)
        x_scale = area.width() / columns
        y_scale = area.height() / (v_high - v_low)

        def y(value: float) -> float:
            return area.bottom() - (value - v_low) * y_scale

        for i in range(5):  # value grid and labels
            value = v_low + (v_high - v_low) * i / 4
            painter.setPen(QPen(translucent(k.border, 130)))
            painter.drawLine(QPointF(area.left(), y(value)), QPointF(area.right(), y(value)))
            painter.setPen(QColor(k.muted))
            painter.drawText(QRectF(0, y(value) - metrics.height() / 2, area.left() - 6, metrics.height()),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{value:.4g}")
        painter.drawText(QRectF(area.left(), area.bottom() + 4, area.width(), metrics.height()),
                         Qt.AlignmentFlag.AlignLeft, time.strftime("%H:%M:%S", time.localtime(t0)))
        painter.drawText(QRectF(area.left(), area.bottom() + 4, area.width(), metrics.height()),
                         Qt.AlignmentFlag.AlignRight, time.strftime("%H:%M:%S", time.localtime(t1)))
        painter.setClipRect(area.adjusted(-1, -1, 1, 1))
        for index, columns_of_series in enumerate(decimated):
            points: list[QPointF] = []  # a list, then one QPolygonF: QPolygonF.append per point is slow in PySide6
            for column in columns_of_series:
                x = area.left() + (column.x + 0.5) * x_scale
                points.append(QPointF(x, y(column.first)))
                if column.low != column.high:
                    points.append(QPointF(x, y(column.low)))
                    points.append(QPointF(x, y(column.high)))
                points.append(QPointF(x, y(column.last)))
            pen = QPen(series_colour(index), 1)
            pen.setCosmetic(True)  # one-pixel lines take the raster engine's fast path (1.5 px strokes: 100x slower)
            painter.setPen(pen)
            painter.drawPolyline(QPolygonF(points))
            self.drawn_points += len(points)
        painter.setClipping(False)
        for index, series in enumerate(self.series):  # legend
            last = f"{series.v[-1]:g}" if len(series) else "-"
            label = f"{series.name}: {last}"
            box = QRectF(area.left() + 4, area.top() + 4 + index * (metrics.height() + 2),
                         min(metrics.horizontalAdvance(label) + 8, area.width() - 8), metrics.height() + 2)
            painter.fillRect(box, translucent(k.base, 220))
            painter.setPen(series_colour(index))
            painter.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             metrics.elidedText(label, Qt.TextElideMode.ElideMiddle, int(box.width()) - 4))


@dataclass
class ChartSeries:
    """One line of the chart: the topics it listens to, the value it picks, and its points."""

    topic_filter: str
    source: ValueSource
    points: Series


class ChartPanel(QWidget):
    """Series definitions, window, pause and export around a DecimatedPlot."""

    def __init__(self, decoder_for: Callable[[ConsoleMessage], PayloadDecoder],
                 show_problem: Callable[[WorkbenchError], object], capacity: int = 200_000) -> None:
        super().__init__()
        self._decoder_for = decoder_for
        self._show_problem = show_problem
        self.capacity = capacity
        self.definitions: list[ChartSeries] = []
        self.paused = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.topic_edit = QLineEdit()
        self.topic_edit.setObjectName("chart_topic")
        self.topic_edit.setPlaceholderText("topic or filter, e.g. plant/+/temp")
        self.source_edit = QLineEdit()
        self.source_edit.setObjectName("chart_source")
        self.source_edit.setPlaceholderText("json:$.value · smartrest:c8y_Steam.T · number · metric:Temperature")
        self.source_edit.setToolTip("Where the number is: a JSON path ($.a.b[0], also in decoded CBOR, MessagePack "
                                    "and Protobuf payloads), a SmartREST 200/201/211 measurement "
                                    "(fragment.series, empty for the first), the whole payload as a number, or a "
                                    "Sparkplug B metric by name or alias")
        add = QPushButton("Add series")
        add.clicked.connect(self._on_add_clicked)
        row.addWidget(self.topic_edit, 2)
        row.addWidget(self.source_edit, 3)
        row.addWidget(add)
        layout.addLayout(row)
        row = QHBoxLayout()
        self.series_list = QListWidget()
        self.series_list.setMaximumHeight(64)
        self.series_list.setMinimumHeight(44)  # two series in view, the rest scroll: as tall as its buttons
        remove = QPushButton("Remove")
        remove.clicked.connect(self._on_remove_clicked)
        row.addWidget(self.series_list, 1)
        column = QVBoxLayout()
        self.window_combo = QComboBox()
        for label, _seconds in WINDOWS:
            self.window_combo.addItem(label)
        self.window_combo.setCurrentIndex(1)
        self.window_combo.currentIndexChanged.connect(self._on_window_changed)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self.set_paused)
        column.addWidget(self.window_combo)
        column.addWidget(self.pause_button)
        row.addLayout(column)
        column = QVBoxLayout()
        png = QPushButton("Export PNG…")
        png.clicked.connect(lambda: self._ask_and_export("PNG image (*.png)", ".png", self.export_png))
        csv_button = QPushButton("Export CSV…")
        csv_button.clicked.connect(lambda: self._ask_and_export("CSV (*.csv)", ".csv", self.export_csv))
        column.addWidget(png)
        column.addWidget(csv_button)
        row.addLayout(column)
        column = QVBoxLayout()
        column.addWidget(remove)
        column.addStretch(1)
        row.addLayout(column)
        layout.addLayout(row)
        self.plot = DecimatedPlot()
        self.plot.setObjectName("chart_plot")
        layout.addWidget(self.plot, 1)
        self.status = QLabel("")
        layout.addWidget(self.status)
        self._timer = QTimer(self)
        self._timer.setInterval(REPAINT_MS)
        self._timer.timeout.connect(self._repaint)
        self._timer.start()
        self._dirty = False

    # --- series -------------------------------------------------------------------------------------------
    def add_series(self, topic_filter: str, source_text: str) -> ChartSeries:
        """Plot the value `source_text` picks from the messages of `topic_filter`.

        Raises:
            InvalidInputError: an empty filter or a source that cannot be read.
        """
        topic_filter = topic_filter.strip()
        if not topic_filter:
            raise InvalidInputError("A series needs a topic or a topic filter", ("For example plant/+/temperature.",))
        source = ValueSource.parse(source_text or "number")
        name = f"{topic_filter} {source.label}" if source.expression else f"{topic_filter} ({source.kind.value})"
        definition = ChartSeries(topic_filter, source, Series(name, self.capacity))
        self.definitions.append(definition)
        self.plot.series.append(definition.points)
        self.series_list.addItem(name)
        self._dirty = True
        return definition

    def _on_add_clicked(self) -> None:
        run_action(self, lambda: self.add_series(self.topic_edit.text(), self.source_edit.text()),
                   self._show_problem)

    def _on_remove_clicked(self) -> None:
        row = self.series_list.currentRow()
        if 0 <= row < len(self.definitions):
            definition = self.definitions.pop(row)
            self.plot.series.remove(definition.points)
            self.series_list.takeItem(row)
            self._dirty = True

    # --- feeding ------------------------------------------------------------------------------------------
    def on_batch(self, messages: list[ConsoleMessage]) -> None:
        """The console's batch: pick the numbers of every series (also while paused: pause freezes the view only)."""
        if not self.definitions:
            return
        for message in messages:
            decoded: Decoded | None = None
            for definition in self.definitions:
                if not topic_matches(definition.topic_filter, message.topic):
                    continue
                if decoded is None and self._needs_decoding(definition.source, message.payload):
                    decoded = decode_safely(self._decoder_for(message), message.payload, message.topic)
                for value in extract(definition.source, message.payload, decoded):
                    definition.points.append(message.timestamp, value)
                    self._dirty = True

    @staticmethod
    def _needs_decoding(source: ValueSource, payload: bytes) -> bool:
        if source.kind is SourceKind.METRIC:
            return True
        if source.kind is SourceKind.SMARTREST:
            return False
        if source.kind is SourceKind.NUMBER:
            return not payload.isascii()
        return payload.lstrip()[:1] not in (b"{", b"[")  # JSON text needs no decoder; CBOR, Protobuf... do

    # --- view ---------------------------------------------------------------------------------------------
    def set_paused(self, paused: bool) -> None:
        """Freeze the view at this moment (points keep arriving, up to each series' capacity)."""
        self.paused = paused
        self.plot.end_time = self.plot.clock() if paused else None
        self.pause_button.setChecked(paused)
        self.pause_button.setText("Resume" if paused else "Pause")
        self.plot.update()

    def set_window(self, seconds: float) -> None:
        """Show the newest `seconds` (0: everything kept)."""
        self.plot.window_seconds = seconds
        self.plot.update()

    def _on_window_changed(self, index: int) -> None:
        self.set_window(WINDOWS[index][1])

    def _repaint(self) -> None:
        if self.isVisible() and (self._dirty or not self.paused):
            self._dirty = False
            self.plot.update()
            total = sum(len(d.points) for d in self.definitions)
            self.status.setText(f"{len(self.definitions)} series, {total:,} points" +
                                (" (paused: the view stands still)" if self.paused else ""))

    # --- export -------------------------------------------------------------------------------------------
    def export_png(self, path: Path) -> Path:
        """The plot as it is shown now, as a PNG."""
        if not self.plot.grab().save(str(path), "PNG"):
            raise WorkbenchError(f"Cannot write {path}", ("Check that the folder exists and is writable.",))
        return path

    def export_csv(self, path: Path) -> Path:
        """Every point of every series in the shown window (time, epoch seconds, series, value)."""
        span = self.plot.time_span()
        data = to_csv([d.points for d in self.definitions], *(span or (None, None)))
        return write_atomic(path, data)

    def _ask_and_export(self, kind: str, suffix: str, export: Callable[[Path], Path]) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export the chart", f"chart{suffix}", kind)
        if name:
            run_action(self, lambda: export(Path(name)), self._show_problem)
