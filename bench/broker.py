"""Broker throughput, CPU per delivery and idle memory: our broker and mosquitto, same load generator, one run.

Usage: python bench/broker.py [--messages 20000] [--payload 100] [--idle 1000] [--rounds 3] [--skip-mosquitto]
[--quick]

Both brokers run at once, each in its own process (ours: `python -m embedded_broker --sandbox`, mosquitto from a
config file), and every measurement is interleaved (ours, mosquitto, ours, mosquitto, ...) so a change in the
machine's load hits both alike; the figures are medians of --rounds runs, with every run's figure. Throughput is
counted in deliveries per second (one PUBLISH received by one subscriber: a 1->10 fan-out delivers ten per
message sent) and in messages sent per second. CPU time is read from /proc/<pid>/stat, memory from
/proc/<pid>/status. The load generator is asyncio over raw sockets with hand-built MQTT 3.1.1 bytes, so both
brokers see exactly the same traffic. mosquitto is configured as its manual advises for a throughput test: no
persistence, no logging, the same per-client queue limit as ours (max_queued_messages) and the same in-flight
window for QoS 1 (max_inflight_messages 20, mosquitto's default). mosquitto runs twice, as two peers: with its
default (Nagle on: the manual's choice for throughput, fewer and fuller packets) and with `set_tcp_nodelay true`
(the manual's advice when latency matters; asyncio sets TCP_NODELAY on every socket of ours). Nagle lets fan-out
coalesce packets but makes a run's last deliveries wait ~40 ms on a delayed ACK, which weighs on short runs; each
ratio is taken against the faster of the two (named). mTLS connects: bench/mtls_connect.py.
What runs in parallel: each broker is one process with one thread doing the work (ours: its asyncio loop;
mosquitto: its main loop); the load generator is one Python process (publisher and subscribers on one asyncio
thread) sharing the cores with the broker under test; the broker not under test idles.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import benchlib

TOPIC = "bench/topic"
CLK_TCK = os.sysconf("SC_CLK_TCK")
QUEUE_LIMIT = 100_000  # per-session queue for both brokers, so a fast QoS 1 publisher loses nothing


# ---------------------------------------------------------------- wire bytes (independent of our codec)

def _utf8(text: str) -> bytes:
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value % 128, value // 128
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + _varint(len(body)) + body


def connect_packet(client_id: str) -> bytes:
    return _packet(0x10, _utf8("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 600) + _utf8(client_id))


def subscribe_packet(qos: int) -> bytes:
    return _packet(0x82, struct.pack("!H", 1) + _utf8(TOPIC) + bytes([qos]))


def publish_packet(payload: bytes, qos: int, packet_id: int) -> bytes:
    body = _utf8(TOPIC) + (struct.pack("!H", packet_id) if qos else b"") + payload
    return _packet(0x30 | (qos << 1), body)


# ---------------------------------------------------------------- process measurements

def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class BrokerProcess:
    name: str
    pid: int
    port: int


@contextmanager
def ours() -> Iterator[BrokerProcess]:
    """Our broker in a child process (same queue limit as mosquitto below); its ports line tells where it listens."""
    tmp = tempfile.TemporaryDirectory()
    conf = os.path.join(tmp.name, "broker.toml")
    with open(conf, "w") as handle:
        handle.write(f'[limits]\nmax_queued = {QUEUE_LIMIT}\n[[listeners]]\nname = "mqtt"\nport = 0\n')
    proc = subprocess.Popen([sys.executable, "-m", "embedded_broker", "--sandbox", "--config", conf],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        port = int(line.split("mqtt=")[1].split()[0])
        yield BrokerProcess("embedded-broker", proc.pid, port)
    finally:
        proc.terminate()
        proc.wait(10)
        tmp.cleanup()


@contextmanager
def mosquitto(nodelay: bool = False) -> Iterator[BrokerProcess]:
    """mosquitto from a config file we write: 127.0.0.1, a free high port, anonymous, no persistence."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "mosquitto.conf")
        with open(conf, "w") as handle:
            handle.write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                         f"max_queued_messages {QUEUE_LIMIT}\nmax_inflight_messages 20\n"
                         f"set_tcp_nodelay {'true' if nodelay else 'false'}\n"
                         "log_dest none\n")
        proc = subprocess.Popen(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)  # bench only: wait for the child to bind
            yield BrokerProcess("mosquitto-nodelay" if nodelay else "mosquitto", proc.pid, port)
        finally:
            proc.terminate()
            proc.wait(10)


# ---------------------------------------------------------------- load generator

