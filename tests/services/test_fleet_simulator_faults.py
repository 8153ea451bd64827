"""The fleet simulator's bad input and faults, each a clear message with nothing lost: a fleet folder with missing
or unreadable keys, a CSV with bad rows, a tenant that refuses the CA, a target that is down; plus bulk registration
(idempotent, so a killed run's next run continues), token renewal at half-life, and plain MQTT against mosquitto."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.platform.support import admin_rest
from tests.services.fleet_sim_support import PlatformSide, dump, make_store_fleet, run, wait_for
from tests.services.onboarding_support import Clock
from tests.support.mosquitto import free_port, run_mosquitto
from workbench.core.platform_client import requests as api
from workbench.errors import InvalidInputError, PlatformRequestError
from workbench.services.fleet_simulator import (
    Behaviour,
    Fleet,
    RunOptions,
    Simulator,
    Target,
    fleet_from_csv,
    fleet_from_folder,
    fleet_from_ids,
)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Fleet]:
    folder = tmp_path_factory.mktemp("fleet")
    return folder / "devices", make_store_fleet(folder / "ws", folder / "devices", 6)


def test_a_fleet_folder_with_missing_and_unreadable_keys_names_each_device(made: tuple[Path, Fleet],
                                                                           tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(made[0], copy)
    (copy / "sim-0002" / "deviceKey.pem").unlink()
    (copy / "sim-0004" / "deviceKey.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\ngarbage\n")
    with pytest.raises(InvalidInputError) as caught:
        fleet_from_folder(copy)
    text = str(caught.value)
    assert "2 of 6 devices" in caught.value.summary
    assert "sim-0002: Cannot read the key of device 'sim-0002'" in text and "sim-0004:" in text
    assert "sim-0001" not in text and "Nothing was started" in text
    assert fleet_from_folder(made[0]).devices[0].identity is not None  # the original is untouched


def test_a_csv_with_bad_rows_names_the_lines(made: tuple[Path, Fleet]) -> None:
    good = fleet_from_csv(made[0] / "bulk-registration.csv")
    assert [d.device_id for d in good.devices] == [d.device_id for d in made[1].devices]
    bad = made[0].parent / "bad.csv"
    bad.write_text("ID;CREDENTIALS;AUTH_TYPE\nsim-0001;;CERTIFICATES\nbad/id;;CERTIFICATES\n;;CERTIFICATES\n")
    with pytest.raises(InvalidInputError) as caught:
        fleet_from_csv(bad)
    assert "line 3" in str(caught.value) and "line 4" in str(caught.value)


def test_a_tenant_that_refuses_the_ca_is_a_clear_message(side: PlatformSide, made: tuple[Path, Fleet]) -> None:
    fleet = made[1]
    with pytest.raises(PlatformRequestError, match="does not trust the fleet's CA"):
        run(Simulator(fleet, side.target, link=side.link).register())
    ca_pem = fleet.ca_chain[0].public_bytes(serialization.Encoding.PEM).decode()
    answer = admin_rest(side.background).call("POST", "/tenant/tenants/t100/trusted-certificates", {
        "name": "off", "status": "DISABLED", "autoRegistrationEnabled": True, "certInPemFormat": ca_pem})
    assert answer.status == 201, answer.body
    with pytest.raises(PlatformRequestError, match="refuses the fleet's CA 'off': it is disabled"):
        run(Simulator(fleet, side.target, link=side.link, options=RunOptions(upload_ca=True)).register())


def test_a_target_that_is_down_counts_refusals_and_keeps_retrying(made: tuple[Path, Fleet]) -> None:
    sim = Simulator(made[1], Target("127.0.0.1", free_port()), Behaviour(backoff_min=0.05, backoff_max=0.1),
                    options=RunOptions(registration="none"))

    async def main() -> dict[str, object]:
        task = asyncio.create_task(sim.run())
        await wait_for(lambda: sim.figures.errors["TCP: connection refused (is the target running?)"] >= 12, "retries")
        sim.stop()
        return await task

    summary = run(main())
    assert set(summary["errors"]) == {"TCP: connection refused (is the target running?)"}, dump(summary)
    assert summary["states"]["stopped"] == 6 and summary["totals"].get("connects", 0) == 0


def test_bulk_registration_is_idempotent_and_renews_tokens_at_half_life(side: PlatformSide, clock: Clock,
                                                                        made: tuple[Path, Fleet]) -> None:
    fleet = made[1]

    async def main() -> dict[str, object]:
        async with side.link.session() as http:  # the CA without auto-registration: only bulk-registered devices
            await http.trusted_certificate_call(api.upload_trusted_certificate(
                "t100", fleet.ca_chain[0], "bulk only", auto_registration=False))
        sim = Simulator(fleet, side.target, Behaviour(interval=0.2), side.link,
                        RunOptions(registration="bulk", clock=clock))
        first = await sim.register()
        again = await sim.register()  # a second run (after a kill -9) registers the same devices without harm
        assert first == again == ["bulk registration: 6 of 6 devices registered"]
        task = asyncio.create_task(sim.run())
        await wait_for(lambda: sim.figures.states["connected"] == 6, "connected")
        token = sim.devices[0].token
        assert token is not None and token.refresh_at is not None
        clock.now = token.refresh_at.timestamp() + 1  # both sides pass half-life
        await wait_for(lambda: sim.figures.counts["renewals"] >= 6, "renewals")
        sim.stop()
        summary = await task
        assert sim.devices[0].token is not None and sim.devices[0].token.raw != token.raw
        return summary

    summary = run(main())
    assert summary["errors"] == {}, dump(summary)


def test_plain_mqtt_against_mosquitto(tmp_path: Path) -> None:
    with run_mosquitto(tmp_path) as broker:
        sim = Simulator(fleet_from_ids(12), Target("127.0.0.1", broker.plain_port, platform=False, tls=False),
                        Behaviour(interval=0.2), options=RunOptions(registration="none"))

        async def main() -> dict[str, object]:
            task = asyncio.create_task(sim.run())
            await wait_for(lambda: sim.figures.states["connected"] == 12, "connected")
            await wait_for(lambda: sim.figures.counts["messages"] >= 36, "messages")
            sim.stop()
            return await task

        summary = run(main())
    assert summary["errors"] == {} and summary["totals"].get("tokens", 0) == 0, dump(summary)
    assert summary["latency_ms"]["publish"]["count"] >= 30  # PUBACKs from mosquitto
