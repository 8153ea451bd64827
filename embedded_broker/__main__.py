"""`embedded-broker` / `python -m embedded_broker`: run the broker headless; prints its ports on one line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import signal
import sys
from typing import Any

from embedded_broker.config import BrokerConfig, ListenerConfig
from embedded_broker.errors import BrokerError
from embedded_broker.mqtt.limits import Limits


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; later issues add their platform options to it (kept as a separate function for that)."""
    parser = argparse.ArgumentParser(prog="embedded-broker", description="Local MQTT broker (and platform).")
    parser.add_argument("--sandbox", action="store_true", help="run a plain standards MQTT broker (no platform)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=1883, help="plain MQTT port (0 = any free port)")
    parser.add_argument("--tls-port", type=int, default=None, help="MQTT over TLS port (needs --cert and --key)")
    parser.add_argument("--cert", help="server certificate chain (PEM) for the TLS listener")
    parser.add_argument("--key", help="server private key (PEM) for the TLS listener")
    parser.add_argument("--client-ca", help="PEM trust anchors for client certificates (enables client auth)")
    parser.add_argument("--client-cert", choices=("none", "optional", "required"), default=None,
                        help="client certificate mode on the TLS listener")
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


def _tls_manager(args: argparse.Namespace) -> object:
    if not (args.cert and args.key):
        raise BrokerError("--tls-port needs --cert and --key")
    from embedded_broker.tls import TlsManager  # built by the TLS work; its constructor is the contract

    with open(args.cert, "rb") as cert, open(args.key, "rb") as key:
        manager = TlsManager(cert.read(), key.read())  # type: ignore[call-arg]
    if args.client_ca:
        with open(args.client_ca, "rb") as anchors:
            manager.add_trust_anchors(anchors.read())  # type: ignore[attr-defined]
    if args.client_cert:
        manager.set_client_cert_mode(args.client_cert)  # type: ignore[attr-defined]
    return manager


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


def main(argv: list[str] | None = None) -> int:
    """Entry point of `embedded-broker`."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.sandbox:
        print("embedded-broker: only --sandbox is available so far (the platform lands with a later issue).",
              file=sys.stderr)
        return 2
    try:
        config = sandbox_config(args)
        asyncio.run(run_broker(config, sandbox_extension(args)))
    except BrokerError as exc:
        print(f"embedded-broker: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
