"""The demo's simulated device keeps the onboarded connection, sends a temperature each interval, and renews its
token once the (fake) clock passes half-life; the platform really stores what it sends."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from pathlib import Path

from embedded_broker import BackgroundLocalPlatform
from tests.services.onboarding_support import Clock
from tests.services.onboarding_support import run_onboarding as run
from workbench.core.platform_client.tokens import DeviceToken
from workbench.services.simulated_device import SimulatedDevice, temperature


def test_temperature_is_plausible() -> None:
    rng = random.Random(1)
    values = [temperature(t, rng) for t in range(600)]
    assert all(19.5 < v < 23.5 for v in values) and len(set(values)) > 20
    assert all(round(v, 1) == v for v in values)


def test_sends_and_renews_the_token_at_half_life(platform: BackgroundLocalPlatform, clock: Clock,
                                                 tmp_path: Path) -> None:
    flow, _results = run(platform, tmp_path, "sim-device", keep_connection=True)
    assert flow.report.ok and flow.connection is not None and flow.token is not None
    first = flow.token
    values: list[tuple[float, float]] = []
    tokens: list[DeviceToken] = []
    errors: list[Exception] = []

    async def main() -> None:
        # no JWKS check here: PyJWT checks iat against the real clock, the platform uses the fake one
        device = SimulatedDevice(flow.connection, first, interval=0.01, clock=clock, seed=3)
        task = device.start(lambda t, v: values.append((t, v)), tokens.append, errors.append)
        while len(values) < 3 and not task.done():
            await asyncio.sleep(0.01)
        assert not task.done(), errors
        assert not tokens  # before half-life nothing is renewed
        assert first.refresh_at is not None
        clock.now = first.refresh_at.timestamp() + 1
        while not tokens and not task.done():
            await asyncio.sleep(0.01)
        assert not task.done(), errors
        await device.stop()

    asyncio.run(main())
    assert tokens[0].raw != first.raw and tokens[0].claims["sub"] == first.claims["sub"]
    assert tokens[0].issued_at is not None and tokens[0].issued_at > first.issued_at - dt.timedelta(seconds=1)
    assert flow.connection.session.state.name != "CONNECTED"
