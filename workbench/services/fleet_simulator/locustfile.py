"""The fleet simulator on Locust, for fleets larger than one machine: each Locust worker runs `workbench simulate`
on its own disjoint slice of the fleet (worker index of worker count), turns the devices' connects, tokens and
publishes into Locust request events, and sends its figures to the master, which merges them into one summary.

Locust's gevent stays in the Locust processes: the devices run in a plain `workbench simulate` child process per
worker (asyncio, as on one machine). Run (every worker gets the same --fleet-args, naming a fleet it can read):

    locust -f $(workbench simulate --locustfile) --headless --master --expect-workers 2 -u 2 -r 2 -t 60s \\
        --fleet-summary summary.json
    locust -f $(workbench simulate --locustfile) --worker --master-host HOST --fleet-workers 2 \\
        --fleet-args "--fleet /data/fleet --url https://t1.example.com --user t1/admin --tenant-password-env PW"
"""

# mypy: disable-error-code="no-untyped-call"
# (Locust's event hooks are untyped; the locustfile only registers listeners on them.)
from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from typing import Any

import gevent  # type: ignore[import-untyped]
from locust import User, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

from workbench.services.fleet_simulator.figures import merge

_FIGURES_EVERY = 2.0  # seconds between figure messages from a worker to the master
_latest: dict[str, dict[str, Any]] = {}  # master: the newest figures of each worker
_slice_owner: list[User] = []  # worker: the one user that runs this worker's slice


def _options(parser: Any) -> None:
    parser.add_argument("--fleet-args", default="", help="`workbench simulate` arguments: the fleet and the target")
    parser.add_argument("--fleet-workers", type=int, default=0,
                        help="how many workers share the fleet (default: --expect-workers)")
    parser.add_argument("--fleet-summary", default="", help="master: write the merged figures to this JSON file")


def _on_init(environment: Any, **_kwargs: Any) -> None:
    if isinstance(environment.runner, MasterRunner):
        environment.runner.register_message("fleet_figures", _on_figures)


def _on_figures(environment: Any, msg: Any, **_kwargs: Any) -> None:
    _latest[str(msg.data["worker"])] = msg.data["figures"]


def _on_quit(environment: Any, **_kwargs: Any) -> None:
    """Master: one summary of the whole fleet, merged from the workers' last figures."""
    if not isinstance(environment.runner, MasterRunner):
        return
    merged = merge(_latest[k] for k in sorted(_latest))
    stats = environment.stats.total
    merged["locust"] = {"requests": stats.num_requests, "failures": stats.num_failures,
                        "p50_ms": stats.get_response_time_percentile(0.5),
                        "p99_ms": stats.get_response_time_percentile(0.99)}
    text = json.dumps(merged, indent=2)
    path = environment.parsed_options.fleet_summary
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    print("fleet summary: " + json.dumps({k: merged[k] for k in ("workers", "devices", "states", "errors")}),
          file=sys.stderr, flush=True)


events.init_command_line_parser.add_listener(_options)
events.init.add_listener(_on_init)
events.quitting.add_listener(_on_quit)


class FleetSliceUser(User):
    """One per worker: runs the worker's slice of the fleet in a `workbench simulate --events` child process."""

    wait_time = constant(1)

    def on_start(self) -> None:
        """Take the slice (the first user of a worker only) and start the devices."""
        self.process: subprocess.Popen[str] | None = None
        if _slice_owner:
            return
        _slice_owner.append(self)
        runner = self.environment.runner
        options = self.environment.parsed_options
        index = runner.worker_index if isinstance(runner, WorkerRunner) else 0
        count = options.fleet_workers or (getattr(options, "expect_workers", 1) if isinstance(runner, WorkerRunner)
                                          else 1)
        self.worker = f"{index}/{count}"
        command = [sys.executable, "-m", "workbench", "simulate", *shlex.split(options.fleet_args),
                   "--slice", self.worker, "--events"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env=os.environ.copy())
        self.reader = gevent.spawn(self._read)

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        fire = self.environment.events.request.fire
        sent = 0.0
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "request":
                error = event.get("error")
                fire(request_type="MQTT", name=event["kind"], response_time=event["ms"], response_length=0,
                     exception=RuntimeError(error) if error else None, context={})
            elif event.get("event") == "summary" or (event.get("event") == "figures"
                                                     and time.monotonic() - sent >= _FIGURES_EVERY):
                sent = time.monotonic()
                self.environment.runner.send_message("fleet_figures", {"worker": self.worker,
                                                                       "figures": event["figures"]})

    @task
    def watch(self) -> None:
        """The devices work in the child; a child that ended early is one failure with its last words."""
        if self.process is not None and self.process.poll() not in (None, 0):
            assert self.process.stderr is not None
            words = (self.process.stderr.read() or "").strip().splitlines()[-1:] or ["exited"]
            self.environment.events.request.fire(request_type="MQTT", name="simulator", response_time=0,
                                                 response_length=0, exception=RuntimeError(words[0]), context={})
            self.process = None

    def on_stop(self) -> None:
        """Stop the devices cleanly (as Ctrl+C) and pass on the final figures."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.reader.join(timeout=5)
