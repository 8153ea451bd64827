"""One device of the local platform: its measurements plotted live, its events and alarms, and its operations,
whose status moves PENDING → EXECUTING → SUCCESSFUL (or FAILED) while the device answers on `s/us`."""

from __future__ import annotations

import datetime
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget

from workbench.ui import theme
from workbench.ui.local_platform.common import make_table, set_row
from workbench.ui.widgets.live_plot import LivePlot

OPERATION_COLUMNS = ("Id", "Operation", "Status", "Created", "Result")
RECORD_COLUMNS = ("Time", "Kind", "Type", "Severity / status", "Text")
STATUS_KINDS: dict[str, theme.Status] = {"PENDING": "warn", "EXECUTING": "info", "SUCCESSFUL": "ok", "FAILED": "error"}
# alarm severities as data colours (a hue each); set_row makes them read on the light and the dark theme
SEVERITY_COLOURS = {"CRITICAL": "#b71c1c", "MAJOR": "#c62828", "MINOR": "#ef6c00", "WARNING": "#f9a825"}
_NOT_SERIES = {"id", "self", "source", "time", "type", "creationTime"}


def epoch(text: str) -> float:
    """Seconds since 1970 of the platform's `2021-09-03T07:42:00.000Z`."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def local_time(text: str | None, with_date: bool = False) -> str:
    """A platform time in the machine's zone, for tables."""
    if not text:
        return "–"
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone()
    except ValueError:
        return text
    return moment.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def series_points(measurement: dict[str, Any]) -> list[tuple[str, float, str]]:
    """(series name `fragment.series`, value, unit) of every numeric value in a measurement."""
    points = []
    for fragment, body in measurement.items():
        if fragment in _NOT_SERIES or not isinstance(body, dict):
            continue
        for series, value in body.items():
            if isinstance(value, dict) and isinstance(value.get("value"), int | float):
                points.append((f"{fragment}.{series}", float(value["value"]), str(value.get("unit", ""))))
    return points


def operation_name(operation: dict[str, Any]) -> str:
    """The operation's fragment (c8y_Restart, c8y_Command: text) for the list."""
    if "c8y_Command" in operation:
        return f"c8y_Command: {operation['c8y_Command'].get('text', '')}"
    fragments = [k for k in operation if k.startswith("c8y_")]
    return ", ".join(fragments) or operation.get("description", "")


class DeviceDetail(QWidget):
    """The selected device's live data; `apply(data)` takes one poll's answers."""

    def __init__(self) -> None:
        super().__init__()
        self.device: dict[str, Any] | None = None
        self.seen_measurements: set[str] = set()
        self.base_time: float | None = None
        self.status_history: dict[str, list[str]] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.title = QLabel("Select a device to see its measurements, events, alarms and operations.")
        self.title.setWordWrap(True)  # a long device name wraps instead of widening the page
        self.create_button = QPushButton("Create operation…")
        self.create_button.setEnabled(False)
        bar.addWidget(self.title, 1)
        bar.addWidget(self.create_button)
        layout.addLayout(bar)
        split = QSplitter()
        self.plot = LivePlot(window=300, x_label="seconds")
        split.addWidget(self.plot)
        self.tabs = QTabWidget()
        self.operations = make_table(OPERATION_COLUMNS)
        self.records = make_table(RECORD_COLUMNS)
        self.tabs.addTab(self.operations, "Operations")
        self.tabs.addTab(self.records, "Events and alarms")
        split.addWidget(self.tabs)
        split.setSizes([620, 560])
        layout.addWidget(split, 1)

    def set_device(self, device: dict[str, Any] | None) -> None:
        """Show another device (or none): the plot starts empty."""
        self.device = device
        self.seen_measurements.clear()
        self.status_history.clear()
        self.base_time = None
        self.plot.clear()
        self.plot.set_labels("seconds")
        self.operations.setRowCount(0)
        self.records.setRowCount(0)
        mo = (device or {}).get("managedObject")
        self.create_button.setEnabled(mo is not None)
        if device is None:
            self.title.setText("Select a device to see its measurements, events, alarms and operations.")
        elif mo is None:
            self.title.setText(f"<b>{device['deviceId']}</b> has no managed object yet: it appears with its first "
                               "SmartREST line on s/us.")
        else:
            self.title.setText(f"<b>{device['deviceId']}</b> · managed object {mo['id']} · {mo.get('name', '')}")

    def apply(self, data: dict[str, list[dict[str, Any]]]) -> None:
        """New measurements go on the plot; events, alarms and operations are listed again."""
        fresh = [m for m in reversed(data.get("measurements", [])) if m["id"] not in self.seen_measurements]
        for measurement in fresh:
            self.seen_measurements.add(measurement["id"])
            moment = epoch(measurement["time"])
            if self.base_time is None:
                self.base_time = moment
                self.plot.set_labels(f"seconds since {local_time(measurement['time'])}", self.plot.y_label)
            for name, value, unit in series_points(measurement):
                if not self.plot.y_label and unit:
                    self.plot.set_labels(self.plot.x_label, unit)
                self.plot.add_point(name, moment - self.base_time, value)
        self._operations(data.get("operations", []))
        self._records(data.get("events", []), data.get("alarms", []))

    def _operations(self, operations: list[dict[str, Any]]) -> None:
        shown = operations[-50:][::-1]  # newest first
        self.operations.setRowCount(len(shown))
        for row, op in enumerate(shown):
            history = self.status_history.setdefault(op["id"], [])
            if not history or history[-1] != op["status"]:
                history.append(op["status"])
            result = op.get("failureReason") or (op.get("c8y_Command") or {}).get("result", "")
            set_row(self.operations, row, (op["id"], operation_name(op), op["status"],
                                           local_time(op.get("creationTime")), str(result)),
                    theme.current().status(STATUS_KINDS[op["status"]]) if op["status"] in STATUS_KINDS else None,
                    op["id"])
            status = self.operations.item(row, 2)
            assert status is not None  # set_row has just filled the row
            status.setToolTip(" → ".join(history))

    def _records(self, events: list[dict[str, Any]], alarms: list[dict[str, Any]]) -> None:
        rows: list[tuple[Any, str, Any, str, str, str | None]] = [
            (e["time"], "event", e["type"], "", e.get("text", ""), None) for e in events]
        rows += [(a["time"], "alarm", a["type"], f"{a.get('severity', '')} / {a.get('status', '')}",
                  f"{a.get('text', '')} (×{a.get('count', 1)})", SEVERITY_COLOURS.get(a.get("severity", "")))
                 for a in alarms]
        rows.sort(key=lambda r: r[0], reverse=True)
        self.records.setRowCount(len(rows))
        for row, (when, kind, type_, state, text, colour) in enumerate(rows):
            set_row(self.records, row, (local_time(when, True), kind, type_, state, text), colour)
