"""The local platform assembled: store, platform rules, MQTT listeners (plain, mTLS, optional sandbox) and HTTPS REST.

`LocalPlatform` runs on the caller's asyncio loop; `BackgroundLocalPlatform` runs one in a thread for synchronous
callers and tests. Ports that are busy move to the next free one, and the move is reported, never silent
(docs/platform-reference.md A1).
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from aiohttp import web

from embedded_broker import __version__
from embedded_broker.config import BrokerConfig, ListenerConfig
from embedded_broker.errors import BrokerError
from embedded_broker.events import BrokerEvent, EventKind
from embedded_broker.platform.core import Platform
from embedded_broker.platform.mqtt_rules import PlatformMqtt
from embedded_broker.platform.sealed_passwords import SealedPasswords
from embedded_broker.platform.server_identity import load_or_create, placeholder_anchor, tenant_domain_hosts
from embedded_broker.private_files import PUBLIC_MODE, private_folder, write_file
from embedded_broker.rest.app import build_app
from embedded_broker.rest.http import PORTS, SERVER_LOG
from embedded_broker.rest.routes_vhosts import VIRTUAL_HOSTS
from embedded_broker.server import Broker, call_on_loop, stop_loop_thread
from embedded_broker.server_keystore import VirtualHost, read_server_keystore
from embedded_broker.store import Store
from embedded_broker.tls import DEFAULT_ALIAS, TlsManager

log = logging.getLogger("embedded_broker.local_platform")
T = TypeVar("T")
_PORT_TRIES = 20
_SNI_LOG_EVERY = 60.0  # seconds: the same SNI choice is logged once a minute at most (handshake storms)
_SNI_LOG_NAMES = 1024  # bound on the names remembered for that
STATE_FILE = "running.json"
SERVER_CA_FILE = "server-ca.pem"


@dataclass
class PlatformSettings:
    """Where the local platform listens and keeps its data; port 0 picks any free port (tests)."""

    data_dir: Path | None = None  # None: ephemeral, everything in memory
    host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtts_port: int = 8883
    https_port: int = 8443
    sandbox_port: int | None = None  # a standards MQTT 3.1.1/5 listener without platform rules
    max_chain: int = 10
    strict_anchor_in_chain: bool = False
    clock: Callable[[], float] = time.time
    sys_interval: float = 10.0
    admin_password: str | None = None  # for the first start only; generated when None
    reset_admin_password: bool = False  # set t100/admin's password to `admin_password` on every start
    notices: list[str] = field(default_factory=list)
    server_keystore: Path | None = None  # JKS or PKCS#12, one key entry per SNI virtual host (all TLS listeners)
    server_keystore_password: bytes | None = field(default=None, repr=False)
    default_server_alias: str | None = None  # the entry for names no entry matches (default: the first)
    tenant_domains: bool = True  # serve `<tenant>.localhost` with a certificate of the platform CA (SNI)


def _free_port(host: str, wanted: int, taken: set[int]) -> int:
    """`wanted` if it can be bound, else the next free port above it (0 stays 0)."""
    if wanted == 0:
        return 0
    for port in range(wanted, wanted + _PORT_TRIES):
        if port in taken:
            continue
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                    continue
                raise BrokerError(f"cannot listen on {host}:{port}: {exc}") from exc
            return port
    raise BrokerError(f"ports {wanted}..{wanted + _PORT_TRIES - 1} on {host} are all busy")


class LocalPlatform:
    """The whole local platform; `async with LocalPlatform(settings) as lp:` then `lp.ports`."""

    def __init__(self, settings: PlatformSettings | None = None) -> None:
        self.settings = settings or PlatformSettings()
        self.ports: dict[str, int] = {}
        self.admin_password: str | None = None
        self.server_ca_path: Path | None = None
        self._temp_dir: str | None = None
        self._runner: web.AppRunner | None = None
        self.broker: Broker | None = None
        self.sandbox: Broker | None = None
        self.platform: Platform | None = None
        self.tls: TlsManager | None = None
        self.sealed_passwords: SealedPasswords | None = None  # hashes bulk-registered passwords in the background
        self._placeholder = placeholder_anchor()
        self._sni_logged: dict[tuple[str, str], float] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> LocalPlatform:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Open the data, create tenant t100 on first start, then bind every listener."""
        s = self.settings
        self._loop = asyncio.get_running_loop()
        keystore = self.load_server_keystore()  # before anything is opened: a wrong password fails at once
        if s.data_dir is not None:  # 0700, its files 0600 (not the public CA file), whatever the umask
            s.notices.extend(private_folder(s.data_dir, public=(SERVER_CA_FILE,)))
            store = Store(s.data_dir / "platform.db")
            folder = s.data_dir
        else:
            store = Store(None)
            self._temp_dir = tempfile.mkdtemp(prefix="local-platform-")
            folder = Path(self._temp_dir)
        platform = Platform(store, clock=s.clock, max_chain=s.max_chain,
                            strict_anchor_in_chain=s.strict_anchor_in_chain)
        self.platform = platform
        self.admin_password = platform.bootstrap(s.admin_password)
        if self.admin_password is None and s.reset_admin_password and s.admin_password:
            platform.accounts.add_user("t100", "admin", "admin", password=s.admin_password)
            platform.events.emit("password_reset", "the password of t100/admin was set by the owner of the data "
                                 "folder", tenant="t100")
        hosts = ("localhost", "127.0.0.1") + ((s.host,) if s.host not in ("localhost", "127.0.0.1", "0.0.0.0") else ())
        identity = load_or_create(store, hosts)
        self.server_ca_path = folder / SERVER_CA_FILE
        write_file(self.server_ca_path, identity.ca_pem, PUBLIC_MODE)  # a certificate, for truststores: public
        self.tls = TlsManager(None if keystore else identity.chain_pem, None if keystore else identity.key_pem,
                              client_auth="optional", server_hosts=keystore,
                              default_alias=s.default_server_alias if keystore else None,
                              extra_hosts=self._tenant_hosts(),
                              trust_anchors=[self._placeholder, *platform.trust.all_anchors()], check_time=False)
        self.tls.on_choice = self._sni_chosen
        platform.trust_listeners.append(self._refresh_anchors)
        platform.events.add_callback(self._tenant_added)
        taken: set[int] = set()
        chosen = {}
        for name, wanted in (("mqtt", s.mqtt_port), ("mqtts", s.mqtts_port), ("https", s.https_port),
                             ("sandbox", s.sandbox_port)):
            if wanted is None:
                continue
            chosen[name] = _free_port(s.host, wanted, taken)
            taken.add(chosen[name])
            if wanted and chosen[name] != wanted:
                s.notices.append(f"port {wanted} ({name}) is busy; using {chosen[name]}")
        rules = PlatformMqtt(platform)
        config = BrokerConfig(listeners=(ListenerConfig("mqtt", s.host, chosen["mqtt"]),
                                         ListenerConfig("mqtts", s.host, chosen["mqtts"], self.tls)),
                              sys_interval=s.sys_interval)
        self.broker = Broker(config, rules)
        rules.attach(self.broker)
        self.broker.add_event_listener(self._broker_event)
        try:
            await self.broker.start()
            self.ports.update(self.broker.ports)
            if "sandbox" in chosen:
                self.sandbox = Broker(BrokerConfig(listeners=(ListenerConfig("sandbox", s.host, chosen["sandbox"]),),
                                                   sys_interval=s.sys_interval))
                await self.sandbox.start()
                self.ports["sandbox"] = self.sandbox.ports["sandbox"]
            app = build_app(platform)
            app[PORTS] = self.ports
            app[VIRTUAL_HOSTS] = self.tls.virtual_hosts
            self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0,
                                         logger=SERVER_LOG)  # HTTP-level 400s: one line, no traceback
            await self._runner.setup()
            site = web.TCPSite(self._runner, s.host, chosen["https"], ssl_context=self.tls.stable_context())
            await site.start()
            server = cast("asyncio.Server | None", site._server)  # aiohttp types it as AbstractServer
            self.ports["https"] = server.sockets[0].getsockname()[1] if server is not None else chosen["https"]
        except BaseException:
            await self.stop()
            raise
        platform.set_base_url(f"https://{'localhost' if s.host in ('127.0.0.1', '0.0.0.0') else s.host}:"
                              f"{self.ports['https']}")
        self.sealed_passwords = SealedPasswords(platform.accounts, platform.store, platform.events)
        self.sealed_passwords.start()  # also resumes passwords left sealed by a killed process
        platform.events.emit("started", "local platform started: " + ", ".join(f"{k}={v}" for k, v in
                                                                               self.ports.items()))
        if s.data_dir is not None:
            self._write_state(s.data_dir)

    def _write_state(self, folder: Path) -> None:
        """`running.json`: how other programs find (and reuse) this running platform; no secrets in it."""
        state = {"pid": os.getpid(), "host": self.settings.host, "ports": self.ports,
                 "server_ca": str(self.server_ca_path), "version": __version__, "started": time.time()}
        write_file(folder / STATE_FILE, json.dumps(state, indent=2).encode())  # 0600, atomic

    def load_server_keystore(self) -> list[VirtualHost]:
        """The entries of `settings.server_keystore` (none without one).

        Raises:
            ConfigError: the key store cannot be read (the message says what to check).
        """
        s = self.settings
        if s.server_keystore is None:
            return []
        return read_server_keystore(s.server_keystore, s.server_keystore_password or b"")

    def _tenant_hosts(self) -> list[VirtualHost]:
        if not self.settings.tenant_domains or self.platform is None:
            return []
        return tenant_domain_hosts(self.platform.store, self.platform.accounts.tenants())

    def _tenant_added(self, event: dict[str, Any]) -> None:
        """A tenant created while running gets its domain's virtual host at once."""
        if event.get("kind") == "tenant_created" and self.tls is not None and self.settings.tenant_domains:
            self.tls.set_extra_hosts(self._tenant_hosts())

    def _sni_chosen(self, server_name: str | None, alias: str, matched: bool) -> None:
        """Log an SNI choice in the event log (once a minute per name); may run on a handshake thread.

        The everyday case, a name of the platform's own certificate (localhost), is not logged.
        """
        if matched and alias == DEFAULT_ALIAS:
            return
        now = time.monotonic()
        key = (server_name or "", alias)
        last = self._sni_logged.get(key)
        if last is not None and now - last < _SNI_LOG_EVERY:
            return
        if len(self._sni_logged) >= _SNI_LOG_NAMES:
            self._sni_logged.clear()
        self._sni_logged[key] = now
        message = f"SNI {server_name} → alias {alias}" + ("" if matched else " (no entry matches; the default)")
        loop, platform = self._loop, self.platform
        if loop is not None and platform is not None:
            try:
                loop.call_soon_threadsafe(lambda: platform.events.emit("sni", message, server_name=server_name,
                                                                       alias=alias, matched=matched))
            except RuntimeError:  # the loop has ended
                pass

    def _refresh_anchors(self, _tenant: str, _fp: str, what: str) -> None:
        if self.tls is not None and self.platform is not None and what in ("uploaded", "deleted"):
            self.tls.set_trust_anchors([self._placeholder, *self.platform.trust.all_anchors()])

    def _broker_event(self, event: BrokerEvent) -> None:
        if event.kind is EventKind.TLS_FAILED and self.platform is not None:
            self.platform.events.emit("tls_failed", f"MQTT TLS handshake from {event.peer} failed: {event.reason}",
                                      peer=event.peer, alert=event.detail.get("alert"))

    async def stop(self) -> None:
        """Close REST, then the brokers, then the store."""
        if self.platform is not None:
            self.platform.events.close()
        if self.sealed_passwords is not None:
            await self.sealed_passwords.stop()
            self.sealed_passwords = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for broker in (self.sandbox, self.broker):
            if broker is not None:
                await broker.stop()
        self.sandbox = self.broker = None
        if self.platform is not None:
            self.platform.store.close()
            self.platform = None
        if self.settings.data_dir is not None:
            state = self.settings.data_dir / STATE_FILE
            try:
                if json.loads(state.read_text()).get("pid") == os.getpid():
                    state.unlink()
            except (OSError, ValueError):
                pass
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    def summary(self) -> list[str]:
        """What a person needs to connect: ports, the CA file for truststores, and new admin credentials."""
        lines = [f"local platform ports: {' '.join(f'{k}={v}' for k, v in self.ports.items())}",
                 f"server CA (add it to truststores): {self.server_ca_path}"]
        if self.admin_password is not None and self.settings.admin_password is None:  # never echo a given one
            lines.append(f"admin credentials (shown once): tenant t100, user admin, password {self.admin_password}")
        lines += self.settings.notices
        return lines


