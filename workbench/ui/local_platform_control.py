"""Starts (or reuses) the bundled local platform in the background when the app opens, and stops what it started.

Starting takes a second or two (a child process, TLS material on first start), so it runs off the GUI thread;
the status bar follows it, and a failure is shown in words, never as a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import os

from PySide6.QtCore import QObject, Signal

from workbench.errors import WorkbenchError
from workbench.services.first_run import prepare_demo_device
from workbench.services.local_platform import LocalPlatformInfo, LocalPlatformProcess
from workbench.ui.errors import spawn

log = logging.getLogger("workbench.ui.platform")
SANDBOX_PORT = 1884
PORTS_ENV = "WORKBENCH_PLATFORM_PORTS"  # e.g. "mqtt=0 mqtts=0 https=0 sandbox=0": other ports (0 = any free one)


def platform_ports() -> dict[str, int]:
    """The local platform's ports: the sandbox on 1884 and the platform's defaults, unless WORKBENCH_PLATFORM_PORTS
    names others (a second workbench, a port taken by another program, tests)."""
    ports = {"sandbox": SANDBOX_PORT}
    for pair in os.environ.get(PORTS_ENV, "").replace(",", " ").split():
        name, _, value = pair.partition("=")
        if name in ("mqtt", "mqtts", "https", "sandbox") and value.isdigit():
            ports[name] = int(value)
    return ports


class LocalPlatformControl(QObject):
    """The app's handle on the local platform.

    Signals:
        state_changed: words for the status bar ("starting…", "running: MQTT 8883, REST 8443").
        ready: the LocalPlatformInfo once it runs.
        failed: the WorkbenchError that stopped it.
    """

    state_changed = Signal(str)
    ready = Signal(object)
    failed = Signal(object)
    demo_ready = Signal(object)

    def __init__(self, process: LocalPlatformProcess | None = None, prepare_demo: bool = True) -> None:
        super().__init__()
        self.prepare_demo = prepare_demo
        self.process = process or LocalPlatformProcess(ports=platform_ports())
        self.info: LocalPlatformInfo | None = None
        self.task: asyncio.Task[None] | None = None
        self.phase = "stopped"  # starting, running, failed or stopped: the welcome view's Start button follows it
        self.state_changed.connect(lambda text: log.info("local platform: %s", text))

    def start(self) -> asyncio.Task[None]:
        """Begin starting in the background (on the app's qasync loop)."""
        if self.phase in ("starting", "running") and self.task is not None and not self.task.done():
            return self.task
        self.phase = "starting"
        self.state_changed.emit("starting…")
        self.task = spawn(self, asyncio.to_thread(self.process.start_or_reuse, since=self.process.stops),
                          self._started, self._not_started)
        return self.task

    def _not_started(self, exc: WorkbenchError) -> None:
        log.warning("local platform not started: %s", exc)
        self.phase = "failed"
        self.state_changed.emit(f"not running ({exc.summary})")
        self.failed.emit(exc)

    def _started(self, info: LocalPlatformInfo) -> None:
        self.info = info
        self.phase = "running"
        how = "running" if info.started_here or self.process.adopted_pid is not None else "running (already started)"
        status = f"{how}: MQTT/TLS {info.ports['mqtts']}, REST {info.ports['https']}"
        if info.note:
            status = f"{status} — {info.note}"
        self.state_changed.emit(status)
        self.ready.emit(info)
        if self.prepare_demo:
            self.task = spawn(self, prepare_demo_device(info), lambda demo: self._demo_prepared(status, demo),
                              lambda exc: self._demo_not_prepared(status, exc))

    def _demo_prepared(self, status: str, demo: object) -> None:
        self.state_changed.emit(f"{status}, demo device ready")
        self.demo_ready.emit(demo)

    def _demo_not_prepared(self, status: str, exc: WorkbenchError) -> None:
        log.warning("demo device not prepared: %s", exc)
        self.state_changed.emit(f"{status} (demo device: {exc.summary})")

    def reset(self) -> asyncio.Task[None] | None:
        """Stop the platform, delete its data folder, and start it afresh (it runs again with a new CA)."""
        if self.process.process is None and self.process.adopted_pid is None and self.info is not None and \
                not self.info.started_here:
            self.state_changed.emit("not reset: this platform was started outside the app; stop it first")
            return None
        self.stop()
        folder = self.process.data_dir
        if folder is not None and folder.exists():
            import shutil

            shutil.rmtree(folder)
        return self.start()

    def stop(self) -> None:
        """Stop the platform if this app started or adopted it (one started elsewhere keeps running)."""
        if self.task is not None and not self.task.done():
            self.task.cancel()  # a start or demo preparation still under way ends with the app
        if self.process.process is not None or self.process.adopted_pid is not None:
            self.process.stop()
            self.phase = "stopped"
            self.state_changed.emit("stopped")
