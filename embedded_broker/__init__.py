"""The local platform: an MQTT broker plus a REST API that emulates the cloud platform's server side.

Public API (the only names `workbench` may use) is exported here.
"""

from typing import TYPE_CHECKING

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

# SmartREST 2.0 custom templates as pure data (no store, no sockets): the workbench's template editor, live check
# and CLI call exactly what the local platform does. Public name → (module, name there); loaded on first use.
_SMARTREST2_MODULE = "embedded_broker.platform.smartrest_custom"
_SMARTREST_LINES = "embedded_broker.platform.smartrest"
_SMARTREST2: dict[str, tuple[str, str]] = {
    "TemplateCollection": (_SMARTREST2_MODULE, "Collection"),
    "TemplateAction": (_SMARTREST2_MODULE, "Action"),
    "RequestTemplate": (_SMARTREST2_MODULE, "RequestTemplate"),
    "ResponseTemplate": (_SMARTREST2_MODULE, "ResponseTemplate"),
    "CustomValue": (_SMARTREST2_MODULE, "CustomValue"),
    "TEMPLATE_COLLECTION_TYPE": (_SMARTREST2_MODULE, "COLLECTION_TYPE"),
    "TEMPLATE_FRAGMENT": (_SMARTREST2_MODULE, "FRAGMENT"),
    "TEMPLATE_XID_TYPE": (_SMARTREST2_MODULE, "XID_TYPE"),
    "TEMPLATE_MANDATORY_VALUES": (_SMARTREST2_MODULE, "MANDATORY"),
    "TEMPLATE_VALUE_TYPES": (_SMARTREST2_MODULE, "VALUE_TYPES"),
    "parse_collection": (_SMARTREST2_MODULE, "parse_collection"),
    "template_lines": (_SMARTREST2_MODULE, "template_lines"),
    "collection_fragment": (_SMARTREST2_MODULE, "collection_fragment"),
    "collection_from_fragment": (_SMARTREST2_MODULE, "collection_from_fragment"),
    "match_line": (_SMARTREST2_MODULE, "match_line"),
    "render_responses": (_SMARTREST2_MODULE, "render_responses"),
    "xid_problem": (_SMARTREST2_MODULE, "xid_problem"),
    "json_path": (_SMARTREST2_MODULE, "json_path"),
    "SmartRestError": (_SMARTREST_LINES, "SmartRestError"),
    "SmartRestSyntaxError": (_SMARTREST_LINES, "SmartRestSyntaxError"),
    "parse_smartrest_line": (_SMARTREST_LINES, "parse_line"),
    "encode_smartrest_line": (_SMARTREST_LINES, "encode_line"),
    "iter_smartrest_lines": (_SMARTREST_LINES, "iter_lines"),
}

if TYPE_CHECKING:  # the names above, typed for mypy; at run time they load lazily in __getattr__
    from embedded_broker.platform.smartrest import SmartRestError, SmartRestSyntaxError
    from embedded_broker.platform.smartrest import encode_line as encode_smartrest_line
    from embedded_broker.platform.smartrest import iter_lines as iter_smartrest_lines
    from embedded_broker.platform.smartrest import parse_line as parse_smartrest_line
    from embedded_broker.platform.smartrest_custom import COLLECTION_TYPE as TEMPLATE_COLLECTION_TYPE
    from embedded_broker.platform.smartrest_custom import FRAGMENT as TEMPLATE_FRAGMENT
    from embedded_broker.platform.smartrest_custom import MANDATORY as TEMPLATE_MANDATORY_VALUES
    from embedded_broker.platform.smartrest_custom import VALUE_TYPES as TEMPLATE_VALUE_TYPES
    from embedded_broker.platform.smartrest_custom import XID_TYPE as TEMPLATE_XID_TYPE
    from embedded_broker.platform.smartrest_custom import Action as TemplateAction
    from embedded_broker.platform.smartrest_custom import Collection as TemplateCollection
    from embedded_broker.platform.smartrest_custom import (
        CustomValue,
        RequestTemplate,
        ResponseTemplate,
        collection_fragment,
        collection_from_fragment,
        json_path,
        match_line,
        parse_collection,
        render_responses,
        template_lines,
        xid_problem,
    )


def __getattr__(name: str) -> object:
    """The local platform (aiohttp, PyJWT) loads only when asked for, so importing the broker stays light."""
    if name in _LAZY or name in _SMARTREST2:  # imported by name: the MQTT engine's graph stays free of the platform
        import importlib

        if name in _LAZY:
            return getattr(importlib.import_module("embedded_broker.local_platform"), name)
        module, attribute = _SMARTREST2[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'embedded_broker' has no attribute {name!r}")


__all__ = [
    "STATE_FILE",
    "TEMPLATE_COLLECTION_TYPE",
    "TEMPLATE_FRAGMENT",
    "TEMPLATE_MANDATORY_VALUES",
    "TEMPLATE_VALUE_TYPES",
    "TEMPLATE_XID_TYPE",
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
    "CustomValue",
    "EventKind",
    "Limits",
    "ListenerConfig",
    "LocalPlatform",
    "PlatformSettings",
    "ProtocolError",
    "RequestTemplate",
    "ResponseTemplate",
    "SmartRestError",
    "SmartRestSyntaxError",
    "TemplateAction",
    "TemplateCollection",
    "TlsPeer",
    "__version__",
    "collection_fragment",
    "collection_from_fragment",
    "encode_smartrest_line",
    "iter_smartrest_lines",
    "json_path",
    "match_line",
    "parse_collection",
    "parse_smartrest_line",
    "render_responses",
    "template_lines",
    "xid_problem",
]
