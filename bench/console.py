"""The console under a flood: 10,000 msg/s for 30 s from another process, offscreen; every message received shown
or counted as dropped (with the reason), event-loop stalls (p50/p99/max), memory at 100,000 buffered messages, and
cold start to first paint (fresh processes, median of 3), each figure with the machine's load.

Run: `QT_QPA_PLATFORM=offscreen python bench/console.py [--seconds 30] [--rate 10000] [--broker ours|mosquitto]
[--cold app,window,peer|none] [--runs 3] [--quick]`. The cold starts are bench/cold_start.py's (a bare PySide6 window
is their peer). The flood goes through mosquitto when it is installed (a third-party broker in its own
process, logging warnings only, so only the GUI is measured), else through our broker (also its own process).
What runs in parallel: the broker and the publisher are separate processes (on the other core when it is free);
in the console's process, paho's network thread and the GUI thread share the GIL, as in the app. The peer that
runs here in the same run is a bare paho subscriber (no GUI) on the same flood: it shows what one Python MQTT
client can take on this machine, so the console's figures read as a ratio of it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib
import cold_start

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PUBLISHER = r"""
import sys, time
import paho.mqtt.client as mqtt
port, rate, seconds, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-flood", protocol=mqtt.MQTTv311)
client.max_queued_messages_set(0)
client.connect("127.0.0.1", port, 60)
client.loop_start()
time.sleep(delay)  # the GUI starts its heartbeat after this process has started (fork+exec would count as a stall)
payload = b"x" * 100
batch = max(rate // 100, 1)
sent, start = 0, time.perf_counter()
while time.perf_counter() - start < seconds:
    for _ in range(batch):
        client.publish("bench/flood/%d" % (sent % 16), payload, 0)
        sent += 1
    ahead = sent / rate - (time.perf_counter() - start)
    if ahead > 0:
        time.sleep(ahead)
elapsed = time.perf_counter() - start
deadline = time.perf_counter() + 10
while client.want_write() and time.perf_counter() < deadline:
    time.sleep(0.02)  # every queued message is on the wire before DISCONNECT
client.loop_stop()
client.disconnect()
print(sent, elapsed, flush=True)
"""

SUBSCRIBER = r"""
import sys, time
import paho.mqtt.client as mqtt
port = int(sys.argv[1])
count = [0]
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-peer", protocol=mqtt.MQTTv311)
client.on_message = lambda c, u, m: count.__setitem__(0, count[0] + 1)
client.on_subscribe = lambda *a: print("subscribed", flush=True)
client.connect("127.0.0.1", port, 60)
client.subscribe("bench/#")
client.loop_start()
sys.stdin.readline()  # the bench says when the flood is over
print(count[0], flush=True)
client.loop_stop()
"""


def load() -> str:
    """The machine's load averages (1, 5, 15 min) and core count, printed with every figure."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}/{fifteen:.2f} on {os.cpu_count()} cores"


def rss_mib() -> float:
    """This process's resident memory."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_broker(kind: str, folder: Path) -> tuple[int, object]:
    """mosquitto (preferred) or our broker on a free loopback port, in its own process."""
    if kind == "mosquitto":
        import getpass

        from tests.support.mosquitto import free_port

        # Not tests.support.run_mosquitto: its `log_type all` writes lines per message that a thread of *this*
        # process drains, which cost the console's process a third of the messages (92,352 of 300,000).
        port = free_port()
        config = folder / "mosquitto.conf"
        config.write_text(f"log_dest stderr\nlog_type error\nlog_type warning\nuser {getpass.getuser()}\n"
                          f"listener {port} 127.0.0.1\nallow_anonymous true\n")
        process = subprocess.Popen(["mosquitto", "-c", str(config)], stdout=subprocess.DEVNULL,
                                   stderr=(folder / "mosquitto.log").open("w"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return port, process
            time.sleep(0.05)
        raise SystemExit("mosquitto did not start")
    # A separate process, as mosquitto is: a broker thread in this process would compete for the GIL.
    process = subprocess.Popen([sys.executable, "-m", "embedded_broker", "--sandbox", "--port", "0",
                                "--sys-interval", "0"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    line = process.stdout.readline() if process.stdout else ""
    port = int(line.split("mqtt=")[1].split()[0])
    return port, process


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the sorted values lie."""
    return values[max(int(len(values) * fraction) - 1, 0)] if values else float("nan")


def flood_once(args: argparse.Namespace, port: int, app: object, loop: object, run: int) -> dict[str, float]:
    """One flood: the console and the bare paho peer subscribe, the publisher sends, the figures are read."""
    import asyncio

    from PySide6.QtCore import QTimer

    from workbench.services.mqtt_session import SessionSettings
    from workbench.ui.console.console_widget import ConsoleWidget

    console = ConsoleWidget(SessionSettings("127.0.0.1", port, f"bench-console-{run}", protocol=4))
    console.resize(1400, 900)
    console.show()
    gaps: list[float] = []
    last = [time.perf_counter()]
    heartbeat = QTimer()
    heartbeat.setInterval(10)

    def beat() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    heartbeat.timeout.connect(beat)
    model, bridge = console.model, console.bridge

    def received_now() -> int:
        return int(getattr(bridge, "received", len(model.ring) + model.ring.evicted))  # (older code: no counter)

    async def flood() -> dict[str, float]:
        console.connect_session()
        while console.state_label.text() != "connected":
            await asyncio.sleep(0.05)
        console.subscribe_panel.filter_edit.setText("bench/#")
        console.subscribe_panel.subscribe()
        peer = subprocess.Popen([sys.executable, "-c", SUBSCRIBER, str(port)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        assert peer.stdout is not None and peer.stdin is not None
        await asyncio.get_running_loop().run_in_executor(None, peer.stdout.readline)  # "subscribed"
        await asyncio.sleep(0.5)
        idle = rss_mib()
        load_before = load()
        publisher = subprocess.Popen([sys.executable, "-c", PUBLISHER, str(port), str(args.rate),
                                      str(args.seconds), "2"], stdout=subprocess.PIPE, text=True)
        heartbeat.start()
        last[0] = time.perf_counter()
        while publisher.poll() is None:
            await asyncio.sleep(0.2)
        sent_text, elapsed_text = (publisher.stdout.read() if publisher.stdout else "0 1").split()[:2]
        received = received_now()
        for _ in range(50):  # let the last messages arrive
            await asyncio.sleep(0.1)
            now = received_now()
            if now == received and now >= int(sent_text):
                break
            received = now
        model.flush()
        heartbeat.stop()
        peer_count = int(peer.communicate("done\n", timeout=30)[0].split()[-1])
        return {"idle": idle, "full": rss_mib(), "sent": int(sent_text), "received": received_now(),
                "peer": peer_count, "duration": float(elapsed_text), "kept": len(model.ring),
                "shown": getattr(model, "shown_total", model.rowCount() + model.ring.evicted),
                "hidden": getattr(model, "hidden_total", 0), "pending": model.pending,
                "over_capacity": getattr(model, "dropped_capacity", 0), "paused": getattr(model, "dropped_paused", 0),
                "load_before": load_before, "load_after": load()}  # type: ignore[dict-item]

    figures = loop.run_until_complete(flood())  # type: ignore[attr-defined]
    console.shutdown()
    console.deleteLater()
    stalls = sorted(max(g - 0.010, 0.0) * 1000 for g in gaps)
    figures.update(p50=percentile(stalls, 0.50), p99=percentile(stalls, 0.99), max=stalls[-1] if stalls else 0.0,
                   beats=len(stalls), over50=sum(s > 50 for s in stalls))
    return figures


def main() -> int:
    """Run the cold starts and the floods, interleaved, and print the figures with the machine's load."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="floods and cold starts of each kind (medians)")
    parser.add_argument("--broker", choices=("ours", "mosquitto"),
                        default="mosquitto" if shutil.which("mosquitto") else "ours")
    parser.add_argument("--cold", default="app,window,peer",
                        help="cold starts to measure (bench/cold_start.py): app (the whole `workbench` start), window "
                             "(build + paint only), peer (a bare PySide6 window), none")
    parser.add_argument("--quick", action="store_true", help="a smoke run (1 s flood, one run): figures not to quote")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.runs, args.cold = 1.0, 1, "app"
    benchlib.begin(f"console under a flood of {args.rate:,} msg/s for {args.seconds:g} s through {args.broker}, "
                   f"{args.runs} runs (medians); cold starts first",
                   "the broker and the publisher are their own processes; the bare paho peer subscriber is its own "
                   "process and takes the same flood at the same time as the console (both share the 2 cores with "
                   "the broker and the publisher); in the console's process paho's network thread and the GUI "
                   "thread share the GIL, as in the app", args)

    kinds = [k for k in args.cold.split(",") if k in cold_start.SCRIPTS]
    if kinds:
        for line in cold_start.summary(cold_start.measure(kinds, args.runs)):
            print(line)

    import asyncio

    import qasync
    from PySide6.QtWidgets import QApplication

    from workbench.ui.gui_thread import GuiThreadCollector, GuiThreadExecutor

    app = QApplication.instance() or QApplication(sys.argv)
    collector = GuiThreadCollector(parent=app)  # as run_gui: the cyclic collector runs on the GUI thread's timer,
    collector.install()  # never inside paho's network thread while it holds the GIL
    loop = qasync.QEventLoop(app)
    loop.set_default_executor(GuiThreadExecutor())
    asyncio.set_event_loop(loop)
    folder = Path(tempfile.mkdtemp(prefix="bench-console-"))
    port, broker = start_broker(args.broker, folder)
    import gc

    gc.freeze()  # as the app does after start-up: start-up objects leave the cyclic collector's scans
    runs = []
    with loop:
        for run in range(args.runs):
            f = flood_once(args, port, app, loop, run)
            runs.append(f)
            dropped = f["over_capacity"] + f["paused"]
            unaccounted = f["received"] - f["shown"] - f["hidden"] - f["pending"] - dropped
            print(f"run {run + 1}: sent {f['sent']:,} in {f['duration']:.1f} s ({f['sent'] / f['duration']:,.0f} "
                  f"msg/s); console received {f['received']:,} ({f['received'] / f['sent']:.1%}), shown "
                  f"{f['shown']:,}, dropped {dropped:,} (over capacity {f['over_capacity']:,}, paused "
                  f"{f['paused']:,}), unaccounted {unaccounted:,}; peer (bare paho) received {f['peer']:,} "
                  f"(console/peer {f['received'] / max(f['peer'], 1):.3f}); stalls p50 {f['p50']:.1f} ms, p99 "
                  f"{f['p99']:.1f} ms, max {f['max']:.1f} ms ({f['over50']} of {f['beats']:,} beats over 50 ms); "
                  f"{f['load_before']} before, {f['load_after']} after")
    if isinstance(broker, subprocess.Popen):
        broker.terminate()
        broker.communicate(timeout=10)

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    print(f"flood through {args.broker} ({args.broker} and the publisher in their own processes; the bare paho peer "
          f"in its own process, subscribed to the same flood at the same time), median of {len(runs)}: "
          f"received {med('received'):,.0f} of {med('sent'):,.0f} sent, shown {med('shown'):,.0f}, dropped "
          f"over capacity {med('over_capacity'):,.0f}, dropped paused {med('paused'):,.0f}; peer received "
          f"{med('peer'):,.0f}")
    stalls_met = med("p99") < 50 and med("max") < 100
    print(f"event-loop stall (10 ms heartbeat), median of {len(runs)}: p50 {med('p50'):.1f} ms, p99 {med('p99'):.1f} "
          f"ms, max {med('max'):.1f} ms (worst max {max(r['max'] for r in runs):.1f} ms); goals p99 < 50 ms, "
          f"max < 100 ms: {'met' if stalls_met else 'NOT met'}")
    first = runs[0]
    print(f"memory (run 1): idle {first['idle']:.0f} MiB, with {first['kept']:,} buffered 100-byte messages "
          f"{first['full']:.0f} MiB (+{first['full'] - first['idle']:.0f} MiB; target ≤ 150 MiB over idle)")
    benchlib.end()
    return 0 if stalls_met or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
