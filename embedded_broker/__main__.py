"""`embedded-broker` / `python -m embedded_broker`: run the broker headless; prints its ports on one line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

from embedded_broker.config import BrokerConfig, ListenerConfig
from embedded_broker.errors import BrokerError
from embedded_broker.mqtt.limits import Limits


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; later issues add their platform options to it (kept as a separate function for that)."""
    parser = argparse.ArgumentParser(
        prog="embedded-broker", description="The local platform: MQTT (1883), MQTT over mutual TLS (8883) and HTTPS "
        "REST (8443) emulating the cloud's device-certificate onboarding. With --sandbox: a plain MQTT broker.")
    parser.add_argument("--sandbox", action="store_true", help="run only a plain standards MQTT broker (no platform)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    platform = parser.add_argument_group("local platform")
    platform.add_argument("--data-dir", type=Path, default=None,
                          help="where the platform keeps its data (default: the workbench data folder)")
    platform.add_argument("--ephemeral", action="store_true", help="keep everything in memory (nothing is saved)")
    platform.add_argument("--mqtt-port", type=int, default=1883, help="plain MQTT with user and password")
    platform.add_argument("--mqtts-port", type=int, default=8883, help="MQTT over TLS, client certificate optional")
    platform.add_argument("--https-port", type=int, default=8443, help="HTTPS REST, client certificate optional")
    platform.add_argument("--sandbox-port", type=int, default=None,
                          help="also run a standards MQTT 3.1.1/5 listener without platform rules on this port")
    platform.add_argument("--max-chain", type=int, default=10, help="longest device chain accepted (default 10)")
    platform.add_argument("--strict-chain", action="store_true",
                          help="require the device to send the trusted CA itself in its chain (the old rule)")
    platform.add_argument("--create-tenant", metavar="ID", help="create another tenant (e.g. t200), print its admin "
                          "password and exit")
    platform.add_argument("--reset", action="store_true", help="delete the platform's data folder first")
    platform.add_argument("--print-ca-path", action="store_true",
                          help="print the path of the server CA file (server-ca.pem, for --cacert/--cafile) and exit")
    platform.add_argument("--reset-admin-password", action="store_true",
                          help="set the t100 admin password to EMBEDDED_BROKER_ADMIN_PASSWORD (for whoever owns the "
                               "data folder, e.g. after the password was lost)")
    parser.epilog = ("On the first start the admin password is generated and printed, unless the environment "
                     "variable EMBEDDED_BROKER_ADMIN_PASSWORD gives one (the workbench keeps it in the OS keyring).")
    sandbox = parser.add_argument_group("sandbox broker (--sandbox)")
    sandbox.add_argument("--port", type=int, default=1883, help="plain MQTT port (0 = any free port)")
    sandbox.add_argument("--tls-port", type=int, default=None, help="MQTT over TLS port (needs --cert and --key)")
    parser.add_argument("--cert", help="server certificate chain (PEM) for the TLS listener")
    parser.add_argument("--key", help="server private key (PEM) for the TLS listener")
    parser.add_argument("--client-ca", help="PEM trust anchors for client certificates (enables client auth)")
    parser.add_argument("--client-cert", choices=("none", "optional", "required"), default=None,
                        help="client certificate mode on the TLS listener")
    vhosts = parser.add_argument_group("SNI virtual hosts (every TLS listener: 8883, 8443, the sandbox's --tls-port)")
    vhosts.add_argument("--server-keystore", type=Path, metavar="FILE",
                        help="JKS or PKCS#12 key store with one key entry per virtual host; the server certificate "
                             "is chosen by the name the client sends (SNI) against each certificate's SAN DNS names")
    vhosts.add_argument("--server-keystore-password-env", metavar="VAR",
                        help="environment variable holding the key store password")
    vhosts.add_argument("--server-keystore-password-file", type=Path, metavar="FILE",
                        help="file holding the key store password (first line)")
    vhosts.add_argument("--default-server-alias", metavar="ALIAS",
                        help="the entry served to names no entry matches (default: the key store's first entry)")
    parser.add_argument("--config", help="TOML configuration file (replaces --port/--host)")
    parser.add_argument("--sys-interval", type=float, default=None, help="seconds between $SYS updates")
    parser.add_argument("--max-keepalive", type=int, default=None,
                        help="largest keep alive accepted; v5 clients asking more get it as Server Keep Alive")
    parser.add_argument("--deny-subscribe", action="append", default=[], metavar="FILTER",
                        help="refuse subscriptions matching FILTER (repeatable; 0x80 for v3, 0x87 for v5)")
    parser.add_argument("--deny-publish", action="append", default=[], metavar="FILTER",
                        help="refuse publications on topics matching FILTER (repeatable)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log connections and refusals")
    return parser


def sandbox_config(args: argparse.Namespace) -> BrokerConfig:
    """The BrokerConfig of the sandbox command line."""
    options: dict[str, Any] = {} if args.sys_interval is None else {"sys_interval": args.sys_interval}
    if args.max_keepalive is not None:
        options["limits"] = Limits(max_keepalive=args.max_keepalive)
    if args.config:
        base = BrokerConfig.from_toml(args.config)
        limits = base.limits
        if args.max_keepalive is not None:
            limits = dataclasses.replace(limits, max_keepalive=args.max_keepalive)
        return BrokerConfig(listeners=base.listeners, limits=limits,
                            sys_interval=options.get("sys_interval", base.sys_interval),
                            server_keep_alive=base.server_keep_alive)
    listeners = [ListenerConfig("mqtt", args.host, args.port)]
    if args.tls_port is not None:
        listeners.append(ListenerConfig("mqtts", args.host, args.tls_port, _tls_manager(args)))
    return BrokerConfig(listeners=tuple(listeners), **options)


class UsageError(BrokerError):
    """A command-line mistake (exit 2)."""


def keystore_password(args: argparse.Namespace) -> bytes | None:
    """The server key store's password from --server-keystore-password-env/-file (never from argv).

    Raises:
        UsageError: a key store without a password source, an unset variable or an unreadable file.
    """
    if args.server_keystore is None:
        if args.server_keystore_password_env or args.server_keystore_password_file or args.default_server_alias:
            raise UsageError("--server-keystore-password-env/-file and --default-server-alias need --server-keystore")
        return None
    if bool(args.server_keystore_password_env) == bool(args.server_keystore_password_file):
        raise UsageError("--server-keystore needs its password from exactly one of --server-keystore-password-env "
                         "VAR or --server-keystore-password-file FILE")
    if args.server_keystore_password_env:
        value = os.environ.get(args.server_keystore_password_env)
        if value is None:
            raise UsageError(f"the environment variable {args.server_keystore_password_env} (the key store "
                             "password) is not set")
        return value.encode()
    try:
        lines = args.server_keystore_password_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the key store password file {args.server_keystore_password_file}: "
                         f"{getattr(exc, 'strerror', None) or exc}") from exc
    return (lines[0] if lines else "").encode()