async def open_client(port: int, client_id: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    writer.write(connect_packet(client_id))
    connack = await reader.readexactly(4)
    assert connack[0] == 0x20 and connack[3] == 0, connack
    return reader, writer


class Subscriber:
    """Counts PUBLISH packets (parsing the framing) and acknowledges QoS 1."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, qos: int) -> None:
        self.reader, self.writer, self.qos = reader, writer, qos
        self.count = 0
        self.done = asyncio.Event()
        self.target = 0

    async def run(self) -> None:
        buffer = b""
        read = self.reader.read
        while True:
            data = await read(1 << 18)
            if not data:
                return
            buffer += data
            pos, end = 0, len(buffer)
            acks = []
            while end - pos >= 2:
                length, shift, index = 0, 0, pos + 1
                while index < end:
                    byte = buffer[index]
                    length |= (byte & 0x7F) << shift
                    shift += 7
                    index += 1
                    if not byte & 0x80:
                        break
                else:
                    break
                if index + length > end:
                    break
                if buffer[pos] >> 4 == 3:
                    self.count += 1
                    if self.qos:
                        tlen = struct.unpack_from("!H", buffer, index)[0]
                        acks.append(b"\x40\x02" + buffer[index + 2 + tlen:index + 4 + tlen])
                pos = index + length
            buffer = buffer[pos:]
            if acks:
                self.writer.write(b"".join(acks))
            if self.count >= self.target:
                self.done.set()


async def throughput(port: int, qos: int, fanout: int, messages: int, payload: bytes, pid: int) -> dict[str, float]:
    subs = []
    tasks = []
    for n in range(fanout):
        reader, writer = await open_client(port, f"sub-{qos}-{fanout}-{n}")
        writer.write(subscribe_packet(qos))
        suback = await reader.readexactly(5)
        assert suback[0] == 0x90, suback
        sub = Subscriber(reader, writer, qos)
        sub.target = messages
        subs.append(sub)
        tasks.append(asyncio.create_task(sub.run()))
    preader, pwriter = await open_client(port, f"pub-{qos}-{fanout}")
    drain_acks = asyncio.create_task(_discard(preader))
    packets = [publish_packet(payload, qos, (i % 65535) + 1) for i in range(min(messages, 65535))]
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    batch = 200
    for start in range(0, messages, batch):
        pwriter.write(b"".join(packets[i % len(packets)] for i in range(start, min(start + batch, messages))))
        await pwriter.drain()
    stall = 0
    last = -1
    while not all(s.done.is_set() for s in subs):
        try:
            await asyncio.wait_for(asyncio.gather(*(s.done.wait() for s in subs)), 2.0)
        except TimeoutError:
            total = sum(s.count for s in subs)
            stall = stall + 1 if total == last else 0
            last = total
            if stall >= 2:
                break  # QoS 0 messages were dropped; count what arrived
    elapsed = time.perf_counter() - t0
    cpu = cpu_seconds(pid) - cpu0
    delivered = sum(s.count for s in subs)
    for sub in subs:
        sub.writer.close()
    pwriter.close()
    for task in (*tasks, drain_acks):
        task.cancel()
    await asyncio.gather(*tasks, drain_acks, return_exceptions=True)
    return {"deliveries_s": delivered / elapsed, "sent_s": messages / elapsed, "cpu_us": cpu * 1e6 / max(delivered, 1),
            "lost": messages * fanout - delivered, "elapsed": elapsed}


async def _discard(reader: asyncio.StreamReader) -> None:
    while await reader.read(1 << 16):
        pass


async def idle_memory(port: int, pid: int, count: int) -> float:
    before = rss_bytes(pid)
    clients = []
    for start in range(0, count, 100):
        clients += await asyncio.gather(*(open_client(port, f"idle-{n}") for n in range(start, min(start + 100,
                                                                                                   count))))
    after = rss_bytes(pid)
    for _reader, writer in clients:
        writer.close()
    return (after - before) / count


async def connect_rate(port: int, count: int) -> float:
    """Sequential plain-TCP connect -> CONNACK -> DISCONNECT cycles per second (the TLS bench adds mTLS)."""
    start = time.perf_counter()
    for n in range(count):
        _reader, writer = await open_client(port, f"rate-{n}")
        writer.write(b"\xe0\x00")
        writer.close()
        await writer.wait_closed()
    return count / (time.perf_counter() - start)


SCENARIOS = ("qos0 1->1", "qos0 1->10", "qos1 1->1", "qos1 1->10")


def measure_one(broker: BrokerProcess, what: str, args: argparse.Namespace) -> object:
    """One measurement of one broker: idle memory, the connect rate, or a throughput scenario."""
    if what == "idle":
        return asyncio.run(idle_memory(broker.port, broker.pid, args.idle))
    if what == "connects":
        return asyncio.run(connect_rate(broker.port, args.connects))
    qos, fanout = int(what[3]), int(what.split("->")[1])
    return asyncio.run(throughput(broker.port, qos, fanout, args.messages, b"x" * args.payload, broker.pid))


def main() -> int:
    """Start both brokers, interleave every measurement round by round, print medians, ratios and the load."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--payload", type=int, default=100)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--connects", type=int, default=500)
    parser.add_argument("--skip-mosquitto", action="store_true")
    benchlib.add_arguments(parser)
    args = parser.parse_args()
    if args.quick:
        args.messages, args.idle, args.connects, args.rounds = 500, 20, 20, 1
    with_mosquitto = not args.skip_mosquitto and shutil.which("mosquitto") is not None
    benchlib.begin(f"broker throughput: {args.messages:,} messages of {args.payload} bytes per scenario, MQTT 3.1.1, "
                   f"loopback; {args.rounds} interleaved rounds, medians",
                   "each broker is its own process (ours: one asyncio thread; mosquitto: one thread); the load "
                   "generator is one Python asyncio process (publisher and subscribers on one thread), so with 2 "
                   "cores it competes with the broker it measures; the broker not under test idles", args)
    runs: dict[tuple[str, str], list[object]] = {}
    with ExitStack() as stack:
        brokers = [stack.enter_context(ours())]
        if with_mosquitto:
            brokers.append(stack.enter_context(mosquitto()))
            brokers.append(stack.enter_context(mosquitto(nodelay=True)))
        for round_ in range(args.rounds):
            for what in ("idle", "connects", *SCENARIOS):
                for broker in brokers:  # ours, mosquitto, ours, mosquitto, ...
                    runs.setdefault((broker.name, what), []).append(measure_one(broker, what, args))
            print(f"  round {round_ + 1} done; {benchlib.load()}", flush=True)
    names = [b.name for b in brokers]
    peers = [n for n in names if n.startswith("mosquitto")]

    def best_peer(what: str, key: str | None) -> tuple[float, str]:
        """The faster mosquitto configuration's median for a measurement (0 without mosquitto)."""
        medians = [(benchlib.median(r[key] if key else r for r in runs[(n, what)]), n)  # type: ignore[index]
                   for n in peers]
        return max(medians) if medians else (0.0, "")

    print(f"{'scenario':<12}{'broker':<17}{'deliveries/s':>13}{'sent msg/s':>12}{'CPU us/deliv':>14}{'lost':>7}"
          f"{'vs mosquitto':>14}   deliveries/s of each run")
    for scenario in SCENARIOS:
        base, base_name = best_peer(scenario, "deliveries_s")
        for name in names:
            results = runs[(name, scenario)]
            rate = benchlib.median(r["deliveries_s"] for r in results)  # type: ignore[index]
            sent = benchlib.median(r["sent_s"] for r in results)  # type: ignore[index]
            cpu = benchlib.median(r["cpu_us"] for r in results)  # type: ignore[index]
            lost = max(r["lost"] for r in results)  # type: ignore[index]
            versus = f"{benchlib.ratio(rate, base)} {base_name.replace('mosquitto', 'm')}" \
                if with_mosquitto and name not in peers else ""
            each = benchlib.runs_text((r["deliveries_s"] for r in results), "{:.0f}")  # type: ignore[index]
            print(f"{scenario:<12}{name:<17}{rate:>13.0f}{sent:>12.0f}{cpu:>14.1f}{lost:>7}{versus:>14}   {each}")
    for name in names:
        idle = benchlib.median(runs[(name, "idle")])  # type: ignore[arg-type]
        print(f"idle memory per connection ({args.idle} clients), {name}: {idle / 1024:.1f} KiB (median)")
    base, base_name = best_peer("connects", None)
    for name in names:
        rate = benchlib.median(runs[(name, "connects")])  # type: ignore[arg-type]
        versus = f" ({benchlib.ratio(rate, base)} of {base_name})" if with_mosquitto and name not in peers else ""
        print(f"plain TCP connect->CONNACK->DISCONNECT, one at a time, {name}: {rate:.0f}/s (median){versus}")
    print("vs mosquitto: ours / the faster mosquitto configuration (m = default, m-nodelay = set_tcp_nodelay true). "
          "lost: most deliveries missing in one run (QoS 0 may drop under overload; QoS 1 must not). mTLS connects/s: "
          "bench/mtls_connect.py.")
    benchlib.end()
    return 0


if __name__ == "__main__":
    sys.exit(main())
