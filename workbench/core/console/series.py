"""Chart data: bounded time series and min/max decimation per pixel column, so a chart of 100,000 points draws a
few thousand line segments and still shows every spike (no numpy, no plotting library in the bundle)."""

from __future__ import annotations

import csv
import datetime
import io
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from workbench.errors import InvalidInputError

DEFAULT_CAPACITY = 200_000


class Series:
    """(time, value) points in arrival order, at most `capacity` (the oldest go first, in chunks, so appending
    stays O(1) amortised); times are assumed non-decreasing, as they are for arriving messages."""

    def __init__(self, name: str, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 2:
            raise InvalidInputError("A chart series needs room for at least two points", ())
        self.name = name
        self.capacity = capacity
        self.t = array("d")
        self.v = array("d")

    def __len__(self) -> int:
        return len(self.t)

    def append(self, t: float, value: float) -> None:
        """Add a point (a point older than the newest one is moved to the newest time: arrival order wins)."""
        if self.t and t < self.t[-1]:
            t = self.t[-1]
        self.t.append(t)
        self.v.append(value)
        if len(self.t) > self.capacity + self.capacity // 4:
            drop = len(self.t) - self.capacity
            del self.t[:drop]
            del self.v[:drop]

    def trim(self) -> None:
        """Cut to capacity now (exports and counts see exactly `capacity`)."""
        if len(self.t) > self.capacity:
            drop = len(self.t) - self.capacity
            del self.t[:drop]
            del self.v[:drop]

    def span(self, t0: float, t1: float) -> tuple[int, int]:
        """Index range [lo, hi) of the points with t0 <= t <= t1."""
        return bisect_left(self.t, t0), bisect_right(self.t, t1)

    def clear(self) -> None:
        """Forget every point."""
        del self.t[:]
        del self.v[:]


@dataclass(frozen=True, slots=True)
class Column:
    """What one pixel column of the plot shows: the range of the values that fall into it, and the first and last
    value (the line enters at `first` and leaves at `last`, so the drawing is the same as the full line's)."""

    x: int
    low: float
    high: float
    first: float
    last: float


def decimate(series: Series, t0: float, t1: float, columns: int) -> list[Column]:
    """Min/max per pixel column of the points in [t0, t1]; `columns` is the plot's width in pixels."""
    if columns < 1 or t1 <= t0:
        return []
    lo, hi = series.span(t0, t1)
    if hi <= lo:
        return []
    ts, vs = series.t, series.v
    width = (t1 - t0) / columns
    out: list[Column] = []
    start = lo
    # Points are sorted by time, so each column is one slice: find its end by bisection and let C code (min, max
    # over an array slice) scan it. 100,000 points in 1,000 columns take milliseconds instead of a Python loop's 80.
    first_column = min(int((ts[lo] - t0) / width), columns - 1)
    for x in range(first_column, columns):
        end = hi if x == columns - 1 else bisect_left(ts, t0 + (x + 1) * width, start, hi)
        if end > start:
            chunk = vs[start:end]
            out.append(Column(x, min(chunk), max(chunk), chunk[0], chunk[-1]))
            start = end
        if start >= hi:
            break
    return out


def value_range(series: list[Series], t0: float, t1: float) -> tuple[float, float] | None:
    """The lowest and highest value in the window over every series (for the y axis), or None without points."""
    low = high = None
    for s in series:
        lo, hi = s.span(t0, t1)
        if hi > lo:
            window = s.v[lo:hi]
            a, b = min(window), max(window)
            low = a if low is None else min(low, a)
            high = b if high is None else max(high, b)
    return None if low is None or high is None else (low, high)


def to_csv(series: list[Series], t0: float | None = None, t1: float | None = None) -> bytes:
    """One row per point: ISO time, epoch seconds, series name, value (the chart's 'Export CSV')."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["time", "epoch_s", "series", "value"])
    for s in series:
        lo, hi = s.span(t0, t1) if t0 is not None and t1 is not None else (0, len(s))
        for i in range(lo, hi):
            t = s.t[i]
            iso = datetime.datetime.fromtimestamp(t, datetime.UTC).isoformat(timespec="milliseconds")
            writer.writerow([iso, f"{t:.3f}", s.name, repr(s.v[i])])
    return buffer.getvalue().encode("utf-8")