def _tls_manager(args: argparse.Namespace) -> object:
    from embedded_broker.tls import TlsManager  # built by the TLS work; its constructor is the contract

    password = keystore_password(args)
    if args.server_keystore is not None:
        if args.cert or args.key:
            raise UsageError("give either --server-keystore or --cert and --key, not both")
        from embedded_broker.server_keystore import read_server_keystore

        manager = TlsManager(server_hosts=read_server_keystore(args.server_keystore, password or b""),
                             default_alias=args.default_server_alias)
        manager.on_choice = _log_sni
    else:
        if not (args.cert and args.key):
            raise UsageError("--tls-port needs --cert and --key, or --server-keystore")
        with open(args.cert, "rb") as cert, open(args.key, "rb") as key:
            manager = TlsManager(cert.read(), key.read())
    if args.client_ca:
        with open(args.client_ca, "rb") as anchors:
            manager.add_trust_anchors(anchors.read())
    if args.client_cert:
        manager.set_client_cert_mode(args.client_cert)
    return manager


def _log_sni(server_name: str | None, alias: str, matched: bool) -> None:
    """The sandbox has no event log: its SNI choices go to the broker log (-v shows them)."""
    logging.getLogger("embedded_broker.tls").info("SNI %s → alias %s%s", server_name, alias,
                                                  "" if matched else " (no entry matches; the default)")


def sandbox_extension(args: argparse.Namespace) -> object | None:
    """The sandbox's only policy: an optional topic deny list."""
    if not (args.deny_subscribe or args.deny_publish):
        return None
    from embedded_broker.mqtt.acl import TopicAcl

    return TopicAcl(args.deny_subscribe, args.deny_publish)


async def run_broker(config: BrokerConfig, extension: object | None = None) -> None:
    """Run until SIGINT/SIGTERM, then stop gracefully."""
    from embedded_broker.server import Broker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with Broker(config, extension) as broker:
        print("embedded-broker ports: " + " ".join(f"{n}={p}" for n, p in broker.ports.items()), flush=True)
        await stop.wait()


