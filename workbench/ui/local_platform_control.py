"""Starts (or reuses) the bundled local platform in the background when the app opens, and stops what it started.

Starting takes a second or two (a child process, TLS material on first start), so it runs off the GUI thread;
the status bar follows it, and a failure is shown in words, never as a traceback.
"""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import QObject, Signal

from workbench.errors import WorkbenchError
from workbench.services.first_run import prepare_demo_device
from workbench.services.local_platform import LocalPlatformInfo, LocalPlatformProcess
from workbench.ui.errors import spawn

log = logging.getLogger("workbench.ui.platform")
SANDBOX_PORT = 1884


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
        self.process = process or LocalPlatformProcess(ports={"sandbox": SANDBOX_PORT})
        self.info: LocalPlatformInfo | None = None
        self.task: asyncio.Task[None] | None = None

    def start(self) -> asyncio.Task[None]:
        """Begin starting in the background (on the app's qasync loop)."""
        self.state_changed.emit("starting…")
        self.task = spawn(self, asyncio.to_thread(self.process.start_or_reuse), self._started, self._not_started)
        return self.task

    def _not_started(self, exc: WorkbenchError) -> None:
        log.warning("local platform not started: %s", exc)
        self.state_changed.emit(f"not running ({exc.summary})")
        self.failed.emit(exc)

    def _started(self, info: LocalPlatformInfo) -> None:
        self.info = info
        how = "running" if info.started_here else "running (already started)"
        status = f"{how}: MQTT/TLS {info.ports['mqtts']}, REST {info.ports['https']}"
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
        if self.process.process is None and self.info is not None and not self.info.started_here:
            self.state_changed.emit("not reset: this platform was started outside the app; stop it first")
            return None
        self.stop()
        folder = self.process.data_dir
        if folder is not None and folder.exists():
            import shutil

            shutil.rmtree(folder)
        return self.start()

    def stop(self) -> None:
        """Stop the platform if this app started it (one started elsewhere keeps running)."""
        if self.process.process is not None:
            self.process.stop()
            self.state_changed.emit("stopped")
