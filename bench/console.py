"""The console under a flood: 10,000 msg/s for 30 s from another process, offscreen; event-loop stalls, messages
shown per second, memory at 100,000 buffered messages, and cold start to first paint.

Run: `QT_QPA_PLATFORM=offscreen python bench/console.py [--seconds 30] [--rate 10000] [--broker ours|mosquitto]`.
The flood goes through mosquitto when it is installed (a third-party broker, so only the GUI is measured),
else through our broker.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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

COLD_START = r"""
import os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, sys.argv[1])
from PySide6.QtCore import QTimer
from workbench.ui.app import create_application
from workbench.ui.assembly import build_workbench
app = create_application()
window = build_workbench().window  # every page, as `workbench` opens it (the platform is not started here)
window.show()
def painted():
    window.grab()  # forces a full paint of the window
    print("painted", flush=True)
    app.quit()
QTimer.singleShot(0, painted)
app.exec()
"""


def rss_mib() -> float:
    """This process's resident memory."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cold_start(runs: int = 3) -> list[float]:
    """Seconds from process start to the first full paint of the main window (offscreen)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", COLD_START, str(ROOT)], capture_output=True, text=True,
                             timeout=60, env={**os.environ, "WORKBENCH_CONFIG_DIR": tempfile.mkdtemp()})
        if "painted" not in out.stdout:
            raise SystemExit(f"cold start failed: {out.stderr[-500:]}")
        times.append(time.perf_counter() - started)
    return times


def start_broker(kind: str, folder: Path) -> tuple[int, object]:
    """mosquitto (preferred) or our broker on a free loopback port."""
    if kind == "mosquitto":
        from tests.support.mosquitto import run_mosquitto

        context = run_mosquitto(folder)
        running = context.__enter__()
        return running.plain_port, context
    # A separate process, as mosquitto is: a broker thread in this process would compete for the GIL.
    process = subprocess.Popen([sys.executable, "-m", "embedded_broker", "--sandbox", "--port", "0",
                                "--sys-interval", "0"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    line = process.stdout.readline() if process.stdout else ""
    port = int(line.split("mqtt=")[1].split()[0])
    return port, process


def main() -> int:
    """Run the flood and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--broker", choices=("ours", "mosquitto"),
                        default="mosquitto" if shutil.which("mosquitto") else "ours")
    args = parser.parse_args()

    starts = cold_start()
    print(f"cold start to first paint (offscreen): median {statistics.median(starts):.2f} s "
          f"({', '.join(f'{t:.2f}' for t in starts)}); target ≤ 1.5 s")

    import asyncio

    import qasync
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from workbench.services.mqtt_session import SessionSettings
    from workbench.ui.console.console_widget import ConsoleWidget

    app = QApplication.instance() or QApplication(sys.argv)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    folder = Path(tempfile.mkdtemp(prefix="bench-console-"))
    port, broker = start_broker(args.broker, folder)
    console = ConsoleWidget(SessionSettings("127.0.0.1", port, "bench-console", protocol=4))
    console.resize(1400, 900)
    console.show()
    import gc

    gc.freeze()  # as the app does after start-up: start-up objects leave the cyclic collector's scans
    gaps: list[float] = []
    last = [time.perf_counter()]
    heartbeat = QTimer()
    heartbeat.setInterval(10)

    def beat() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    heartbeat.timeout.connect(beat)

    async def run() -> dict[str, float]:
        console.connect_session()
        while console.state_label.text() != "connected":
            await asyncio.sleep(0.05)
        console.subscribe_panel.filter_edit.setText("bench/#")
        console.subscribe_panel.subscribe()
        await asyncio.sleep(0.5)
        for _ in range(20):
            app.processEvents()
        idle = rss_mib()
        publisher = subprocess.Popen([sys.executable, "-c", PUBLISHER, str(port), str(args.rate),
                                      str(args.seconds), "2"], stdout=subprocess.PIPE, text=True)
        heartbeat.start()
        last[0] = time.perf_counter()
        while publisher.poll() is None:
            await asyncio.sleep(0.2)
        sent_text, elapsed_text = (publisher.stdout.read() if publisher.stdout else "0 1").split()[:2]
        received = len(console.model.ring) + console.model.ring.evicted
        for _ in range(50):  # let the last messages arrive
            await asyncio.sleep(0.1)
            now = len(console.model.ring) + console.model.ring.evicted
            if now == received and now >= int(sent_text):
                break
            received = now
        heartbeat.stop()
        return {"idle": idle, "full": rss_mib(), "sent": int(sent_text), "received": received,
                "duration": float(elapsed_text), "kept": len(console.model.ring), "shown": console.model.rowCount()}

    with loop:
        figures = loop.run_until_complete(run())
    console.shutdown()
    if isinstance(broker, subprocess.Popen):
        broker.terminate()
        broker.communicate(timeout=10)
    else:
        broker.__exit__(None, None, None)  # type: ignore[attr-defined]
    stalls = sorted(max(g - 0.010, 0.0) * 1000 for g in gaps)
    p99 = stalls[int(len(stalls) * 0.99) - 1] if stalls else float("nan")
    lost = figures["sent"] - figures["received"]
    print(f"flood through {args.broker}: {figures['sent']:,} messages sent in {figures['duration']:.1f} s "
          f"({figures['sent'] / figures['duration']:,.0f} msg/s, target {args.rate:,}); the console received and "
          f"showed {figures['received']:,} ({figures['received'] / figures['duration']:,.0f} msg/s), "
          f"{lost:,} not delivered; kept {figures['kept']:,} in the ring (capacity 100,000)")
    print(f"event-loop stall (10 ms heartbeat): max {stalls[-1] if stalls else float('nan'):.1f} ms, "
          f"p99 {p99:.1f} ms, {sum(s > 50 for s in stalls)} of {len(stalls):,} beats over 50 ms; "
          "targets max < 50 ms, p99 < 20 ms")
    print(f"memory: idle {figures['idle']:.0f} MiB, with {figures['kept']:,} buffered 100-byte messages "
          f"{figures['full']:.0f} MiB (+{figures['full'] - figures['idle']:.0f} MiB; target ≤ 150 MiB over idle)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
