"""Renewal in rehearsal: an EST device of the demo, with certificates valid 10 minutes, keeps sending; once the
(fake) clock passes the renewal fraction it re-enrolls with its token, rewrites its folder, reconnects with the new
certificate and goes on sending; the platform (same fake clock) accepts the new certificate over mutual TLS."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from embedded_broker import BackgroundLocalPlatform
from tests.services.onboarding_support import Clock
from tests.services.test_cert_lifecycle import _target, enroll_est_device
from workbench.core.keystore import load_keystore
from workbench.core.platform_client.tokens import DeviceToken
from workbench.core.tls import ClientIdentity, client_context
from workbench.services.simulated_device import CertificateRenewal, RenewalEvent, SimulatedDevice
from workbench.services.token_flow import DeviceConnection


async def until(check: Callable[[], object], what: str, seconds: float) -> None:
    """Wait on the loop (the device runs there) for a condition, with a deadline."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def test_renews_its_certificate_at_the_fraction_and_keeps_sending(platform: BackgroundLocalPlatform,
                                                                  clock: Clock, tmp_path: Path) -> None:
    folder = tmp_path / "demo-est"
    enrolled = enroll_est_device(platform, folder, "demo-est", validity=600)
    certificate = enrolled.certificate
    assert (certificate.not_valid_after_utc - certificate.not_valid_before_utc).total_seconds() == 660
    target = _target(platform)
    identity = ClientIdentity(enrolled.key, enrolled.chain)  # type: ignore[arg-type]
    connection = DeviceConnection("localhost", platform.ports["mqtts"], "d:demo-est",
                                  client_context(trust=list(target.server_trust), identity=identity))
    connection.connect()
    token = connection.request_token()
    values: list[tuple[float, float]] = []
    tokens: list[DeviceToken] = []
    renewals: list[RenewalEvent] = []
    errors: list[Exception] = []

    async def main() -> SimulatedDevice:
        renewal = CertificateRenewal(target, folder, identity, fraction=0.75)
        device = SimulatedDevice(connection, token.token, interval=0.01, clock=clock, seed=5, renewal=renewal)
        task = device.start(lambda t, v: values.append((t, v)), tokens.append, errors.append, renewals.append)
        await until(lambda: len(values) >= 3 or task.done(), "first values", 10)
        assert not task.done() and not renewals, errors  # before 75 % of the validity nothing is renewed
        clock.now = certificate.not_valid_before_utc.timestamp() + 0.8 * 660  # 8.8 minutes into the validity
        await until(lambda: renewals or task.done(), "the renewal", 20)
        assert not task.done(), errors
        sent = len(values)
        await until(lambda: len(values) >= sent + 3 or task.done(), "values after renewal", 10)  # the plot goes on
        assert not task.done(), errors
        await device.stop()
        return device

    device = asyncio.run(main())
    assert len(renewals) == 1 and renewals[0].error is None, renewals
    event = renewals[0]
    assert event.old_serial == enrolled.serial_hex != event.new_serial
    assert device.renewal is not None and f"{device.renewal.certificate.serial_number:x}" == event.new_serial
    assert device.connection is not connection  # reconnected with the new certificate
    assert tokens and tokens[-1].claims["sub"] == token.token.claims["sub"]  # a token over the new connection
    password = (folder / "keystorePassword.txt").read_text().strip().encode()
    stored = load_keystore((folder / "deviceKeystore.p12").read_bytes(), password)
    assert f"{stored.key_entries()[0].chain[0].serial_number:x}" == event.new_serial
    assert device.renewals == 1
