"""The fleet variant of the onboarding: many devices issued, registered in bulk (auto-registration off), and each
connected once for a token; a mixin so the single-device flow stays readable."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import TYPE_CHECKING

from workbench.core.files import write_atomic
from workbench.core.pki.fleet_ids import DeviceEntry, bulk_registration_csv
from workbench.core.tls import client_context
from workbench.errors import PlatformRequestError
from workbench.services.token_flow import DeviceConnection

if TYPE_CHECKING:
    from workbench.core.tls import ClientIdentity
    from workbench.services.onboarding import OnboardingOptions, OnboardingReport


def hhmm(moment: dt.datetime | None) -> str:
    """A time of day in the user's zone, for step messages."""
    return moment.astimezone().strftime("%H:%M:%S") if moment is not None else "?"


class FleetSteps:
    """Steps of the fleet variant; Onboarding provides the options, the report and `_issue`."""

    o: OnboardingOptions
    report: OnboardingReport
    identities: dict[str, ClientIdentity]
    fleet_rows: list[str]

    def _issue(self, device_id: str) -> str:
        raise NotImplementedError

    def fleet_ids(self) -> list[str]:
        """The fleet's device ids: the main device first, then numbered ones."""
        return [self.o.device_id] + [f"{self.o.device_id}-{i:03d}" for i in range(2, self.o.devices + 1)]

    async def issue_fleet(self) -> str:
        ids = self.fleet_ids()
        for device_id in ids:
            await asyncio.to_thread(self._issue, device_id)
        return f"issued {len(ids)} devices with {self.o.keystore_type} keystores in {self.o.out_dir}"

    async def register_fleet(self) -> str:
        csv = bulk_registration_csv([DeviceEntry(d) for d in self.fleet_ids()])
        write_atomic(self.o.out_dir / "bulk-registration.csv", csv)
        result = await self.o.http.bulk_register(csv)
        if not result.ok:
            raise PlatformRequestError(f"bulk registration accepted {result.successful} of {result.total} devices",
                                tuple(f"{device}: {reason}" for device, reason in result.failures))
        self.report.created["registered"] = result.successful
        return f"bulk registration: {result.successful} of {result.total} devices registered (auto-registration off)"

    async def connect_fleet(self) -> str:
        """Every device but the main one connects and gets a token; the main one continues with the next steps."""
        rows: list[str] = []

        def one(device_id: str) -> str:
            identity = self.identities[device_id]
            context = client_context(trust=list(self.o.server_trust) or None, identity=identity)
            connection = DeviceConnection(self.o.mqtt_host, self.o.mqtt_port, f"d:{device_id}", context)
            started = time.monotonic()
            try:
                connection.connect()
                token = connection.request_token()
            finally:
                connection.close()
            took = (time.monotonic() - started) * 1000
            return f"{device_id}: connected, token until {hhmm(token.token.expires_at)} ({took:.0f} ms)"

        for device_id in self.fleet_ids()[1:]:
            rows.append(await asyncio.to_thread(one, device_id))
        self.fleet_rows = rows
        return f"{len(rows)} more devices connected and got tokens"
