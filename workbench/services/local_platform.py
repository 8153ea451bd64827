"""Start, find and reuse the bundled local platform as a child process, with its admin password in the keyring.

The workbench never imports the platform's internals: it runs `embedded-broker` (or the bundled executable's
`local-platform` command) and reads the ports it prints, or the `running.json` a running one leaves in its folder.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench import paths
from workbench.core.processes import process_alive as _alive
from workbench.core.profiles.model import SecretName
from workbench.core.profiles.secrets import SecretStore
from workbench.errors import WorkbenchError

ADMIN_USER = "t100/admin"
SECRET_ID = "local-platform-admin"
STATE_FILE = "running.json"  # the platform's `embedded_broker.STATE_FILE`
OWNER_FILE = "workbench-owner.json"  # which workbench process started the platform running in this folder
_PASSWORD_ENV = "EMBEDDED_BROKER_ADMIN_PASSWORD"


class LocalPlatformError(WorkbenchError):
    """The local platform could not be started or reached."""


@dataclass(frozen=True)
class GivenPassword:
    """An admin password and where it came from (for the message when it does not open the platform)."""

    value: str = field(repr=False)
    source: str  # "--admin-password-env VAR", "the keyring", ...


@dataclass
class LocalPlatformInfo:
    """How to reach a running local platform."""

    ports: dict[str, int]
    server_ca: Path
    admin_password: str = field(repr=False)
    host: str = "127.0.0.1"
    data_dir: Path | None = None
    pid: int | None = None
    started_here: bool = False
    note: str = ""  # how an earlier session's platform was handled ("adopted …", "stopped …"), for the status bar

    @property
    def rest_url(self) -> str:
        """The HTTPS base URL (the server certificate names localhost and 127.0.0.1)."""
        return f"https://localhost:{self.ports['https']}"


def default_data_dir() -> Path:
    """The local platform's folder inside the workbench data folder."""
    return paths.data_dir() / "local-platform"


def platform_command() -> list[str]:
    """How to run the platform: the bundled executable's subcommand, or this Python's module.

    On Windows the GUI executable has no console; its console twin `workbench-cli.exe` runs the platform (its
    window is suppressed with CREATE_NO_WINDOW), so the banner reaches our pipe.
    """
    if getattr(sys, "frozen", False):
        executable = Path(sys.executable)
        twin = executable.with_name(f"{executable.stem}-cli{executable.suffix}")
        return [str(twin) if sys.platform == "win32" and twin.exists() else sys.executable, "local-platform"]
    return [sys.executable, "-m", "embedded_broker"]


