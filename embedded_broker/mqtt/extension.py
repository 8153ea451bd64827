"""The one small interface through which the platform plugs into the standards broker.

The engine has no platform rules: it calls these hooks when an extension is installed, and skips
them entirely (no call, no allocation) when none is. Every hook is optional; implement only what you need.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from embedded_broker.mqtt.codec.packets import Connect
from embedded_broker.mqtt.codec.reason_codes import ReasonCode

if TYPE_CHECKING:
    from embedded_broker.tls import TlsPeer


@dataclass(frozen=True, slots=True)
class AuthResult:
    """The answer to one CONNECT: accepted with an identity, or refused with a v5 reason code and a sentence."""

    ok: bool
    reason_code: int = 0
    human_reason: str = ""
    identity: Any = None
    force_clean_start: bool = False
    """True makes the session clean whatever the client asked (a platform that cannot keep sessions)."""
    session_key: str | None = None
    """The key the engine files the session under; None means the client id (plain MQTT).

    Two accepted clients with the same key share one session (the newer takes over); clients with different keys
    never touch each other's session, even with equal client ids. An extension that serves several namespaces
    (tenants, identities) puts the namespace into the key, so the engine needs no notion of it.
    """

    @classmethod
    def accept(cls, identity: Any = None) -> AuthResult:
        """Accept the client, remembering `identity` for later authorisation."""
        return cls(True, 0, "", identity)

    @classmethod
    def refuse(cls, reason_code: int = ReasonCode.NOT_AUTHORIZED, human_reason: str = "not authorized") -> AuthResult:
        """Refuse the client; the CONNACK carries `reason_code` (translated for v3 in the codec's table)."""
        return cls(False, reason_code, human_reason, None)


class Action(enum.Enum):
    """What a client tries to do to a topic, for `authorize`."""

    PUBLISH = "publish"
    SUBSCRIBE = "subscribe"


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """A connected client as the extension and event listeners see it (read-only, built once per connection)."""

    client_id: str
    identity: Any
    tls_peer: TlsPeer | None
    listener: str
    protocol_version: int
    username: str | None
    peer: str
    session_key: str = ""
    """The key of the client's session (see `AuthResult.session_key`); `send_to_client` and `release_delivery`
    take it."""


class BrokerExtension(Protocol):
    """Hooks the platform may implement; the engine looks each one up once when the extension is installed.

    - ``authenticate`` is awaited on EVERY CONNECT, with the current connection's TLS state only.
    - ``authorize`` returns 0 to allow, or a v5 reason code (e.g. 0x87) to refuse.
    - ``on_publish`` sees every PUBLISH before routing; returning True consumes it (it is not routed).
      It may return an awaitable of bool.
    - ``hold_delivery`` is asked once per connect; True holds all deliveries to that client in its
      session queue until `Broker.release_delivery(session_key)`.
    - ``on_subscribe`` sees granted subscriptions (for reserved topics); ``on_connected`` /
      ``on_disconnected`` see the lifecycle.
    """

    async def authenticate(self, connect: Connect, tls_peer: TlsPeer | None, listener: str) -> AuthResult:
        """Decide whether this CONNECT is accepted and who the client is."""
        ...

    def authorize(self, identity: Any, action: Action, topic: str) -> int:
        """0 if `identity` may do `action` on `topic`, else a v5 reason code."""
        ...

    def on_publish(self, client: ClientInfo, topic: str, payload: bytes, qos: int,
                   properties: dict[str, Any]) -> bool | Awaitable[bool]:
        """Inspect a PUBLISH; True consumes it (reserved topics)."""
        ...

    def on_subscribe(self, client: ClientInfo, topic_filter: str, granted_qos: int) -> None:
        """A subscription was granted."""
        ...

    def hold_delivery(self, client: ClientInfo) -> bool:
        """True to hold deliveries to this client until the platform releases them."""
        ...

    def on_connected(self, client: ClientInfo) -> None:
        """The client got a successful CONNACK."""
        ...

    def on_disconnected(self, client: ClientInfo, reason_code: int, reason: str) -> None:
        """The client's connection ended."""
        ...


class Hooks:
    """The installed extension's hooks resolved once to bound methods or None (so the hot path tests `is None`)."""

    __slots__ = ("authenticate", "authorize", "hold_delivery", "on_connected", "on_disconnected", "on_publish",
                 "on_subscribe")
    # Declared for the type checker (set in __init__): each is the extension's bound method or None.
    authenticate: Callable[..., Any] | None
    authorize: Callable[..., Any] | None
    hold_delivery: Callable[..., Any] | None
    on_connected: Callable[..., Any] | None
    on_disconnected: Callable[..., Any] | None
    on_publish: Callable[..., Any] | None
    on_subscribe: Callable[..., Any] | None

    def __init__(self, extension: object | None = None) -> None:
        for name in self.__slots__:
            hook = getattr(extension, name, None) if extension is not None else None
            # A class that subclasses the Protocol inherits its `...` stubs: those count as "not implemented".
            if hook is not None and getattr(type(extension), name, None) is getattr(BrokerExtension, name, None):
                hook = None
            setattr(self, name, hook)
