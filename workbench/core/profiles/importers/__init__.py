"""Importers for other MQTT clients' profile files (MQTT.fx 1.x, MQTTX) and our own export format."""

from __future__ import annotations

import json

from ..report import ImportResult
from ..transfer import import_workbench_export, is_workbench_export
from .mqttfx import MQTTFX5_MESSAGE, import_mqttfx
from .mqttx import import_mqttx

__all__ = ["MQTTFX5_MESSAGE", "import_any", "import_mqttfx", "import_mqttx", "import_workbench_export"]


def import_any(raw: bytes, source: str) -> ImportResult:
    """Pick the importer from the bytes, never the file name: XML is MQTT.fx 1.x, our export format names itself,
    and any other JSON is read as an MQTTX export.

    Raises:
        ProfileError: as the chosen importer raises it.
    """
    text = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<") or raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return import_mqttfx(raw, source)
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if is_workbench_export(data):
        return import_workbench_export(raw, source)
    return import_mqttx(raw, source)
