"""The simulator's live figures in one place: device states, rates, latency percentiles, errors grouped by reason
and the process's own CPU and memory, so the terminal, the Fleet page, `--json` and Locust show the same numbers."""

from __future__ import annotations

import collections
import os
import re
import resource
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

STATES = ("idle", "connecting", "registering", "connected", "failed", "stopped")
LATENCIES = ("connect", "token", "publish", "cert_renewal")
_SAMPLES = 20_000  # latency samples kept per kind (the newest); enough for stable percentiles, bounded memory
_RATE_WINDOW = 5  # seconds the rates average over
_CONNACK = re.compile(r"\(CONNACK (\d+): ([^)]*)\)")


def tls_reason(exc: ssl.SSLError) -> str:
    """A TLS failure as a short group name: 'TLS: unknown CA', 'TLS: certificate required', 'TLS: closed'."""
    reason = (getattr(exc, "reason", None) or "").upper()
    for prefix in ("TLSV13_ALERT_", "TLSV1_ALERT_", "SSLV3_ALERT_"):
        if reason.startswith(prefix):
            words = reason.removeprefix(prefix).replace("_", " ").lower()
            return "TLS: " + re.sub(r"\bca\b", "CA", words)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "TLS: server certificate not trusted"
    if isinstance(exc, ssl.SSLEOFError) or "EOF" in str(exc):
        return "TLS: closed during the handshake"
    if "WRONG_VERSION_NUMBER" in reason:
        return "TLS: the port does not speak TLS"
    return f"TLS: {reason.replace('_', ' ').lower() or type(exc).__name__}"


def error_reason(exc: BaseException) -> str:
    """Any connection failure as the group name the figures count it under (no addresses, no ids)."""
    if isinstance(exc, ssl.SSLError):
        return tls_reason(exc)
    if isinstance(exc, ConnectionRefusedError):
        return "TCP: connection refused (is the target running?)"
    if isinstance(exc, socket.gaierror):
        return "TCP: unknown host name"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "TCP: timed out"
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return "TCP: reset by the server"
    if isinstance(exc, OSError):
        return f"TCP: {exc.strerror or type(exc).__name__}"
    text = str(exc)
    match = _CONNACK.search(text)
    if match:
        return f"CONNACK {match.group(1)}: {match.group(2)}"
    return text.split("\n", 1)[0][:120] or type(exc).__name__


def percentiles(samples: Iterable[float]) -> dict[str, float | None]:
    """p50, p90, p99 and max in milliseconds (None without samples)."""
    ordered = sorted(samples)
    if not ordered:
        return {"p50": None, "p90": None, "p99": None, "max": None, "count": 0}

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": round(ordered[-1], 2), "count": len(ordered)}


