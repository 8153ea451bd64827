"""A second device's token round trip (s/uat → s/dat) while one device floods `s/us` with publishes at the
SmartREST limits (children, 105s, measurements): p50/p99/max of the probe, and how long the flood took.

The platform runs in this process on its own thread (as in the tests), with paho clients on other threads, so
the figures include some GIL sharing with the clients; they bound what a device sees, they do not flatter it.
The reference in the same run is the same probe with nothing else going on; each round probes at rest, then
during a flood from a fresh bulk device (rest, flood, rest, flood, ...), and the medians of --rounds are printed.
What is parallel: one process; the platform's asyncio thread, the flooding device's paho thread and the probe's
paho thread share the GIL.

    python bench/smartrest_bulk.py [--publishes 6] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import benchlib  # noqa: E402

from embedded_broker.local_platform import BackgroundLocalPlatform, PlatformSettings  # noqa: E402
from embedded_broker.platform import smartrest_apply  # noqa: E402
from embedded_broker.platform.smartrest_apply import MAX_LINES_PER_PUBLISH, MAX_PAYLOAD_BYTES  # noqa: E402
from tests.platform.support import Device, Rest, make_ca  # noqa: E402


def payloads(publishes: int, tag: str = "") -> list[str]:
    """Alternating floods: 250 children then 105s up to the line limit; 1000 measurements; the brief's 2000×101
    + 8000×105 (refused whole: over the size limit)."""
    out = []
    for n in range(publishes):
        if n % 3 == 0:
            lines = [f"101,b{tag}{n}-{i}" for i in range(250)] + ["105"] * (MAX_LINES_PER_PUBLISH - 250 + 50)
        elif n % 3 == 1:
            lines = [f"211,{i}" for i in range(MAX_LINES_PER_PUBLISH)]
        else:
            lines = [f"101,bulk{tag}{n}-{i}" for i in range(2000)] + ["105"] * 8000
        out.append("\n".join(lines))
    return out


def main() -> None:
    """Run the rounds (probe at rest, probe during a flood), print every round and the medians."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--publishes", type=int, default=6)
    parser.add_argument("--slice", type=float, default=None, help="override SLICE_SECONDS (seconds)")
    parser.add_argument("--idle-probes", type=int, default=200)
    benchlib.add_arguments(parser)
    args = parser.parse_args()
    if args.quick:
        args.publishes, args.idle_probes, args.rounds = 2, 20, 1
    if args.slice is not None:
        smartrest_apply.SLICE_SECONDS = args.slice
    benchlib.begin(f"SmartREST bulk: {args.publishes} flood publishes per round, {args.rounds} rounds (medians)",
                   "one process: the platform's asyncio thread and two paho client threads share the GIL", args)
    local = BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0))
    local.start()
    figures: dict[str, list[float]] = {}
    try:
        assert local.local is not None and local.local.server_ca_path is not None
        ca_path = local.local.server_ca_path
        rest = Rest(local.ports["https"], ca_path, "t100/admin", local.local.admin_password or "")
        root = make_ca()
        rest.upload(root)
        folder = Path(tempfile.mkdtemp())
        probe = Device(local.ports["mqtts"], ca_path, "d:probe", root.issue("probe").write(folder, "probe"))
        assert probe.connect() == 0
        probe.token()
        for round_ in range(args.rounds):
            bulk = Device(local.ports["mqtts"], ca_path, f"d:bulk{round_}",
                          root.issue(f"bulk{round_}").write(folder, f"bulk{round_}"))
            assert bulk.connect() == 0
            floods = payloads(args.publishes, f"r{round_}-")
            sizes = [len(p.encode()) for p in floods]
            done = threading.Event()

            def flood(bulk: Device = bulk, floods: list[str] = floods, done: threading.Event = done) -> None:
                for payload in floods:
                    bulk.client.publish("s/us", payload, qos=1)
                bulk.subscribe("s/ds")  # only now: the floods' own replies would load the client thread
                bulk.publish("s/us", "123", qos=1)
                while not bulk.expect("s/ds").startswith("124,"):
                    pass
                done.set()

            idle: list[float] = []
            for _ in range(args.idle_probes):  # the same probe with nothing else going on, for comparison
                t0 = time.perf_counter()
                probe.publish("s/uat", b"")
                probe.expect("s/dat")
                idle.append(time.perf_counter() - t0)
            round_trips: list[float] = []
            start = time.perf_counter()
            thread = threading.Thread(target=flood, daemon=True)
            thread.start()
            while not done.is_set():
                t0 = time.perf_counter()
                probe.publish("s/uat", b"")
                probe.expect("s/dat")
                round_trips.append(time.perf_counter() - t0)
            elapsed = time.perf_counter() - start
            thread.join()
            bulk.close()
            if round_ == 0:
                print(f"publishes: {len(floods)} ({', '.join(str(s) for s in sizes)} bytes; limit "
                      f"{MAX_PAYLOAD_BYTES} bytes, {MAX_LINES_PER_PUBLISH} lines)")
            print(f"  round {round_ + 1}: flood processed in {elapsed:.2f} s; probe s/uat→s/dat idle "
                  f"{_figures(idle)}; flooded {_figures(round_trips)}; {benchlib.load()}", flush=True)
            for name, value in (("flood s", elapsed), ("idle p50", _pick(idle, 0.5)), ("idle p99", _pick(idle, 0.99)),
                                ("flooded p50", _pick(round_trips, 0.5)), ("flooded p99", _pick(round_trips, 0.99))):
                figures.setdefault(name, []).append(value)
        probe.close()
    finally:
        local.stop()
    m = {name: benchlib.median(values) for name, values in figures.items()}
    print(f"median of {args.rounds}: flood processed in {m['flood s']:.2f} s; probe p50 {m['flooded p50']:.1f} ms "
          f"flooded vs {m['idle p50']:.1f} ms at rest, p99 {m['flooded p99']:.1f} ms vs {m['idle p99']:.1f} ms "
          f"({benchlib.ratio(m['flooded p99'], m['idle p99'])})")
    benchlib.end()


def _pick(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


def _figures(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"n={len(ordered)} p50={statistics.median(ordered) * 1000:.1f} ms p99={p99 * 1000:.1f} ms "
            f"max={ordered[-1] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
