"""The fleet simulator: registers a fleet, runs every device as an asyncio task on one loop, ticks the live figures,
renews the certificates of EST-enrolled devices when asked, and injects chaos on demand; the CLI, the Fleet page and
the Locust user all drive this one class."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

from workbench.core.platform_client import requests as api
from workbench.core.platform_client.responses import TrustedCertificate
from workbench.errors import InvalidInputError, PlatformRequestError
from workbench.services import est
from workbench.services.cert_lifecycle import EstTarget, check_fraction
from workbench.services.fleet_simulator.device import Behaviour, DeviceHooks, SimulatedFleetDevice, Target
from workbench.services.fleet_simulator.figures import Figures
from workbench.services.fleet_simulator.source import Fleet
from workbench.services.platform_http import PlatformCredentials, PlatformHttp

REGISTRATIONS = ("auto", "bulk", "none")
_TICK = 1.0


@dataclass(frozen=True)
class PlatformLink:
    """The tenant's REST side, for registration and the CA chaos: its URL, an admin login and the HTTPS trust."""

    base_url: str
    credentials: PlatformCredentials
    trust: ssl.SSLContext | None = None

    def session(self) -> PlatformHttp:
        """A fresh HTTPS session (`async with`)."""
        return PlatformHttp(self.base_url, self.credentials, trust=self.trust)


@dataclass(frozen=True)
class RunOptions:
    """How a run goes: registration, concurrency, ramp, duration and the hooks of the front end."""

    registration: str = "auto"  # auto: the CA with auto-registration; bulk: upload the CSV; none: already registered
    upload_ca: bool = False  # auto: upload the fleet's CA (and switch auto-registration on) when the tenant lacks it
    connect_concurrency: int = 16  # TCP + TLS handshakes in flight (a thread each; devices themselves are tasks)
    ramp_per_s: float = 0.0  # device starts per second; 0: all at once (the concurrency still bounds handshakes)
    seed: int | None = None
    clock: Callable[[], float] = time.time
    on_request: Callable[[str, float, str | None], None] | None = None


def _sha1(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA1()).hex().lower()


def _issued_by(certificate: x509.Certificate, cas: list[x509.Certificate]) -> bool:
    """Signed by one of these CAs (the tenant CA: an EST-enrolled device)."""
    for ca in cas:
        if ca.subject == certificate.issuer:
            try:
                certificate.verify_directly_issued_by(ca)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return True
    return False


