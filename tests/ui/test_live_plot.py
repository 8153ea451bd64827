"""The live plot keeps only its window, draws without data, and draws several series."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from workbench.ui.widgets.live_plot import LivePlot, nice_range


def test_window_and_painting(qtbot: QtBot) -> None:
    plot = LivePlot(window=60)
    qtbot.addWidget(plot)
    plot.resize(500, 240)
    plot.show()
    assert not plot.grab().isNull()  # "waiting for data…"
    for t in range(200):
        plot.add_point("T", float(t), 20 + (t % 7) / 10)
        plot.add_point("H", float(t), 50.0)  # a flat line still has a range
    assert plot.point_count("T") == 61 and plot.point_count() == 122
    assert not plot.grab().isNull()
    plot.clear()
    assert plot.point_count() == 0


def test_nice_range_pads() -> None:
    assert nice_range(5, 5) == (4, 6)
    assert nice_range(21.6, 21.7, min_span=2.0) == pytest.approx((20.65, 22.65))
    low, high = nice_range(0, 10)
    assert low < 0 and high > 10


def test_max_points_and_axis_labels(qtbot: QtBot) -> None:
    plot = LivePlot(window=1e9, max_points=10, x_label="seconds since 12:00:00", y_label="°C")
    qtbot.addWidget(plot)
    plot.resize(400, 200)
    for t in range(50):
        plot.add_point("c8y_Temperature.T", float(t), 20.0 + t / 10)
    assert plot.point_count() == 10 and plot.series["c8y_Temperature.T"][0] == (40.0, 24.0)
    plot.set_labels("seconds", "hPa")
    assert (plot.x_label, plot.y_label) == ("seconds", "hPa")
    assert not plot.grab().isNull()


def _strokes(plot: LivePlot, series: str) -> list[int]:
    """The number of points in each drawn stroke (subpath) of a series, after a real paint."""
    assert not plot.grab().isNull()
    path = plot.drawn_paths[series]
    strokes: list[int] = []
    for i in range(path.elementCount()):
        if path.elementAt(i).isMoveTo():
            strokes.append(0)
        strokes[-1] += 1
    return strokes


def test_a_gap_in_the_data_is_drawn_as_a_gap(qtbot: QtBot) -> None:
    """Points every second, then nothing for 30 s: two strokes, not one straight line across the pause."""
    plot = LivePlot(window=120)
    qtbot.addWidget(plot)
    plot.resize(500, 240)
    plot.show()
    for t in range(10):
        plot.add_point("T", float(t), 20.0)
    for t in range(40, 50):
        plot.add_point("T", float(t), 25.0)
    assert _strokes(plot, "T") == [10, 10]
    plot.add_point("T", 52.0, 25.0)  # 2 s: late, but within 3x the median interval of 1 s
    assert _strokes(plot, "T") == [10, 11]
    plot.add_point("T", 60.0, 21.0)  # a lone point after another gap is its own stroke
    assert _strokes(plot, "T") == [10, 11, 1]


def test_gap_rule() -> None:
    from workbench.ui.widgets.live_plot import split_at_gaps

    assert split_at_gaps([]) == []
    assert split_at_gaps([(0, 1), (100, 2)]) == [[(0, 1), (100, 2)]]  # no typical interval yet
    steady = [(float(t), 1.0) for t in range(5)]
    assert split_at_gaps(steady) == [steady]
    assert [len(r) for r in split_at_gaps([*steady, (7.0, 1.0)])] == [6]  # 3 s = 3x the median: not yet a gap
    assert [len(r) for r in split_at_gaps([*steady, (7.5, 1.0)])] == [5, 1]
