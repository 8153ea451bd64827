"""The local platform: an MQTT broker plus a REST API that emulates the cloud platform's server side.

Public API (the only names `workbench` may use) is exported here.
"""

__version__ = "0.1.0"

# __version__ must exist before these imports: server.py reads it.
from embedded_broker.config import BrokerConfig, ListenerConfig
from embedded_broker.errors import AuthError, BrokerError, ConfigError, ProtocolError
from embedded_broker.events import BrokerEvent, EventKind
from embedded_broker.mqtt.extension import Action, AuthResult, BrokerExtension, ClientInfo
from embedded_broker.mqtt.limits import Limits
from embedded_broker.server import BackgroundBroker, Broker
from embedded_broker.tls import TlsPeer

_LAZY = {"LocalPlatform", "BackgroundLocalPlatform", "PlatformSettings", "STATE_FILE"}


def __getattr__(name: str) -> object:
    """The local platform (aiohttp, PyJWT) loads only when asked for, so importing the broker stays light."""
    if name in _LAZY:  # imported by name, so the MQTT engine's import graph stays free of the platform
        import importlib

        return getattr(importlib.import_module("embedded_broker.local_platform"), name)
    raise AttributeError(f"module 'embedded_broker' has no attribute {name!r}")


__all__ = [
    "STATE_FILE",
    "Action",
    "AuthError",
    "AuthResult",
    "BackgroundBroker",
    "BackgroundLocalPlatform",
    "Broker",
    "BrokerConfig",
    "BrokerError",
    "BrokerEvent",
    "BrokerExtension",
    "ClientInfo",
    "ConfigError",
    "EventKind",
    "Limits",
    "ListenerConfig",
    "LocalPlatform",
    "PlatformSettings",
    "ProtocolError",
    "TlsPeer",
    "__version__",
]
