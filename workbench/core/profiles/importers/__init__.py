"""Importers for other MQTT clients' profile files (MQTT.fx 1.x, MQTTX) and our own export format."""

from __future__ import annotations

from ..transfer import import_workbench_export
from .mqttfx import MQTTFX5_MESSAGE, import_mqttfx
from .mqttx import import_mqttx

__all__ = ["MQTTFX5_MESSAGE", "import_mqttfx", "import_mqttx", "import_workbench_export"]
