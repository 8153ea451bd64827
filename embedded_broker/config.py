"""Broker configuration as frozen, validated values; every problem is reported at once in one ConfigError."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from embedded_broker.errors import ConfigError
from embedded_broker.mqtt.limits import Limits


@dataclass(frozen=True)
class ListenerConfig:
    """One listening socket. `tls` is a live `embedded_broker.tls.TlsManager` for TLS listeners, else None."""

    name: str = "mqtt"
    host: str = "127.0.0.1"
    port: int = 0
    tls: Any = None

    def problems(self) -> list[str]:
        """Every invalid value of this listener."""
        found = []
        if not self.name:
            found.append("a listener needs a name")
        if not 0 <= self.port <= 65535:
            found.append(f"listener {self.name!r}: port must be 0..65535, got {self.port}")
        if not self.host:
            found.append(f"listener {self.name!r}: host must not be empty")
        return found


@dataclass(frozen=True)
class BrokerConfig:
    """Everything a Broker needs; `Broker(config)` never reads files or the environment itself."""

    listeners: tuple[ListenerConfig, ...] = (ListenerConfig(),)
    limits: Limits = field(default_factory=Limits)
    sys_interval: float = 10.0
    """Seconds between `$SYS/broker/...` updates (0 disables them)."""
    server_keep_alive: int | None = None
    """If set, v5 clients are told to use this keep alive (Server Keep Alive) instead of their own."""

    def __post_init__(self) -> None:
        found: list[str] = []
        names = [listener.name for listener in self.listeners]
        if not self.listeners:
            found.append("at least one listener is needed")
        for name in sorted({n for n in names if names.count(n) > 1}):
            found.append(f"listener name {name!r} is used more than once")
        for listener in self.listeners:
            found.extend(listener.problems())
        found.extend(self.limits.problems())
        if self.sys_interval < 0:
            found.append(f"sys_interval must be >= 0, got {self.sys_interval}")
        if self.server_keep_alive is not None and not 0 <= self.server_keep_alive <= 65535:
            found.append(f"server_keep_alive must be 0..65535, got {self.server_keep_alive}")
        if found:
            raise ConfigError("invalid broker configuration: " + "; ".join(found))

    @classmethod
    def sandbox(cls, port: int = 1883, host: str = "127.0.0.1", tls: Any = None, tls_port: int | None = None,
                **options: Any) -> BrokerConfig:
        """A plain standards broker: listener "mqtt" on `port`, plus "mqtts" when a TLS manager is given."""
        listeners = [ListenerConfig("mqtt", host, port)]
        if tls is not None:
            listeners.append(ListenerConfig("mqtts", host, 8883 if tls_port is None else tls_port, tls))
        return cls(listeners=tuple(listeners), **options)

    @classmethod
    def from_toml(cls, path: str | Path) -> BrokerConfig:
        """Read a TOML file with top-level options, a `[limits]` table and `[[listeners]]` (plain TCP only)."""
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read broker configuration {path}: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BrokerConfig:
        """Build from plain data (as parsed from TOML), naming every unknown key."""
        problems: list[str] = []
        limit_names = {f.name for f in fields(Limits)}
        limits_data = data.get("limits", {})
        problems += [f"unknown limit {k!r}" for k in limits_data if k not in limit_names]
        listener_names = {f.name for f in fields(ListenerConfig)} - {"tls"}
        listeners = []
        for entry in data.get("listeners", [{}]):
            problems += [f"unknown listener option {k!r}" for k in entry if k not in listener_names]
            listeners.append(ListenerConfig(**{k: v for k, v in entry.items() if k in listener_names}))
        top = {"sys_interval", "server_keep_alive"}
        problems += [f"unknown option {k!r}" for k in data if k not in top | {"limits", "listeners"}]
        if problems:
            raise ConfigError("invalid broker configuration: " + "; ".join(problems))
        try:
            limits = Limits(**{k: v for k, v in limits_data.items() if k in limit_names})
        except TypeError as exc:
            raise ConfigError(f"invalid broker configuration: {exc}") from exc
        return cls(listeners=tuple(listeners), limits=limits, **{k: v for k, v in data.items() if k in top})