def command_line(pid: int) -> list[str] | None:
    """A process's command line (None when it cannot be read: gone, another user's, or no /proc and no ps)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        return [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    except OSError:
        pass
    if sys.platform == "win32":
        return None
    try:
        out = subprocess.run(["ps", "-o", "args=", "-p", str(pid)], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.split() or None


def is_platform_of(pid: int, data_dir: Path) -> bool:
    """True when `pid` runs the local platform (`embedded_broker` or the bundle's `local-platform`) on `data_dir`."""
    args = command_line(pid)
    if not args or "--data-dir" not in args[:-1]:
        return False
    ours = any(a == "embedded_broker" or a == "local-platform" or Path(a).name.startswith("embedded-broker")
               for a in args)
    given = Path(args[args.index("--data-dir") + 1])
    try:
        same = given.resolve() == data_dir.resolve()
    except OSError:
        same = False
    return ours and same


def terminate_platform(pid: int, data_dir: Path, timeout: float = 15.0) -> bool:
    """SIGTERM a platform this folder's workbench started (checked by its command line) and wait until it ended.

    Returns False (and sends nothing) when `pid` is not the local platform of `data_dir`.
    """
    if sys.platform == "win32" or not is_platform_of(pid, data_dir):
        return False
    import signal

    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        while _alive(pid) and time.monotonic() < deadline + 5:
            time.sleep(0.05)
    return not _alive(pid)


def _login_works(info: LocalPlatformInfo) -> bool:
    """True when the admin password opens `GET /tenant/currentTenant`."""
    import base64
    import ssl

    request = urllib.request.Request(info.rest_url + "/tenant/currentTenant", headers={
        "Accept": "application/json",
        "Authorization": "Basic " + base64.b64encode(f"{ADMIN_USER}:{info.admin_password}".encode()).decode()})
    try:
        context = ssl.create_default_context(cafile=str(info.server_ca))
        with urllib.request.urlopen(request, context=context, timeout=5) as answer:
            return bool(answer.status == 200)
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            return False
        raise LocalPlatformError("the local platform answered with an error", (f"HTTP {exc.code}",)) from exc
    except (OSError, urllib.error.URLError) as exc:
        raise LocalPlatformError("the local platform does not answer over HTTPS", (str(exc),)) from exc


_WRONG_PASSWORD = ("the admin password in the keyring does not open this local platform",
                   "it was created outside the workbench, or its data folder was replaced",
                   "reset it: stop it, run `embedded-broker --reset`, and start it from the workbench")


def _healthy(ports: dict[str, int], server_ca: Path) -> bool:
    import ssl

    try:
        context = ssl.create_default_context(cafile=str(server_ca))
        with urllib.request.urlopen(f"https://localhost:{ports['https']}/health", context=context, timeout=3) as r:
            return bool(r.status == 200)
    except (OSError, KeyError, ValueError, urllib.error.URLError):
        return False


class LocalPlatformProcess:
    """One local platform: reused when it already runs for this folder, else started (and later stopped) by us."""

    def __init__(self, data_dir: Path | None = None, *, ephemeral: bool = False, secrets: SecretStore | None = None,
                 ports: dict[str, int] | None = None, admin_password: GivenPassword | None = None) -> None:
        self.ephemeral = ephemeral
        self.given_password = admin_password  # the user's word beats the keyring and the environment
        self.data_dir = None if ephemeral else (data_dir or default_data_dir())
        self.secrets = secrets or SecretStore()
        self.ports = ports or ({"mqtt": 0, "mqtts": 0, "https": 0} if ephemeral else {})
        self.process: subprocess.Popen[str] | None = None
        self.info: LocalPlatformInfo | None = None
        self.adopted_pid: int | None = None  # an earlier session's platform we took over (and stop like our own)
        self.stopped_orphan: int | None = None  # an earlier session's platform we stopped before starting afresh
        self.orphan_reason = ""
        self.stops = 0  # how many times stop() ran: a start that a stop overtook (the app quit) stops what it started

    def _orphan(self, pid: int) -> bool:
        """True when a workbench that has since died (killed, crashed) started the platform `pid` in this folder."""
        assert self.data_dir is not None
        try:
            owner = json.loads((self.data_dir / OWNER_FILE).read_text())
            platform_pid, gui_pid = int(owner["platform_pid"]), int(owner["gui_pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return platform_pid == pid and gui_pid != os.getpid() and not _alive(gui_pid)

    def _write_owner(self, platform_pid: int) -> None:
        if self.data_dir is not None:
            with contextlib.suppress(OSError):
                self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # first start: made before the platform
                (self.data_dir / OWNER_FILE).write_text(json.dumps({"platform_pid": platform_pid,
                                                                   "gui_pid": os.getpid()}))

    def _forget_owner(self) -> None:
        if self.data_dir is not None:
            with contextlib.suppress(OSError):
                (self.data_dir / OWNER_FILE).unlink()

    def running(self) -> LocalPlatformInfo | None:
        """The platform already running for this folder, if its `running.json` answers /health.

        One that an earlier, since killed workbench left behind is adopted when our keyring password opens it;
        otherwise it is stopped (SIGTERM, after checking its command line) and None returned, so a new one starts.
        """
        if self.data_dir is None:
            return None
        try:
            state = json.loads((self.data_dir / STATE_FILE).read_text())
            ports, server_ca, pid = state["ports"], Path(state["server_ca"]), int(state["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not _alive(pid):
            return None
        if not _healthy(ports, server_ca):
            self._unhealthy(pid)
            return None
        orphan = self._orphan(pid)
        candidates = self._password_candidates()
        info = None
        for given in candidates:
            attempt = LocalPlatformInfo(ports, server_ca, given.value, data_dir=self.data_dir, pid=pid)
            if _login_works(attempt):
                info = attempt
                self._remember(given)
                break
        works = info is not None
        password = candidates[0].value if candidates else None
        if orphan and info is not None and works:
            self.adopted_pid = pid
            self._write_owner(pid)
            info.note = f"adopted the platform an earlier session left running (pid {pid})"
            return info
        if orphan and terminate_platform(pid, self.data_dir):
            self.stopped_orphan = pid
            self.orphan_reason = "its admin password is not in the keyring" if password is None else \
                "the keyring's admin password does not open it"
            self._forget_owner()
            return None
        if password is None:
            raise LocalPlatformError(
                f"the local platform in {self.data_dir} runs, but its admin password is not in the keyring",
                ("it was started outside the workbench: its password was printed on its first start",
                 f"give it to the workbench: `workbench onboard --admin-password-file FILE` or "
                 f"`--admin-password-env VAR`, or set {_PASSWORD_ENV} in this terminal as for `embedded-broker`",
                 "or reset it: stop it, then run `embedded-broker --reset` and start it from the workbench"))
        if not works or info is None:
            tried = ", ".join(given.source for given in candidates)
            raise LocalPlatformError(
                f"cannot log in to the local platform in {self.data_dir} as {ADMIN_USER} with the password from "
                f"{tried}", (f"the admin password from {tried} does not open this local platform",
                             "its password is the one set when its data folder was made: printed on that first start, "
                             f"or {_PASSWORD_ENV} as it was then",
                             "give that one with --admin-password-file FILE or --admin-password-env VAR",
                             _WRONG_PASSWORD[2]))
        return info

    def _unhealthy(self, pid: int) -> None:
        """A platform process runs in this folder but does not answer with its server CA: one an earlier session
        left is stopped (so a new one starts); any other is an error, never a second platform on the same data.

        Raises:
            LocalPlatformError: it runs, started elsewhere (e.g. with --server-keystore), or does not answer.
        """
        assert self.data_dir is not None
        args = command_line(pid) or []
        if not any(a in ("embedded_broker", "local-platform") or Path(a).name.startswith("embedded-broker")
                   for a in args):
            return None  # running.json is stale and its pid is now another program's
        if self._orphan(pid) and terminate_platform(pid, self.data_dir):
            self.stopped_orphan, self.orphan_reason = pid, "it did not answer over HTTPS"
            self._forget_owner()
            return None
        raise LocalPlatformError(
            f"the local platform in {self.data_dir} runs (pid {pid}) but does not answer over HTTPS with its own "
            "server CA",
            ("started with --server-keystore, it serves that key store's certificates, which the workbench does not "
             "check against",
             "or it is still starting, or hangs",
             "stop it (Ctrl+C in its terminal) and run this again: the workbench then starts its own"))

    def _password_candidates(self) -> list[GivenPassword]:
        """The admin passwords to try, best first: the one given by the user alone, else the keyring's, then the
        `EMBEDDED_BROKER_ADMIN_PASSWORD` of this environment (the variable `embedded-broker` itself reads)."""
        if self.given_password is not None:
            return [self.given_password]
        found = []
        stored = self.secrets.get(SECRET_ID, SecretName.PLATFORM_PASSWORD)
        if stored:
            found.append(GivenPassword(stored, "the keyring"))
        from_env = os.environ.get(_PASSWORD_ENV)
        if from_env and from_env != stored:
            found.append(GivenPassword(from_env, _PASSWORD_ENV))
        return found

    def _remember(self, given: GivenPassword) -> None:
        """A password that opened the platform is kept, so the next command and the app need not be told again."""
        if given.source != "the keyring":
            self.secrets.set(SECRET_ID, SecretName.PLATFORM_PASSWORD, given.value)

    def start_or_reuse(self, timeout: float = 60.0, since: int | None = None) -> LocalPlatformInfo:
        """A running platform: the existing one for this folder (adopted when an earlier session left it), or a
        new child process. `since`: the stop count when the start was asked for (see `start`)."""
        since = self.stops if since is None else since
        existing = self.running()
        if existing is not None:
            self._check_not_stopped(since)
            self.info = existing
            return existing
        info = self.start(timeout, since)
        if self.stopped_orphan is not None:
            info.note = (f"stopped the platform an earlier session left running (pid {self.stopped_orphan}; "
                         f"{self.orphan_reason}) and started a new one")
        return info

    def _check_not_stopped(self, since: int) -> None:
        if self.stops != since:
            self.stop()
            raise LocalPlatformError("the local platform was stopped while it started", ("the app is closing",))

    def start(self, timeout: float = 60.0, since: int | None = None) -> LocalPlatformInfo:
        """Start a child process and wait until it printed its ports (and, on a first start, took our password).

        A `stop()` that ran after `since` (the stop count when the app asked for the start, on another thread)
        stops the new child again, so a GUI closed while the platform starts leaves nothing running.
        """
        since = self.stops if since is None else since
        command = platform_command()
        if self.data_dir is None:
            command.append("--ephemeral")
        else:
            command += ["--data-dir", str(self.data_dir)]
        for name, option in (("mqtt", "--mqtt-port"), ("mqtts", "--mqtts-port"), ("https", "--https-port"),
                             ("sandbox", "--sandbox-port")):
            if name in self.ports:
                command += [option, str(self.ports[name])]
        env = dict(os.environ)
        env.pop(_PASSWORD_ENV, None)  # ours, or none: an ephemeral platform then prints the one it generated
        password = None if self.data_dir is None else self._password_for_new_platform()
        if password is not None:
            env[_PASSWORD_ENV] = password
            command.append("--reset-admin-password")  # we own the folder: our keyring password is the password
        try:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
                                            env=env)
        except OSError as exc:
            raise LocalPlatformError("cannot start the local platform", (f"{command[0]}: {exc}",)) from exc
        self._write_owner(self.process.pid)  # before it runs: a GUI killed from now on leaves a known orphan
        lines = self._read_banner(timeout)
        self._check_not_stopped(since)
        ports = {k: int(v) for k, v in (p.split("=") for p in lines["ports"].split())}
        printed = lines.get("password")
        if printed is not None and password is None:
            password = printed
        if password is None:
            password = self.secrets.get(SECRET_ID, SecretName.PLATFORM_PASSWORD)
        if password is None:
            self.stop()
            raise LocalPlatformError(
                f"the local platform in {self.data_dir} was created outside the workbench",
                ("its admin password was printed when it first started; the workbench does not know it",
                 f"reset it with `embedded-broker --reset --data-dir {self.data_dir}`"))
        info = LocalPlatformInfo(ports, Path(lines["ca"]), password, data_dir=self.data_dir,
                                 pid=self.process.pid, started_here=True)
        if not _login_works(info):
            self.stop()
            raise LocalPlatformError(f"the local platform in {self.data_dir} was created outside the workbench",
                                     _WRONG_PASSWORD)
        self.info = info
        return info

    def _password_for_new_platform(self) -> str:
        """The password given by the user, else our keyring password, else the environment's, else a new one; the
        chosen one is kept in the keyring (first run, no keyring, or a password the user chose)."""
        assert self.data_dir is not None
        stored = self.secrets.get(SECRET_ID, SecretName.PLATFORM_PASSWORD)
        chosen = self.given_password.value if self.given_password is not None else stored
        chosen = chosen or os.environ.get(_PASSWORD_ENV)
        if not chosen:
            import secrets as random

            chosen = random.token_urlsafe(12)
        if chosen != stored:
            self.secrets.set(SECRET_ID, SecretName.PLATFORM_PASSWORD, chosen)
        return chosen

    def _read_banner(self, timeout: float) -> dict[str, str]:
        """The banner lines, read by a drain thread that keeps reading (so the child never blocks on a full pipe)."""
        assert self.process is not None
        lines: queue.Queue[str | None] = queue.Queue()
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        _drain(self.process.stdout, lines.put)
        _drain(self.process.stderr, self._stderr_tail.append)
        found: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        last = "data" if self.data_dir is not None else "password"  # the banner's last line
        while last not in found:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                self.stop()
                raise LocalPlatformError("the local platform did not start in time", (f"waited {timeout:g} s",)) \
                    from None
            if line is None:
                self.process.wait()
                raise LocalPlatformError("the local platform stopped while starting",
                                         tuple(x for x in list(self._stderr_tail)[-3:] if x) or ("no output",))
            for prefix, key in (("embedded-broker ports: ", "ports"), ("server CA (add it to truststores): ", "ca"),
                                ("admin credentials (shown once): ", "password"), ("data folder: ", "data")):
                if line.startswith(prefix):
                    found[key] = line.rsplit(" ", 1)[1] if key == "password" else line.removeprefix(prefix)
        return found

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the child process we started or adopted (a platform started elsewhere keeps running)."""
        self.stops += 1
        if self.adopted_pid is not None and self.data_dir is not None:
            pid, self.adopted_pid = self.adopted_pid, None
            terminate_platform(pid, self.data_dir, timeout)
            self._forget_owner()
        if self.process is None:
            return
        self._forget_owner()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def _drain(stream: Any, sink: Callable[[Any], None]) -> None:
    """Read a child's pipe to the end on a daemon thread, handing each line (then None) to `sink`."""
    def run() -> None:
        with stream:
            for line in stream:
                sink(line.rstrip("\n"))
        sink(None)

    threading.Thread(target=run, name="local-platform-pipe", daemon=True).start()