def default_data_dir() -> Path:
    """The workbench's data folder (same rule as the app, without importing it) plus `local-platform`."""
    override = os.environ.get("WORKBENCH_DATA_DIR")
    if override:
        return Path(override) / "local-platform"
    import platformdirs

    return Path(platformdirs.user_data_dir("DeviceOnboardingWorkbench", "Workbench")) / "local-platform"


def platform_settings(args: argparse.Namespace) -> Any:
    """The PlatformSettings of the command line."""
    from embedded_broker.local_platform import PlatformSettings

    return PlatformSettings(data_dir=None if args.ephemeral else (args.data_dir or default_data_dir()),
                            host=args.host, mqtt_port=args.mqtt_port, mqtts_port=args.mqtts_port,
                            https_port=args.https_port, sandbox_port=args.sandbox_port, max_chain=args.max_chain,
                            strict_anchor_in_chain=args.strict_chain,
                            admin_password=os.environ.get("EMBEDDED_BROKER_ADMIN_PASSWORD") or None,
                            reset_admin_password=args.reset_admin_password,
                            sys_interval=10.0 if args.sys_interval is None else args.sys_interval,
                            server_keystore=args.server_keystore, server_keystore_password=keystore_password(args),
                            default_server_alias=args.default_server_alias)


async def run_platform(settings: Any) -> None:
    """Run the local platform until SIGINT/SIGTERM; prints ports, the CA file and new credentials first."""
    from embedded_broker.local_platform import LocalPlatform

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with LocalPlatform(settings) as local:
        print("embedded-broker ports: " + " ".join(f"{n}={p}" for n, p in local.ports.items()), flush=True)
        for line in local.summary()[1:]:
            print(line, flush=True)
        if settings.data_dir is not None:
            print(f"data folder: {settings.data_dir}", flush=True)
        await stop.wait()


def _create_tenant(settings: Any, tenant: str) -> int:
    from embedded_broker.platform.core import Platform
    from embedded_broker.platform.errors import PlatformError
    from embedded_broker.private_files import private_folder
    from embedded_broker.store import Store

    for warning in private_folder(settings.data_dir, public=("server-ca.pem",)):
        print(f"embedded-broker: {warning}", file=sys.stderr)
    store = Store(settings.data_dir / "platform.db")
    try:
        platform = Platform(store)
        platform.bootstrap()
        password = platform.accounts.create_tenant(tenant)
    except PlatformError as exc:
        print(f"embedded-broker: {exc.message}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"tenant {tenant} created: user admin, password {password}")
    return 0


def _print_ca_path(args: argparse.Namespace) -> int:
    """`--print-ca-path`: the server CA of the data folder, for `curl --cacert "$(embedded-broker --print-ca-path)"`."""
    if args.ephemeral:
        raise UsageError("--print-ca-path reads the data folder: an --ephemeral platform keeps its CA in memory (it "
                         "prints the CA file's path when it starts)")
    from embedded_broker.local_platform import SERVER_CA_FILE

    path = (args.data_dir or default_data_dir()) / SERVER_CA_FILE
    if not path.is_file():
        print(f"embedded-broker: no server CA in {path.parent} yet: it is made on the platform's first start "
              "(run `embedded-broker`, or start the workbench)", file=sys.stderr)
        return 1
    print(path.resolve())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of `embedded-broker`."""
    os.umask(0o077)  # before anything is opened: whatever this process writes is the owner's only (keys, DB, WAL)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.reset_admin_password and not os.environ.get("EMBEDDED_BROKER_ADMIN_PASSWORD"):
        print("embedded-broker: --reset-admin-password needs the new password in EMBEDDED_BROKER_ADMIN_PASSWORD",
              file=sys.stderr)
        return 2
    try:
        if args.sandbox and args.server_keystore is not None and args.tls_port is None:
            raise UsageError("--server-keystore serves TLS listeners: give the sandbox a --tls-port")
        if args.sandbox:
            asyncio.run(run_broker(sandbox_config(args), sandbox_extension(args)))
            return 0
        if args.print_ca_path:
            return _print_ca_path(args)
        settings = platform_settings(args)
        if args.reset and settings.data_dir is not None and settings.data_dir.exists():
            shutil.rmtree(settings.data_dir)
            print(f"embedded-broker: deleted {settings.data_dir}")
        if args.create_tenant:
            if settings.data_dir is None:
                print("embedded-broker: --create-tenant needs a data folder, not --ephemeral", file=sys.stderr)
                return 2
            return _create_tenant(settings, args.create_tenant)
        asyncio.run(run_platform(settings))
    except UsageError as exc:
        print(f"embedded-broker: {exc}", file=sys.stderr)
        return 2
    except BrokerError as exc:
        print(f"embedded-broker: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0

if __name__ == "__main__":
    sys.exit(main())
