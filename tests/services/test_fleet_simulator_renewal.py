"""Renewal in rehearsal, fleet side: a small fleet enrolled over EST with certificates valid two minutes (the local
platform's option) runs in the simulator; once the (fake) clock, shared with the platform, passes the renewal fraction
every device re-enrolls with its token, rewrites its folder, reconnects with the new serial and keeps sending. A
refused renewal is counted by reason and tried again while the certificate is valid."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from tests.services.fleet_sim_support import PlatformSide, dump, make_store_fleet, run, wait_for
from tests.services.onboarding_support import Clock
from workbench.core.platform_client import est as est_api
from workbench.errors import InvalidInputError
from workbench.services.fleet_simulator import Behaviour, Fleet, RunOptions, Simulator, enroll_over_est
from workbench.services.platform_http import PlatformHttp

COUNT = 3
VALIDITY = 120  # seconds (the platform's option); the certificate starts a minute back: 180 s in all


def _admin(side: PlatformSide) -> PlatformHttp:
    return PlatformHttp(side.link.base_url, side.link.credentials, trust=side.link.trust)


def _enroll(side: PlatformSide, out: Path, count: int = COUNT) -> Fleet:
    async def main() -> Fleet:
        async with _admin(side) as http:
            return await enroll_over_est(http, count, out, side.trust, pattern="est-{n:02d}",
                                         validity_seconds=VALIDITY)
    return run(main())


def _openssl_serial(folder: Path) -> int:
    """The device certificate in the folder's PKCS#12 keystore, read by openssl (an independent reader)."""
    password = (folder / "keystorePassword.txt").read_text().strip()
    out = subprocess.run(["openssl", "pkcs12", "-in", str(folder / "deviceKeystore.p12"), "-nokeys", "-clcerts",
                          "-passin", f"pass:{password}"], capture_output=True, timeout=30, check=True).stdout
    return x509.load_pem_x509_certificates(out)[0].serial_number


def test_an_est_fleet_renews_its_certificates_reconnects_and_keeps_sending(side: PlatformSide, clock: Clock,
                                                                           tmp_path: Path) -> None:
    fleet = _enroll(side, tmp_path / "est-fleet")
    assert len(fleet) == COUNT and all(d.folder is not None for d in fleet.devices)
    first = fleet.devices[0].identity
    assert first is not None
    cert = first.chain[0]
    span = (cert.not_valid_after_utc - cert.not_valid_before_utc).total_seconds()
    assert span == VALIDITY + 60
    old = {d.device_id: d.identity.chain[0].serial_number for d in fleet.devices if d.identity is not None}
    sim = Simulator(fleet, side.target, Behaviour(interval=0.1, renew_cert_at=0.75), side.link,
                    RunOptions(seed=3, clock=clock))

    async def main() -> dict[str, object]:
        notes = await sim.register()  # auto: the tenant CA's devices were registered by enrolment
        assert any("own CA" in note for note in notes), notes
        task = asyncio.create_task(sim.run())
        await wait_for(lambda: sim.figures.states["connected"] == COUNT, "all devices connected")
        await wait_for(lambda: sim.figures.counts["messages"] >= 3 * COUNT, "measurements")
        assert sim.figures.counts["cert_renewals"] == 0  # before 75 % of the validity nothing is renewed
        clock.now = cert.not_valid_before_utc.timestamp() + 0.8 * span
        await wait_for(lambda: sim.figures.counts["cert_renewals"] == COUNT, "every certificate renewed")
        await wait_for(lambda: sim.figures.counts["connects"] == 2 * COUNT
                       and sim.figures.states["connected"] == COUNT, "reconnected with the new certificates")
        sent = sim.figures.counts["messages"]
        await wait_for(lambda: sim.figures.counts["messages"] >= sent + 3 * COUNT, "measurements after renewal")
        sim.stop()
        return await task

    summary = run(main())
    totals = summary["totals"]
    assert isinstance(totals, dict)
    assert totals["cert_renewals"] == COUNT and summary["errors"] == {}, dump(summary)  # type: ignore[arg-type]
    assert any("certificate renewal: 3 of 3" in note for note in summary["notes"]), summary["notes"]  # type: ignore[attr-defined]
    for device in sim.devices:
        assert device.cert_renewals == 1 and device.spec.identity is not None and device.spec.folder is not None
        new = device.spec.identity.chain[0].serial_number
        assert new != old[device.spec.device_id]
        assert _openssl_serial(device.spec.folder) == new  # the folder holds the certificate it connected with


def test_a_refused_renewal_is_counted_and_tried_again_while_valid(side: PlatformSide, clock: Clock,
                                                                  tmp_path: Path) -> None:
    fleet = _enroll(side, tmp_path / "est-fleet", count=1)
    device_identity = fleet.devices[0].identity
    assert device_identity is not None
    cert = device_identity.chain[0]
    span = (cert.not_valid_after_utc - cert.not_valid_before_utc).total_seconds()
    sim = Simulator(fleet, side.target, Behaviour(interval=0.1, renew_cert_at=0.75, cert_retry=5.0), side.link,
                    RunOptions(seed=3, clock=clock, registration="none"))

    async def main() -> dict[str, object]:
        task = asyncio.create_task(sim.run())
        await wait_for(lambda: sim.figures.states["connected"] == 1, "connected")
        async with _admin(side) as http:
            await http.send(est_api.enable_feature(False))  # the tenant CA stops answering EST
            clock.now = cert.not_valid_before_utc.timestamp() + 0.8 * span
            await wait_for(lambda: sim.figures.counts["errors"] >= 1, "a refused renewal")
            await http.send(est_api.enable_feature(True))
        assert sim.figures.counts["cert_renewals"] == 0 and sim.figures.states["connected"] == 1  # still sending
        clock.now += 6.0  # past the retry delay, still before notAfter
        await wait_for(lambda: sim.figures.counts["cert_renewals"] == 1, "the renewal tried again")
        sim.stop()
        return await task

    summary = run(main())
    errors = summary["errors"]
    assert isinstance(errors, dict) and len(errors) == 1, dump(summary)  # type: ignore[arg-type]
    reason = next(iter(errors))
    assert reason.startswith("cert renewal: ") and "est-01" not in reason, reason


def test_a_fleet_not_enrolled_over_est_is_refused_with_a_clear_message(side: PlatformSide, tmp_path: Path) -> None:
    fleet = make_store_fleet(tmp_path / "ws", tmp_path / "devices", 1)
    _enroll(side, tmp_path / "est-fleet", count=1)  # the tenant CA exists; the store fleet is not its
    sim = Simulator(fleet, side.target, Behaviour(renew_cert_at=0.75), side.link,
                    RunOptions(upload_ca=True, seed=1))
    with pytest.raises(InvalidInputError, match="fleets enrolled over EST"):
        run(sim.run(duration=1))
