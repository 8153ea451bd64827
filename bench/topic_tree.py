"""The console's topic tree and charts under load: 10,000 msg/s over 5,000 distinct topics through the console's
real batched delivery (MessageFeed), with the tree shown and expanded; event-loop stalls p50/p99/max and memory,
against the same flood without the tree (the message table alone) as the peer; and a 100,000-point chart repaint,
against the existing QPainter LivePlot drawing the same points as the peer.

Run: `QT_QPA_PLATFORM=offscreen python bench/topic_tree.py [--seconds 5] [--rounds 3] [--rate 10000]
[--topics 5000] [--quick]`. Runs are interleaved (peer, tree, peer, tree, ...) and the medians of the rounds are
printed, with the machine's load. What runs in parallel: a producer thread calls MessageFeed.add as paho's network
thread does (it shares the GIL with the GUI thread, as in the app); the GUI thread applies one batch per 50 ms tick to
the ring, the table and, on the tree side, the topic tree. No broker is involved: bench/console.py measures the network
path; this measures what the tree adds on top of it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import benchlib

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# PySide6 6.12.0 on Python 3.11 drops one reference to None on every call of a void Qt method (update(),
# processEvents(), endInsertRows(), ...; `sys.getrefcount(None)` falls by one per call), so a long run ends in
# "Fatal Python error: none_dealloc" whatever it measures. Until that is fixed, the benchmark holds five million
# extra references (40 MB, outside the measured RSS growth) so that its runs finish.
_NONE_GUARD = [None] * 5_000_000


def load() -> str:
    """The machine's load, printed with every figure."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}/{fifteen:.2f} on {os.cpu_count()} CPUs"


def rss_mib() -> float:
    """Resident memory of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def flood(app, with_tree: bool, seconds: float, rate: int, topics: int) -> dict[str, float]:
    """One run: a console-like GUI (table, and the tree when asked) under the flood; stalls and memory."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QTableView

    from workbench.core.console.messages import MessageRing
    from workbench.core.console.topic_tree import TopicTree
    from workbench.ui.console.topic_tree import TopicTreePanel
    from workbench.ui.models.message_feed import MessageFeed
    from workbench.ui.models.message_table import MessageTableModel

    gc.collect()
    feed = MessageFeed(MessageRing(100_000))
    table = MessageTableModel(feed)
    table_view = QTableView()
    table_view.setModel(table)
    table_view.resize(1200, 400)
    table_view.show()
    panel = None
    if with_tree:
        panel = TopicTreePanel(TopicTree(), lambda _t: None, print)
        panel.resize(1200, 500)
        panel.show()
        feed.batch.connect(panel.on_batch)
    rss_before = rss_mib()
    stop = threading.Event()
    payloads = [json.dumps({"t": 20 + i % 10, "seq": i}).encode() for i in range(64)]

    def produce() -> None:
        sent, start = 0, time.perf_counter()
        per_tick = max(rate // 100, 1)
        while not stop.is_set():
            for _ in range(per_tick):
                feed.add("in", f"fleet/dev-{sent % topics:05d}/telemetry", payloads[sent % 64], 0,
                         sent % 97 == 0, None, "fleet/#")
                sent += 1
            ahead = sent / rate - (time.perf_counter() - start)
            if ahead > 0:
                time.sleep(ahead)

    gaps: list[float] = []
    steady: list[float] = []  # after the warm-up: every topic known (and, with the tree, all 10,000 rows expanded)
    last = [time.perf_counter()]
    warm = [time.perf_counter() + 1.5]

    def beat() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000 - 5)
        if now > warm[0]:
            steady.append(gaps[-1])
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(beat)
    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    heartbeat.start()
    expanded = [False]
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        app.processEvents()
        if panel is not None and not expanded[0] and len(panel.model.tree) >= topics:
            panel.view.expandAll()  # every topic row exists: the view now lays out 10,000 rows
            expanded[0] = True
            warm[0] = max(warm[0], time.perf_counter() + 0.2)
        time.sleep(0.001)
    stop.set()
    producer.join()
    heartbeat.stop()
    feed.flush()
    result = {"p50": percentile(gaps, 0.50), "p99": percentile(gaps, 0.99), "max": max(gaps, default=0.0),
              "steady_p99": percentile(steady, 0.99), "steady_max": max(steady, default=0.0),
              "rss_growth": rss_mib() - rss_before, "received": feed.received}
    if panel is not None:
        tree = panel.model.tree
        result["topics"] = len(tree)
        result["history_kept"] = tree.history_kept[0]
        panel.close()
        panel.deleteLater()
    table_view.close()
    table_view.deleteLater()
    feed.stop()
    app.processEvents()
    return result