@dataclass
class Simulator:
    """One fleet against one target; ``run`` until ``stop`` (Ctrl+C, Stop) or the duration, then a summary."""

    fleet: Fleet
    target: Target
    behaviour: Behaviour = field(default_factory=Behaviour)
    link: PlatformLink | None = None
    options: RunOptions = field(default_factory=RunOptions)
    figures: Figures = field(default_factory=Figures)
    notes: list[str] = field(default_factory=list)
    devices: list[SimulatedFleetDevice] = field(default_factory=list)
    _stop: asyncio.Event | None = None
    _ca_disabled_until: float = 0.0
    _chaos_tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.options.registration not in REGISTRATIONS:
            raise InvalidInputError(f"unknown registration '{self.options.registration}'",
                                    (f"Choose one of {', '.join(REGISTRATIONS)}.",))
        if self.behaviour.interval <= 0:
            raise InvalidInputError("the measurement interval must be above 0 seconds", ())
        if not len(self.fleet):
            raise InvalidInputError("the fleet has no devices", ())
        if self.target.tls and self.target.platform and any(d.identity is None for d in self.fleet.devices):
            raise InvalidInputError("certificate devices need their keys",
                                    ("Use a fleet folder or CSV with keys, or --plain for a standards broker.",))
        if self.behaviour.renew_cert_at is not None:
            check_fraction(self.behaviour.renew_cert_at)
            if self.link is None or not self.target.platform:
                raise InvalidInputError("Certificate renewal needs the platform's EST endpoints",
                                        ("Give --local or --url; a standards broker issues no certificates.",))

    # --- registration --------------------------------------------------------------------------------------------
    async def register(self) -> list[str]:
        """Make the tenant accept the fleet, by auto-registration or by bulk registration; returns what it did.

        Raises:
            PlatformRequestError: the tenant refuses the CA, or rows of the bulk registration failed (each named).
            InvalidInputError: no link to the tenant where one is needed.
        """
        mode = self.options.registration
        if mode == "none" or not self.target.platform:
            return []
        if self.link is None:
            raise InvalidInputError(f"{mode} registration needs the tenant's REST API",
                                    ("Give --url and --user (or --local), or --registration none.",))
        notes: list[str] = []
        async with self.link.session() as http:
            tenant = await http.tenant_id()
            anchor = await self._anchor(http, tenant, notes)
            if mode == "auto" and anchor.raw.get("tenantCertificateAuthority") is True:
                notes.append(f"the fleet's CA is tenant {tenant}'s own CA: its devices were registered when they "
                             "enrolled over EST")
            elif mode == "auto" and not anchor.auto_registration:
                if not self.options.upload_ca:
                    raise PlatformRequestError(
                        f"Auto-registration is off for the fleet's CA '{anchor.name}' in tenant {tenant}",
                        ("Devices would be refused with CONNACK 5.",
                         "Use --registration bulk, or --upload-ca to switch auto-registration on."))
                await http.trusted_certificate_call(api.update_trusted_certificate(
                    tenant, anchor.fingerprint, auto_registration=True))
                notes.append(f"switched auto-registration on for '{anchor.name}'")
            if mode == "bulk":
                result = await http.bulk_register(self.fleet.registration_csv())
                if not result.ok:
                    raise PlatformRequestError(
                        f"Bulk registration accepted {result.successful} of {result.total} devices",
                        tuple(f"{device}: {reason}" for device, reason in result.failures[:20]))
                notes.append(f"bulk registration: {result.successful} of {result.total} devices registered")
        self.notes += notes
        return notes

    async def _anchor(self, http: PlatformHttp, tenant: str, notes: list[str]) -> TrustedCertificate:
        chain = self.fleet.ca_chain
        if not chain:
            raise InvalidInputError("The fleet's certificates carry no CA chain", ("Reissue the fleet.",))
        anchors = {a.fingerprint: a for a in await http.trusted_certificates(tenant)}
        found = next((anchors[_sha1(c)] for c in chain if _sha1(c) in anchors), None)
        if found is None:
            if not self.options.upload_ca:
                raise PlatformRequestError(
                    f"Tenant {tenant} does not trust the fleet's CA '{chain[0].subject.rfc4514_string()}'",
                    ("Devices would fail the TLS handshake or get CONNACK 5.",
                     "Upload the CA (Certificates page, `workbench onboard`) or run with --upload-ca."))
            name = f"fleet simulator {chain[0].subject.rfc4514_string()}"[:120]
            try:
                found = await http.trusted_certificate_call(api.upload_trusted_certificate(
                    tenant, chain[0], name, auto_registration=self.options.registration == "auto"))
                notes.append(f"uploaded the fleet's CA to tenant {tenant} as '{name}'")
            except PlatformRequestError:  # another simulator (a Locust worker) may have uploaded it just now
                anchors = {a.fingerprint: a for a in await http.trusted_certificates(tenant)}
                if _sha1(chain[0]) not in anchors:
                    raise
                found = anchors[_sha1(chain[0])]
        if found.status.upper() != "ENABLED":
            raise PlatformRequestError(f"Tenant {tenant} refuses the fleet's CA '{found.name}': it is disabled",
                                       ("Enable it in the tenant's trusted certificates, then run again.",))
        return found

    # --- the run -------------------------------------------------------------------------------------------------
    async def run(self, duration: float | None = None, on_tick: Callable[[dict[str, Any]], None] | None = None,
                  tick: float = _TICK) -> dict[str, Any]:
        """Run every device until ``stop()`` or ``duration`` seconds; ``on_tick`` gets the figures each tick.

        Returns:
            The final figures with the notes (the `--json` summary).
        """
        self._stop = asyncio.Event()
        renewable = await self._renewable() if self.behaviour.renew_cert_at is not None else set()
        est_target = EstTarget(self.link.base_url, self.target.server_trust) if self.link is not None else None
        rng = random.Random(self.options.seed)
        self.figures.start(len(self.fleet))
        gate = asyncio.Semaphore(max(1, self.options.connect_concurrency))
        hooks = DeviceHooks(on_request=self.options.on_request, chaos_note=self._chaos_note)
        pool = cf.ThreadPoolExecutor(max_workers=max(1, self.options.connect_concurrency),
                                     thread_name_prefix="fleet-connect")
        self.devices = [SimulatedFleetDevice(spec, self.target, self.behaviour, self.figures, pool, gate,
                                             hooks=hooks, clock=self.options.clock, rng=random.Random(rng.random()),
                                             renewal=est_target if spec.device_id in renewable else None)
                        for spec in self.fleet.devices]
        tasks: list[asyncio.Task[None]] = []
        ticker = asyncio.create_task(self._ticker(on_tick, tick))
        started = time.monotonic()
        try:
            for index, device in enumerate(self.devices):
                if self._stop.is_set():
                    break
                if self.options.ramp_per_s > 0:
                    wait = started + index / self.options.ramp_per_s - time.monotonic()
                    if wait > 0:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._stop.wait(), wait)
                tasks.append(asyncio.create_task(device.run(), name=f"device {device.spec.device_id}"))
            remaining = None if duration is None else max(0.0, started + duration - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), remaining)
        finally:
            for device in self.devices:
                device.stop()
            for task in [*tasks, *self._chaos_tasks]:
                task.cancel()
            await asyncio.gather(*tasks, *self._chaos_tasks, return_exceptions=True)
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
            pool.shutdown(wait=False, cancel_futures=True)
        summary = self.figures.snapshot()
        summary["target"] = self.target.describe()
        summary["fleet"] = self.fleet.origin
        summary["notes"] = list(self.notes)
        return summary

    async def _renewable(self) -> set[str]:
        """The devices whose certificates the tenant CA issued (EST-enrolled) and whose folder is known: those renew.

        Raises:
            PlatformRequestError: the platform has no tenant CA (EST off).
            InvalidInputError: none of the fleet's devices was enrolled over EST.
        """
        assert self.link is not None
        try:
            async with EstTarget(self.link.base_url, self.target.server_trust).http() as http:
                cas = await est.ca_certificates(http)
        except PlatformRequestError as exc:
            raise PlatformRequestError("Certificate renewal needs the tenant CA, and the platform lists none",
                                       ("Certificate renewal applies to fleets enrolled over EST (--enroll N).",
                                        exc.summary)) from exc
        renewable = {d.device_id for d in self.fleet.devices
                     if d.identity is not None and d.folder is not None and _issued_by(d.identity.chain[0], cas)}
        if not renewable:
            raise InvalidInputError("Certificate renewal applies to fleets enrolled over EST with the tenant CA",
                                    (f"None of the {len(self.fleet)} devices has a certificate of the tenant CA.",
                                     "Enroll a fleet with --enroll N, or run without --renew-cert-at."))
        fraction = self.behaviour.renew_cert_at or 0.0
        self.notes.append(f"certificate renewal: {len(renewable)} of {len(self.fleet)} devices re-enroll over EST "
                          f"at {fraction:.0%} of their validity")
        return renewable

    async def _ticker(self, on_tick: Callable[[dict[str, Any]], None] | None, tick: float) -> None:
        """Keep-alives for every device, and the figures for the front end, once per tick."""
        while True:
            await asyncio.sleep(tick)
            for device in self.devices:
                device.misc()
            if on_tick is not None:
                on_tick(self.figures.snapshot())

    def stop(self) -> None:
        """End the run: devices disconnect cleanly and ``run`` returns its summary."""
        if self._stop is not None:
            self._stop.set()

    # --- chaos ---------------------------------------------------------------------------------------------------
    def drop(self, fraction: float) -> int:
        """Cut the connections of ``fraction`` (0..1] of the connected devices; returns how many were cut."""
        if not 0 < fraction <= 1:
            raise InvalidInputError(f"the fraction to drop must be in (0, 1], not {fraction}", ())
        connected = [d for d in self.devices if d.state == "connected"]
        chosen = random.sample(connected, round(len(connected) * fraction)) if connected else []
        cut = sum(1 for device in chosen if device.drop())
        self.figures.count("chaos_drops", cut)
        self.notes.append(f"chaos: dropped {cut} of {len(connected)} connected devices")
        return cut

    def _chaos_note(self) -> str:
        return "CA disabled by chaos" if time.monotonic() < self._ca_disabled_until + 2.0 else ""

    async def disable_ca(self, seconds: float) -> str:
        """Disable the fleet's CA in the tenant for ``seconds`` (its sessions close), then enable it again.

        Raises:
            InvalidInputError: no tenant link (a standards broker has no CA to disable).
            PlatformRequestError: the tenant refused the change.
        """
        if self.link is None or not self.target.platform:
            raise InvalidInputError("Disabling the CA needs the tenant's REST API",
                                    ("Give --url and --user (or --local); a standards broker has no trusted CAs.",))
        if seconds <= 0:
            raise InvalidInputError("the CA outage must last more than 0 seconds", ())
        async with self.link.session() as http:
            tenant = await http.tenant_id()
            anchor = await self._anchor(http, tenant, [])
            self._ca_disabled_until = time.monotonic() + seconds
            await http.trusted_certificate_call(api.update_trusted_certificate(tenant, anchor.fingerprint,
                                                                               enabled=False))
            note = f"chaos: disabled the CA '{anchor.name}' for {seconds:g} s"
            self.notes.append(note)
            try:
                await asyncio.sleep(seconds)
            finally:
                await asyncio.shield(http.trusted_certificate_call(api.update_trusted_certificate(
                    tenant, anchor.fingerprint, enabled=True)))
                self.notes.append(f"chaos: enabled the CA '{anchor.name}' again")
        return note

    def start_disable_ca(self, seconds: float) -> asyncio.Task[str]:
        """``disable_ca`` in the background of the run (the run cancels it at the end, and the CA is re-enabled)."""
        task = asyncio.create_task(self.disable_ca(seconds))
        self._chaos_tasks.add(task)
        task.add_done_callback(self._chaos_tasks.discard)
        return task
