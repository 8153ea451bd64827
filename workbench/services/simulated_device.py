"""A simulated device for demos: the onboarded device keeps its connection, sends a temperature every second and
renews its token at half-life, so a customer sees live data and a token countdown without any hardware."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable
from typing import Any

from workbench.core.platform_client.tokens import DeviceToken
from workbench.errors import WorkbenchError
from workbench.services.token_flow import DeviceConnection

MEASUREMENT = "200,c8y_Temperature,T,{value},C"


def temperature(seconds: float, rng: random.Random) -> float:
    """A plausible room temperature: a slow wave around 21.5 °C with a little noise (one decimal, as devices send)."""
    return round(21.5 + 1.5 * math.sin(seconds / 15.0) + rng.uniform(-0.2, 0.2), 1)


class SimulatedDevice:
    """Runs on the asyncio loop; paho's blocking calls go to a worker thread so the GUI never waits."""

    def __init__(self, connection: DeviceConnection, token: DeviceToken, *, interval: float = 1.0,
                 jwks: dict[str, Any] | None = None, clock: Callable[[], float] = time.time,
                 seed: int | None = None) -> None:
        self.connection = connection
        self.token = token
        self.interval = interval
        self.jwks = jwks
        self.clock = clock
        self.sent = 0
        self._rng = random.Random(seed)
        self._started = clock()
        self._task: asyncio.Task[None] | None = None

    def start(self, on_value: Callable[[float, float], None], on_token: Callable[[DeviceToken], None],
              on_error: Callable[[WorkbenchError], None]) -> asyncio.Task[None]:
        """Send until stopped; each value and each renewed token is reported, a failure ends the run."""
        self._task = asyncio.get_event_loop().create_task(self._run(on_value, on_token, on_error))
        return self._task

    async def _run(self, on_value: Callable[[float, float], None], on_token: Callable[[DeviceToken], None],
                   on_error: Callable[[WorkbenchError], None]) -> None:
        try:
            while True:
                now = self.clock()
                value = temperature(now - self._started, self._rng)
                await asyncio.to_thread(self.connection.publish, "s/us", MEASUREMENT.format(value=value))
                self.sent += 1
                on_value(now - self._started, value)
                refresh = self.token.refresh_at
                if refresh is not None and now >= refresh.timestamp():
                    result = await asyncio.to_thread(self.connection.request_token, self.jwks)
                    self.token = result.token
                    on_token(self.token)
                await asyncio.sleep(self.interval)
        except WorkbenchError as exc:
            on_error(exc)

    async def stop(self) -> None:
        """Stop sending and disconnect the device."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await asyncio.to_thread(self.connection.close)
