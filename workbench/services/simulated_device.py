"""A simulated device for demos: the onboarded device keeps its connection, sends a temperature every second,
renews its token at half-life and (an EST device) its certificate once a fraction of its validity has passed, then
reconnects with the new certificate, so a customer sees live data, a token countdown and a renewal without any
hardware."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from workbench.core.platform_client.tokens import DeviceToken
from workbench.core.tls import ClientIdentity, client_context
from workbench.errors import WorkbenchError
from workbench.services.cert_lifecycle import EstTarget, check_fraction, reenroll, renewal_due
from workbench.services.token_flow import DeviceConnection

MEASUREMENT = "200,c8y_Temperature,T,{value},C"
DEFAULT_RENEW_FRACTION = 0.75  # of the certificate's validity; with the platform's 600 s: renewal after ~8 minutes
RETRY_SECONDS = 30.0  # after a failed renewal (the certificate is still valid: the device keeps sending)


@dataclass(frozen=True)
class CertificateRenewal:
    """How a running EST device renews its certificate: the platform, its folder (rewritten in place), its current
    key and chain, and the fraction of the validity after which it renews."""

    target: EstTarget
    folder: Path
    identity: ClientIdentity
    fraction: float = DEFAULT_RENEW_FRACTION

    def __post_init__(self) -> None:
        check_fraction(self.fraction)

    @property
    def certificate(self) -> x509.Certificate:
        """The current device certificate."""
        return self.identity.chain[0]


@dataclass(frozen=True)
class RenewalEvent:
    """A renewal the device did or tried: the serials before and after (after: "" when it failed)."""

    old_serial: str
    new_serial: str
    not_after: dt.datetime | None
    error: WorkbenchError | None = None


def temperature(seconds: float, rng: random.Random) -> float:
    """A plausible room temperature: a slow wave around 21.5 °C with a little noise (one decimal, as devices send)."""
    return round(21.5 + 1.5 * math.sin(seconds / 15.0) + rng.uniform(-0.2, 0.2), 1)


class SimulatedDevice:
    """Runs on the asyncio loop; paho's blocking calls go to a worker thread so the GUI never waits."""

    def __init__(self, connection: DeviceConnection, token: DeviceToken, *, interval: float = 1.0,
                 jwks: dict[str, Any] | None = None, clock: Callable[[], float] = time.time,
                 seed: int | None = None, renewal: CertificateRenewal | None = None) -> None:
        self.connection = connection
        self.renewal = renewal
        self.renewals = 0
        self._retry_at = 0.0
        self.token = token
        self.interval = interval
        self.jwks = jwks
        self.clock = clock
        self.sent = 0
        self._rng = random.Random(seed)
        self._started = clock()
        self._task: asyncio.Task[None] | None = None

    def start(self, on_value: Callable[[float, float], None], on_token: Callable[[DeviceToken], None],
              on_error: Callable[[WorkbenchError], None],
              on_renewal: Callable[[RenewalEvent], None] = lambda _event: None) -> asyncio.Task[None]:
        """Send until stopped; each value, renewed token and certificate renewal is reported, a failure (other than
        a renewal, which is retried while the certificate lasts) ends the run."""
        self._task = asyncio.get_event_loop().create_task(self._run(on_value, on_token, on_error, on_renewal))
        return self._task

    async def _run(self, on_value: Callable[[float, float], None], on_token: Callable[[DeviceToken], None],
                   on_error: Callable[[WorkbenchError], None], on_renewal: Callable[[RenewalEvent], None]) -> None:
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
                if self._renewal_due(now):
                    await self._renew(now, on_token, on_renewal)
                await asyncio.sleep(self.interval)
        except WorkbenchError as exc:
            on_error(exc)

    def _renewal_due(self, now: float) -> bool:
        renewal = self.renewal
        return (renewal is not None and now >= self._retry_at
                and renewal_due(renewal.certificate, renewal.fraction, dt.datetime.fromtimestamp(now, dt.UTC)))

    async def _renew(self, now: float, on_token: Callable[[DeviceToken], None],
                     on_renewal: Callable[[RenewalEvent], None]) -> None:
        """Re-enroll with the current token, write the folder, reconnect with the new certificate, new token."""
        renewal = self.renewal
        assert renewal is not None
        old = f"{renewal.certificate.serial_number:x}"
        try:
            enrolled = await reenroll(renewal.target, renewal.folder, renewal.identity, token=self.token.raw)
        except WorkbenchError as exc:
            self._retry_at = now + RETRY_SECONDS
            on_renewal(RenewalEvent(old, "", None, exc))
            return
        identity = ClientIdentity(enrolled.key, enrolled.chain)
        self.renewal = CertificateRenewal(renewal.target, renewal.folder, identity, renewal.fraction)
        self.renewals += 1
        settings = self.connection.session.settings
        tls = client_context(trust=list(renewal.target.server_trust) or None, identity=identity)
        fresh = DeviceConnection(settings.host, settings.port, settings.client_id, tls,
                                 timeout=self.connection.timeout)
        await asyncio.to_thread(self.connection.close)  # one session per client id: the old one goes first
        self.connection = fresh
        await asyncio.to_thread(fresh.connect)  # a failure here ends the run: the device is offline
        on_renewal(RenewalEvent(old, enrolled.serial_hex, enrolled.not_after))
        result = await asyncio.to_thread(fresh.request_token, self.jwks)
        self.token = result.token
        on_token(self.token)

    async def stop(self) -> None:
        """Stop sending and disconnect the device."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await asyncio.to_thread(self.connection.close)