def process_usage() -> dict[str, float]:
    """This process's CPU seconds (user + system) and resident memory in MiB (current where /proc has it)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss = usage.ru_maxrss / 1024  # Linux reports KiB
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            rss = int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu_seconds": usage.ru_utime + usage.ru_stime, "rss_mib": round(rss, 1)}


@dataclass
class Figures:
    """Counters the devices update on the loop; `snapshot()` turns them into the figures everyone shows."""

    total: int = 0
    clock: Callable[[], float] = time.monotonic
    states: collections.Counter[str] = field(default_factory=collections.Counter)
    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    latencies: dict[str, collections.deque[float]] = field(
        default_factory=lambda: {kind: collections.deque(maxlen=_SAMPLES) for kind in LATENCIES})
    _buckets: collections.deque[tuple[int, collections.Counter[str]]] = field(
        default_factory=lambda: collections.deque(maxlen=_RATE_WINDOW + 2))
    started: float = 0.0
    _cpu_start: float = 0.0
    _wall_start: float = 0.0

    def start(self, total: int) -> None:
        """Reset for a run of ``total`` devices; CPU is measured from here."""
        self.total = total
        self.states = collections.Counter({"idle": total})
        self.started = self.clock()
        self._wall_start = time.monotonic()
        self._cpu_start = process_usage()["cpu_seconds"]

    def move(self, old: str, new: str) -> None:
        """A device changed state."""
        if old != new:
            self.states[old] -= 1
            self.states[new] += 1

    def count(self, what: str, n: int = 1) -> None:
        """Count an event (connects, messages, tokens, renewals, cert_renewals, operations, drops) for totals and
        rates."""
        self.counts[what] += n
        second = int(self.clock())
        if not self._buckets or self._buckets[-1][0] != second:
            self._buckets.append((second, collections.Counter()))
        self._buckets[-1][1][what] += n

    def latency(self, kind: str, seconds: float) -> None:
        """A connect, token or publish latency sample."""
        self.latencies[kind].append(seconds * 1000.0)

    def error(self, reason: str) -> None:
        """A failure, grouped by its reason."""
        self.errors[reason] += 1
        self.counts["errors"] += 1

    def rate(self, what: str) -> float:
        """Events per second over the last full seconds."""
        now = int(self.clock())
        window = [c[what] for second, c in self._buckets if now - _RATE_WINDOW <= second < now]
        span = min(_RATE_WINDOW, max(1, now - int(self.started))) if self.started else _RATE_WINDOW
        return round(sum(window) / span, 1)

    def snapshot(self) -> dict[str, Any]:
        """Everything shown, as plain data (JSON-ready, mergeable across Locust workers)."""
        usage = process_usage()
        wall = max(time.monotonic() - self._wall_start, 1e-9) if self._wall_start else 0.0
        cpu = usage["cpu_seconds"] - self._cpu_start
        return {
            "devices": self.total,
            "states": {state: self.states.get(state, 0) for state in STATES},
            "totals": dict(sorted(self.counts.items())),
            "rates": {"connects_per_s": self.rate("connects"), "messages_per_s": self.rate("messages")},
            "latency_ms": {kind: percentiles(self.latencies[kind]) for kind in LATENCIES},
            "errors": dict(self.errors.most_common()),
            "process": {"cpu_seconds": round(cpu, 2), "cpu_percent": round(100 * cpu / wall, 1) if wall else 0.0,
                        "rss_mib": usage["rss_mib"]},
            "elapsed_s": round(self.clock() - self.started, 1) if self.started else 0.0,
        }


def merge(snapshots: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The figures of several simulators (Locust workers) as one: sums, and the worst percentile of each kind."""
    items = list(snapshots)
    out: dict[str, Any] = {"devices": 0, "states": collections.Counter(), "totals": collections.Counter(),
                           "rates": collections.Counter(), "errors": collections.Counter(),
                           "latency_ms": {}, "process": {"cpu_seconds": 0.0, "cpu_percent": 0.0, "rss_mib": 0.0},
                           "elapsed_s": 0.0, "workers": len(items)}
    for snap in items:
        out["devices"] += snap.get("devices", 0)
        for key in ("states", "totals", "rates", "errors"):
            out[key].update(snap.get(key, {}))
        for name in ("cpu_seconds", "cpu_percent", "rss_mib"):
            out["process"][name] = round(out["process"][name] + snap.get("process", {}).get(name, 0.0), 2)
        out["elapsed_s"] = max(out["elapsed_s"], snap.get("elapsed_s", 0.0))
        for kind, figures in snap.get("latency_ms", {}).items():
            have = out["latency_ms"].setdefault(kind, {"p50": None, "p90": None, "p99": None, "max": None,
                                                       "count": 0})
            for name, value in figures.items():
                if name == "count":
                    have["count"] += value
                elif value is not None:
                    have[name] = value if have[name] is None else max(have[name], value)
    for key in ("states", "totals", "rates", "errors"):
        out[key] = {k: round(v, 1) if isinstance(v, float) else v for k, v in out[key].items()}
    return out


def one_line(snap: Mapping[str, Any]) -> str:
    """The terminal's progress line: states, rates, p99s and the top error."""
    s, r, lat = snap["states"], snap["rates"], snap["latency_ms"]

    def p99(kind: str) -> str:
        value = lat.get(kind, {}).get("p99")
        return "-" if value is None else f"{value:.0f}"

    renewed = snap["totals"].get("cert_renewals", 0)
    certs = f" | cert renewals {renewed}" if renewed else ""
    top = next(iter(snap["errors"].items()), None)
    error = f" | {sum(snap['errors'].values())} errors, top: {top[0]} x{top[1]}" if top else ""
    return (f"{snap['elapsed_s']:>5.0f}s connected {s['connected']}/{snap['devices']} registering {s['registering']}"
            f" connecting {s['connecting']} failed {s['failed']} | {r['connects_per_s']:.0f} conn/s"
            f" {r['messages_per_s']:.0f} msg/s | p99 ms connect {p99('connect')} token {p99('token')}"
            f" publish {p99('publish')} | cpu {snap['process']['cpu_percent']:.0f}%"
            f" rss {snap['process']['rss_mib']:.0f} MiB{certs}{error}")
