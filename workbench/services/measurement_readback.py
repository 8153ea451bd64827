"""Read a device's first measurement back over REST, until it appears or a deadline passes.

Why: every onboarding path ends the same way (the device publishes a temperature on MQTT, the workbench finds it over
REST); only the login of the REST calls differs (the device token, or a password device's Basic login), so the
caller passes how one call is sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from workbench.core.platform_client import requests as api
from workbench.errors import PlatformRequestError
from workbench.services.token_flow import DeviceConnection

WAIT = 10.0  # seconds for the measurement to appear over REST
POLL = 0.2


async def read_back_measurement(fetch: Callable[[api.ApiRequest], Awaitable[Any]], device_id: str, value: float,
                                connection: DeviceConnection) -> tuple[str, str]:
    """Ask until the device's `c8y_Temperature` of `value` is stored; returns (measurement id, device object id).

    Raises:
        PlatformRequestError: it did not appear within `WAIT` seconds (with the connection's errors as causes).
    """
    deadline = time.monotonic() + WAIT
    while True:
        try:
            external = await fetch(api.external_id("c8y_Serial", device_id))
            source = str(external["managedObject"]["id"])
            found = await fetch(api.measurements(source, 5))
            for item in found.get("measurements", []):
                if item.get("c8y_Temperature", {}).get("T", {}).get("value") == value:
                    return str(item["id"]), source
        except PlatformRequestError:
            pass  # the device object appears with the first data; keep asking until the deadline
        if time.monotonic() > deadline:
            raise PlatformRequestError(f"the measurement did not appear over REST within {WAIT:.0f} s",
                                       (*[e.describe() for e in connection.errors],
                                        "look at the platform's s/e lines and event log"))
        await asyncio.sleep(POLL)
