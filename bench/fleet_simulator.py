"""Fleet simulator benchmark: 1,000 certificate devices against the local platform on this machine (all connected
with tokens, one measurement a second each) with the simulator's own CPU and memory; next to it, in the same run,
the like-for-like part on plain MQTT against mosquitto: our simulator (`--broker --ids`) and Locust's paho-based
MqttUser (`locust.contrib.mqtt`, where locust-plugins' `users/mqtt.py` moved), the same number of clients.

Runs are interleaved (ours-platform, ours-plain, locust-plain per round) and the figures are medians of ROUNDS
rounds. What is parallel: the platform (or mosquitto) runs as its own process beside the client under test; the
simulator is one process (one asyncio thread, 16 connect threads); Locust is one process (gevent, a paho loop
greenlet per client). CPU is the client process's user+system seconds over the run; memory its peak RSS.

mosquitto is configured as its manual advises (bench/benchlib.py: set_tcp_nodelay true, no persistence, warnings
only, logging to a file rather than a pipe this process drains).

    .venv/bin/python bench/fleet_simulator.py [--devices 1000] [--seconds 20] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))

import benchlib  # noqa: E402

from tests.services.fleet_sim_support import make_store_fleet  # noqa: E402
from workbench.services.local_platform import LocalPlatformProcess  # noqa: E402

LOCUSTFILE = textwrap.dedent('''
    from locust import constant, task
    from locust.contrib.mqtt import MqttUser

    class Device(MqttUser):
        wait_time = constant(1)

        @task
        def measure(self):
            self.client.publish("s/us", b"200,c8y_Temperature,T,21.5,C", qos=1)
''')


def _watch(process: subprocess.Popen[str]) -> tuple[float, float]:
    """Wait for the process, sampling its RSS; returns (cpu seconds, peak RSS MiB) from /proc."""
    peak, cpu = 0.0, 0.0
    page = os.sysconf("SC_PAGE_SIZE")
    ticks = os.sysconf("SC_CLK_TCK")
    while process.poll() is None:
        try:
            rss = int(Path(f"/proc/{process.pid}/statm").read_text().split()[1]) * page / 2**20
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / ticks
            peak = max(peak, rss)
        except (OSError, IndexError, ValueError):
            pass
        time.sleep(0.5)
    return cpu, peak


def ours(args: list[str], env: dict[str, str]) -> dict[str, object]:
    """One `workbench simulate --json` run; its own figures plus what /proc saw."""
    process = subprocess.Popen([sys.executable, "-m", "workbench", "simulate", *args, "--json"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cpu, peak = _watch(process)
    out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"simulate failed: {err[-2000:]}")
    summary = json.loads(out)
    return {"connected_at_end": summary["totals"].get("connects", 0), "tokens": summary["totals"].get("tokens", 0),
            "messages": summary["totals"].get("messages", 0), "errors": summary["errors"],
            "publish_p99_ms": summary["latency_ms"]["publish"]["p99"],
            "connect_p99_ms": summary["latency_ms"]["connect"]["p99"], "cpu_s": round(cpu, 1),
            "rss_mib": round(peak, 1)}


def locust_peer(port: int, devices: int, seconds: int, folder: Path) -> dict[str, object]:
    """Locust's paho MqttUser, the same number of clients, one QoS 1 publish a second each."""
    locustfile = folder / "peer_locustfile.py"
    pointed = LOCUSTFILE.replace("wait_time = constant(1)", f"wait_time = constant(1)\n    port = {port}")
    locustfile.write_text(pointed)
    stats = folder / "peer"
    log = open(folder / "peer.log", "w")  # noqa: SIM115 - a file, not a pipe: Locust's output must never block it
    process = subprocess.Popen([sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u",
                                str(devices), "-r", str(devices), "-t", f"{seconds}s", "-H", "127.0.0.1",
                                "--csv", str(stats), "--only-summary"], cwd=folder,
                               env={**os.environ, "PYTHONWARNINGS": "ignore"}, stdout=log,
                               stderr=subprocess.STDOUT, text=True)
    cpu, peak = _watch(process)
    process.wait()
    log.close()
    csv = stats.with_name("peer_stats.csv")
    if not csv.exists():
        raise SystemExit(f"locust failed: {(folder / 'peer.log').read_text()[-3000:]}")
    rows = csv.read_text().splitlines()
    total = [r for r in rows if ",Aggregated," in r]
    requests = int(total[0].split(",")[2]) if total else 0
    return {"messages": requests, "cpu_s": round(cpu, 1), "rss_mib": round(peak, 1)}