def chart_paint(app, points: int, repeats: int = 5) -> dict[str, float]:
    """Median full-paint time of the decimated chart and of the LivePlot peer, both with `points` points."""
    from workbench.core.console.series import Series
    from workbench.ui.console.charts import DecimatedPlot
    from workbench.ui.widgets.live_plot import LivePlot

    start = 1_700_000_000.0
    series = Series("t", capacity=points)
    peer = LivePlot(window=points, max_points=points)
    for i in range(points):
        value = 20 + (i % 1000) / 100 + (5 if i % 9973 == 0 else 0)
        series.append(start + i * 0.01, value)
        peer.series.setdefault("t", __import__("collections").deque(maxlen=points)).append((i * 0.01, value))
    ours = DecimatedPlot()
    ours.series.append(series)
    ours.window_seconds = 0
    ours.clock = lambda: start + points * 0.01
    for widget in (ours, peer):
        widget.resize(1100, 450)
    timings: dict[str, list[float]] = {"ours": [], "peer": []}
    for _ in range(repeats):  # interleaved
        for name, widget in (("ours", ours), ("peer", peer)):
            began = time.perf_counter()
            widget.grab()
            timings[name].append((time.perf_counter() - began) * 1000)
    return {"ours": statistics.median(timings["ours"]), "peer": statistics.median(timings["peer"]),
            "drawn": ours.drawn_points}


def main() -> int:
    """Interleave peer and tree runs, print medians and ratios, then the chart figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--topics", type=int, default=5_000)
    parser.add_argument("--points", type=int, default=100_000)
    benchlib.add_arguments(parser)
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.topics, args.points = 2.0, 1, 200, 2_000
    benchlib.begin(f"topic tree and charts, {args.rounds} interleaved rounds (peer, tree), medians",
                   "a producer thread feeds the console's MessageFeed as paho's network thread does, sharing the GIL "
                   "with the GUI thread on both sides; no broker; the chart paints run one at a time", args)
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    print(f"topic tree under {args.rate:,} msg/s over {args.topics:,} topics, {args.seconds:g} s per run, "
          f"{args.rounds} rounds interleaved; {load()}")
    runs: dict[str, list[dict[str, float]]] = {"table only (peer)": [], "table + topic tree": []}
    for round_ in range(args.rounds):
        for name, with_tree in (("table only (peer)", False), ("table + topic tree", True)):
            result = flood(app, with_tree, args.seconds, args.rate, args.topics)
            runs[name].append(result)
            extra = f", {result['topics']:,.0f} topics, {result['history_kept']:,.0f} history messages" \
                if with_tree else ""
            print(f"  round {round_ + 1} {name:20s} stalls p50 {result['p50']:5.1f} ms, p99 {result['p99']:5.1f} ms, "
                  f"max {result['max']:6.1f} ms (after warm-up p99 {result['steady_p99']:5.1f}, max "
                  f"{result['steady_max']:5.1f}); RSS +{result['rss_growth']:.0f} MiB; "
                  f"{result['received']:,.0f} msgs{extra}; {load()}")
    medians = {name: {key: statistics.median(r[key] for r in results) for key in ("p50", "p99", "max",
                                                                                   "steady_p99", "steady_max",
                                                                                   "rss_growth")}
               for name, results in runs.items()}
    for name, m in medians.items():
        print(f"median {name:20s} p50 {m['p50']:.1f} ms, p99 {m['p99']:.1f} ms, max {m['max']:.1f} ms, "
              f"after warm-up p99 {m['steady_p99']:.1f} ms, max {m['steady_max']:.1f} ms; "
              f"RSS +{m['rss_growth']:.0f} MiB")
    peer, ours = medians["table only (peer)"], medians["table + topic tree"]
    print(f"ratio tree/peer: p99 {ours['p99'] / max(peer['p99'], 0.1):.2f}x, "
          f"max {ours['max'] / max(peer['max'], 0.1):.2f}x; "
          f"after warm-up p99 {ours['steady_p99'] / max(peer['steady_p99'], 0.1):.2f}x")
    chart = chart_paint(app, args.points)
    print(f"chart with {args.points:,} points: full paint {chart['ours']:.1f} ms (decimated, {chart['drawn']:,.0f} "
          f"polyline points) vs LivePlot peer {chart['peer']:.1f} ms = "
          f"{chart['peer'] / max(chart['ours'], 0.01):.1f}x faster; {load()}")
    benchlib.end()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
