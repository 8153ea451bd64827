"""The fleet simulator against a real local platform: each device connects with its own certificate, gets a token,
sends measurements, answers an operation, and recovers from dropped connections and a disabled CA."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from tests.platform.support import admin_rest
from tests.services.fleet_sim_support import PlatformSide, dump, make_store_fleet, platform_side, run, wait_for
from workbench.services.fleet_simulator import Behaviour, Fleet, RunOptions, Simulator

COUNT = 10


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    folder = tmp_path_factory.mktemp("fleet")
    return make_store_fleet(folder / "ws", folder / "devices", COUNT)


@pytest.fixture
def side() -> Iterator[PlatformSide]:
    settings = PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)
    with BackgroundLocalPlatform(settings) as background:
        yield platform_side(background)


def _simulator(side: PlatformSide, fleet: Fleet, **options: object) -> Simulator:
    return Simulator(fleet, side.target, Behaviour(interval=0.3), side.link,
                     RunOptions(upload_ca=True, seed=1, **options))  # type: ignore[arg-type]


def _rest(side: PlatformSide, method: str, path: str, body: object = None) -> Any:
    """The tenant admin's REST call (urllib, an independent client)."""
    answer = admin_rest(side.background).call(method, path, body)
    assert answer.status < 300, (answer.status, answer.body[:300])
    return json.loads(answer.body or b"{}")


def _source(side: PlatformSide, device_id: str) -> str:
    return str(_rest(side, "GET", f"/identity/externalIds/c8y_Serial/{device_id}")["managedObject"]["id"])


def test_every_device_connects_with_its_certificate_gets_a_token_and_sends(side: PlatformSide, fleet: Fleet) -> None:
    sim = _simulator(side, fleet)

    async def main() -> dict[str, object]:
        notes = await sim.register()
        assert any("uploaded" in note for note in notes)
        task = asyncio.create_task(sim.run())
        await wait_for(lambda: sim.figures.states["connected"] == COUNT, "all devices connected")
        await wait_for(lambda: sim.figures.counts["messages"] >= 3 * COUNT, "measurements")
        sim.stop()
        return await task

    summary = run(main())
    assert summary["totals"]["connects"] == COUNT and summary["totals"]["tokens"] == COUNT, dump(summary)
    assert summary["errors"] == {}, dump(summary)
    assert summary["states"]["stopped"] == COUNT
    for kind in ("connect", "token", "publish"):
        assert summary["latency_ms"][kind]["p50"] is not None, kind
    # the platform registered each device by its own certificate and stored its measurements
    for device in fleet.devices:
        found = _rest(side, "GET", f"/measurement/measurements?source={_source(side, device.device_id)}&pageSize=3")
        assert found["measurements"], device.device_id


def test_an_operation_is_answered_executing_then_successful(side: PlatformSide, fleet: Fleet) -> None:
    sim = _simulator(side, fleet.first(2))

    async def main() -> str:
        await sim.register()
        task = asyncio.create_task(sim.run())
        await wait_for(lambda: sim.figures.counts["messages"] >= 4, "measurements (they create the devices)")
        device_id = fleet.devices[0].device_id
        source = await asyncio.to_thread(_source, side, device_id)
        operation = await asyncio.to_thread(_rest, side, "POST", "/devicecontrol/operations",
                                            {"deviceId": source, "c8y_Restart": {}})

        def status() -> str:
            return str(_rest(side, "GET", f"/devicecontrol/operations/{operation['id']}")["status"])

        final = ""
        for _ in range(100):
            final = await asyncio.to_thread(status)
            if final == "SUCCESSFUL":
                break
            await asyncio.sleep(0.05)
        sim.stop()
        await task
        return final

    assert run(main()) == "SUCCESSFUL"
    assert sim.figures.counts["operations"] == 1


def test_dropped_connections_reconnect_with_backoff(side: PlatformSide, fleet: Fleet) -> None:
    sim = _simulator(side, fleet)

    async def main() -> dict[str, object]:
        await sim.register()
        task = asyncio.create_task(sim.run())
        await wait_for(lambda: sim.figures.states["connected"] == COUNT, "connected")
        cut = sim.drop(0.5)
        assert cut == COUNT // 2
        await wait_for(lambda: sim.figures.counts["connects"] >= COUNT + cut
                       and sim.figures.states["connected"] == COUNT, "reconnected")
        sim.stop()
        return await task

    summary = run(main())
    assert summary["totals"]["drops"] == COUNT // 2, dump(summary)
    assert summary["errors"] == {"MQTT: connection lost": COUNT // 2}, dump(summary)


def test_a_disabled_ca_shows_as_connack_5_and_the_fleet_recovers(side: PlatformSide, fleet: Fleet) -> None:
    sim = Simulator(fleet.first(4), side.target, Behaviour(interval=0.3, backoff_min=0.2, backoff_max=0.5),
                    side.link, RunOptions(upload_ca=True, seed=2))

    async def main() -> dict[str, object]:
        await sim.register()
        task = asyncio.create_task(sim.run())
        await wait_for(lambda: sim.figures.states["connected"] == 4, "connected")
        outage = sim.start_disable_ca(1.5)
        await wait_for(lambda: any(r.startswith("CONNACK 5") for r in sim.figures.errors), "CONNACK 5", 10)
        await outage
        await wait_for(lambda: sim.figures.states["connected"] == 4, "recovered", 15)
        sim.stop()
        return await task

    summary = run(main())
    errors = summary["errors"]
    assert "CONNACK 5: not authorized (CA disabled by chaos)" in errors, dump(summary)
    assert any("disabled the CA" in n for n in summary["notes"]) and any("enabled" in n for n in summary["notes"])