def main() -> None:
    """Interleaved rounds; prints each round and the medians."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=20)
    benchlib.add_arguments(parser)
    options = parser.parse_args()
    if options.quick:
        options.devices, options.seconds, options.rounds = 10, 3, 1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # 1,000 sockets each side; children inherit it
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    benchlib.begin(f"fleet simulator: {options.devices:,} devices for {options.seconds} s, {options.rounds} "
                   "interleaved rounds (ours-platform, ours-plain, locust-plain), medians",
                   "the platform (or mosquitto) is its own process beside the client under test; the simulator is "
                   "one process (one asyncio thread, 16 connect threads); Locust is one process (gevent, a paho loop "
                   "greenlet per client)", options)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.monotonic()
        fleet = make_store_fleet(folder / "ws", folder / "devices", options.devices)
        print(f"issued {len(fleet)} devices in {time.monotonic() - started:.1f} s", flush=True)
        local = LocalPlatformProcess(ephemeral=True)
        info = local.start_or_reuse()
        env = {**os.environ, "SIM_PW": info.admin_password}
        platform_args = ["--fleet", str(folder / "devices"), "--url", info.rest_url, "--user", "t100/admin",
                         "--tenant-password-env", "SIM_PW", "--mqtt-host", "localhost", "--mqtt-port",
                         str(info.ports["mqtts"]), "--server-ca", str(info.server_ca), "--upload-ca",
                         "--duration", str(options.seconds), "--interval", "1"]
        results: dict[str, list[dict[str, object]]] = {"ours-platform": [], "ours-plain": [], "locust-plain": []}
        try:
            (folder / "mosq").mkdir()
            with benchlib.mosquitto(folder / "mosq") as broker:
                plain_args = ["--broker", f"127.0.0.1:{broker.port}", "--ids", str(options.devices),
                              "--duration", str(options.seconds), "--interval", "1"]
                for round_ in range(options.rounds):
                    for name, measure in (("ours-platform", lambda: ours(platform_args, env)),
                                          ("ours-plain", lambda: ours(plain_args, env)),
                                          ("locust-plain", lambda: locust_peer(broker.port, options.devices,
                                                                               options.seconds, folder))):
                        results[name].append(measure())
                        print(f"round {round_ + 1} {name}: {results[name][-1]} (load {os.getloadavg()[0]:.2f})",
                              flush=True)
        finally:
            local.stop()
    print("\nmedians:")
    for name, runs in results.items():
        keys = [k for k, v in runs[0].items() if isinstance(v, int | float)]
        print(f"  {name}: " + ", ".join(f"{k}={statistics.median(float(r[k]) for r in runs):g}"  # type: ignore[arg-type]
                                        for k in keys))
    ours_cpu = statistics.median(float(r["cpu_s"]) for r in results["ours-plain"])  # type: ignore[arg-type]
    peer_cpu = statistics.median(float(r["cpu_s"]) for r in results["locust-plain"])  # type: ignore[arg-type]
    print(f"  plain MQTT CPU ratio (ours / Locust MqttUser): {ours_cpu / max(peer_cpu, 1e-9):.2f}")
    benchlib.end()


if __name__ == "__main__":
    main()
