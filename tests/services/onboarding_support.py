"""Runs the onboarding service against an in-process local platform for the onboarding tests, recording each step;
and the fake clock and clocked platform fixtures the onboarding, simulated-device and fleet tests share.

Why here: the customer-CA tests and the EST/bootstrap path tests drive `Onboarding` the same way (admin login over
real TLS, the same options, a hook after each step); one copy keeps them in step.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from workbench.core.tls import server_context, trust_from_pem
from workbench.services.onboarding import Onboarding, OnboardingOptions, StepResult
from workbench.services.platform_http import PlatformCredentials, PlatformHttp


class Clock:
    """The fake clock a test moves; the platform (and the simulator) read it."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC).timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """A fresh fake clock at the real now."""
    return Clock()


@pytest.fixture
def platform(clock: Clock) -> Iterator[BackgroundLocalPlatform]:
    """An in-process local platform on ports 0 that reads `clock`."""
    settings = PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0, clock=clock)
    with BackgroundLocalPlatform(settings) as background:
        yield background


def run_onboarding(platform: BackgroundLocalPlatform, tmp_path: Path, device_id: str = "dev-svc",
                   on_step: Any = None, password: str | None = None,
                   **overrides: Any) -> tuple[Onboarding, list[StepResult]]:
    """Run every step as the admin (or with `password`); `on_step(flow, result)` runs after each step."""
    assert platform.local is not None and platform.local.server_ca_path is not None
    trust = trust_from_pem(platform.local.server_ca_path.read_bytes())
    results: list[StepResult] = []

    async def main() -> Onboarding:
        assert platform.local is not None
        admin = password if password is not None else platform.local.admin_password or ""
        async with PlatformHttp(f"https://localhost:{platform.ports['https']}",
                                PlatformCredentials("admin", admin, "t100"), trust=server_context(trust)) as http:
            options = OnboardingOptions(http=http, mqtt_host="localhost", mqtt_port=platform.ports["mqtts"],
                                        workspace=tmp_path / "ws", out_dir=tmp_path / "out", ca_password=b"ca-pw",
                                        keystore_password=b"ks-pw", device_id=device_id, server_trust=trust,
                                        jwks=True, **overrides)
            flow = Onboarding(options)

            def record(result: StepResult) -> None:
                results.append(result)
                if on_step is not None:
                    on_step(flow, result)

            flow.on_step = record
            await flow.run()
            return flow

    return asyncio.run(main()), results
