"""Operations as SmartREST downstream lines on `s/ds` (docs/platform-reference.md A14: 510–530), by their fragments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from embedded_broker.platform.smartrest import encode_line


def _get(body: dict[str, Any], *keys: str) -> str:
    value: Any = body
    for key in keys:
        value = value.get(key, "") if isinstance(value, dict) else ""
    return "" if value is None else str(value)


_LINES: dict[str, Callable[[dict[str, Any], str], list[str]]] = {
    "c8y_Restart": lambda op, s: ["510", s],
    "c8y_Command": lambda op, s: ["511", s, _get(op, "c8y_Command", "text")],
    "c8y_Configuration": lambda op, s: ["513", s, _get(op, "c8y_Configuration", "config")],
    "c8y_Firmware": lambda op, s: ["515", s, _get(op, "c8y_Firmware", "name"), _get(op, "c8y_Firmware", "version"),
                                   _get(op, "c8y_Firmware", "url")],
    "c8y_SoftwareList": lambda op, s: ["516", s] + [
        x for item in (op.get("c8y_SoftwareList") or []) if isinstance(item, dict)
        for x in (str(item.get("name", "")), str(item.get("version", "")), str(item.get("url", "")))],
    "c8y_MeasurementRequestOperation": lambda op, s: ["517", s, _get(op, "c8y_MeasurementRequestOperation",
                                                                      "requestName")],
    "c8y_Relay": lambda op, s: ["518", s, _get(op, "c8y_Relay", "relayState")],
    "c8y_RelayArray": lambda op, s: ["519", s] + [str(x) for x in (op.get("c8y_RelayArray") or [])],
    "c8y_SendConfiguration": lambda op, s: ["520", s],
    "c8y_DownloadConfigFile": lambda op, s: ["521", s, _get(op, "c8y_DownloadConfigFile", "url")],
    "c8y_LogfileRequest": lambda op, s: ["522", s, _get(op, "c8y_LogfileRequest", "logFile"),
                                         _get(op, "c8y_LogfileRequest", "dateFrom"),
                                         _get(op, "c8y_LogfileRequest", "dateTo"),
                                         _get(op, "c8y_LogfileRequest", "searchText"),
                                         _get(op, "c8y_LogfileRequest", "maximumLines")],
    "c8y_RemoteAccessConnect": lambda op, s: ["530", s, _get(op, "c8y_RemoteAccessConnect", "hostname"),
                                              _get(op, "c8y_RemoteAccessConnect", "port"),
                                              _get(op, "c8y_RemoteAccessConnect", "connectionKey")],
}


def operation_lines(operation: dict[str, Any], serial: str) -> list[str]:
    """The `s/ds` lines for an operation's known fragments (others travel only as JSON notifications)."""
    return [encode_line(build(operation, serial)) for fragment, build in _LINES.items() if fragment in operation]
