"""The Fleet page's figure panels: device states and rates, latency percentiles, and errors grouped by reason; each
only renders a figures snapshot of the simulator (no logic), so the page stays a thin front end."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

_FIGURES = (("connected", "Connected"), ("registering", "Registering"), ("connecting", "Connecting"),
            ("failed", "Failed"), ("connects_per_s", "Connects/s"), ("messages_per_s", "Messages/s"),
            ("cpu_percent", "CPU %"), ("rss_mib", "Memory MiB"))


class FiguresPanel(QGroupBox):
    """Device states, rates and the simulator's own CPU and memory, as big numbers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Devices", parent)
        grid = QGridLayout(self)
        self.values: dict[str, QLabel] = {}
        for index, (key, title) in enumerate(_FIGURES):
            value = QLabel("–")
            value.setObjectName(f"figure_{key}")
            font = value.font()
            font.setPointSizeF(font.pointSizeF() * 1.5)
            font.setBold(True)
            value.setFont(font)
            grid.addWidget(value, (index // 4) * 2, index % 4)
            grid.addWidget(QLabel(title), (index // 4) * 2 + 1, index % 4)
            self.values[key] = value

    def show_figures(self, snap: dict[str, Any]) -> None:
        """Render one snapshot."""
        states, rates, process = snap["states"], snap["rates"], snap["process"]
        for key in ("connected", "registering", "connecting", "failed"):
            self.values[key].setText(f"{states.get(key, 0)}" + (f" / {snap['devices']}" if key == "connected" else ""))
        for key in ("connects_per_s", "messages_per_s"):
            self.values[key].setText(f"{rates.get(key, 0):.0f}")
        self.values["cpu_percent"].setText(f"{process['cpu_percent']:.0f}")
        self.values["rss_mib"].setText(f"{process['rss_mib']:.0f}")


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    for column in range(1, len(headers)):
        table.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
    return table


class LatencyPanel(QGroupBox):
    """Connect, token and publish latency percentiles in milliseconds."""

    KINDS = ("connect", "token", "publish")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Latency (ms)", parent)
        layout = QVBoxLayout(self)
        self.table = _table(["", "p50", "p90", "p99", "max", "samples"])
        self.table.setRowCount(len(self.KINDS))
        for row, kind in enumerate(self.KINDS):
            self.table.setItem(row, 0, QTableWidgetItem(kind))
        self.table.setMaximumHeight(self.table.verticalHeader().defaultSectionSize() * 4 + 8)
        layout.addWidget(self.table)
        layout.addStretch(1)

    def show_figures(self, snap: dict[str, Any]) -> None:
        """Render one snapshot."""
        for row, kind in enumerate(self.KINDS):
            figures = snap["latency_ms"].get(kind, {})
            for column, name in enumerate(("p50", "p90", "p99", "max", "count"), start=1):
                value = figures.get(name)
                text = "–" if value is None else (f"{value}" if name == "count" else f"{value:.1f}")
                self.table.setItem(row, column, QTableWidgetItem(text))


class ErrorsPanel(QGroupBox):
    """Errors grouped by reason, most frequent first; long reasons elide with the full text as tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Errors by reason", parent)
        layout = QVBoxLayout(self)
        self.table = _table(["Reason", "Count"])
        layout.addWidget(self.table)

    def show_figures(self, snap: dict[str, Any]) -> None:
        """Render one snapshot."""
        errors = list(snap["errors"].items())
        self.table.setRowCount(len(errors))
        for row, (reason, count) in enumerate(errors):
            item = QTableWidgetItem(reason)
            item.setToolTip(reason)
            self.table.setItem(row, 0, item)
            self.table.setItem(row, 1, QTableWidgetItem(str(count)))
