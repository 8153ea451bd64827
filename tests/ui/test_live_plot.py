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