class BackgroundLocalPlatform:
    """A LocalPlatform on its own loop in a daemon thread; `call(fn)` runs code on that loop."""

    def __init__(self, settings: PlatformSettings | None = None) -> None:
        self.settings = settings or PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0)
        self.local: LocalPlatform | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> BackgroundLocalPlatform:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 30.0) -> BackgroundLocalPlatform:
        """Start and wait until every listener is bound; raises the start error, if any."""
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="local-platform", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise BrokerError("the local platform did not start in time")
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            async with LocalPlatform(self.settings) as local:
                self.local = local
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    @property
    def ports(self) -> dict[str, int]:
        """Bound ports by name: mqtt, mqtts, https (and sandbox)."""
        assert self.local is not None
        return self.local.ports

    @property
    def platform(self) -> Platform:
        """The platform object (call its methods through `call`, on the platform's loop)."""
        assert self.local is not None and self.local.platform is not None
        return self.local.platform

    def call(self, func: Callable[..., T], *args: Any, timeout: float = 10.0, **kwargs: Any) -> T:
        """Run `func` on the platform's loop and return its result."""
        assert self._loop is not None
        return call_on_loop(self._loop, func, *args, timeout=timeout, **kwargs)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop gracefully and join the thread."""
        if self._thread is not None:
            stop_loop_thread(self._loop, self._stop, self._thread, timeout)
            self._thread = None
