"""The guide's whole onboarding as named steps, against the local platform or a real tenant with the same code.

Three paths (`PATHS`): the guide's customer-managed CA (CA, upload, proof of possession, device certificate), the
platform CA (the tenant CA issues over EST; `onboarding_est.py`) and the password device with bootstrap registration
(`onboarding_bootstrap.py`). They share the report, the timings and the last steps (MQTT, token, measurement).

Each step reports one result (what happened, how long it took); the first failure stops the run, and the
report lists what exists by then (CA in the store, uploaded certificate, device files), so nothing is a mystery.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from workbench.core.pki.fleet import KeystoreOptions
from workbench.core.pki.keys import KeySpec
from workbench.core.pki.profiles import device_profile, root_ca_profile
from workbench.core.platform_client import requests as api
from workbench.core.platform_client.device_requests import ReceivedCredentials
from workbench.core.platform_client.tokens import DeviceToken
from workbench.core.tls import ClientIdentity, client_context
from workbench.errors import InvalidInputError, PlatformRequestError, WorkbenchError
from workbench.services import certificates, pop
from workbench.services.ca_passwords import CAPasswords
from workbench.services.device_bundle import ONBOARDING, BundleSpec, bundle_files, write_files
from workbench.services.measurement_readback import read_back_measurement
from workbench.services.onboarding_bootstrap import BootstrapSteps
from workbench.services.onboarding_est import EstSteps
from workbench.services.onboarding_fleet import FleetSteps, hhmm
from workbench.services.platform_http import PlatformHttp
from workbench.services.token_flow import DeviceConnection

log = logging.getLogger("workbench.onboarding")

CUSTOMER_CA = "customer-ca"
PLATFORM_CA = "platform-ca"
BOOTSTRAP = "bootstrap"
#: The onboarding paths and what each is in words (the CLI's --path and the page's choice).
PATHS = {CUSTOMER_CA: "customer-managed CA: your CA, upload, proof of possession, device certificate",
         PLATFORM_CA: "platform CA: the tenant CA issues over EST with a one-time password",
         BOOTSTRAP: "password device: bootstrap registration (request, acceptance, s/ucr credentials)"}


@dataclass
class OnboardingOptions:
    """Where to onboard and what to create; only URL, credentials and trust differ for a real tenant."""

    http: PlatformHttp
    mqtt_host: str
    mqtt_port: int
    workspace: Path
    out_dir: Path
    ca_password: bytes = field(repr=False)
    keystore_password: bytes = field(repr=False)
    ca_name: str | None = None  # None: create a new CA
    device_id: str = ""
    key_type: KeySpec = KeySpec.EC_P256
    keystore_type: str = "pkcs12"
    server_trust: tuple[x509.Certificate, ...] = ()  # empty: the system's trust store
    jwks: bool = False  # verify the token with /.well-known/jwks.json (the local platform publishes one)
    devices: int = 0  # > 0: the fleet variant with bulk registration
    keep_connection: bool = False  # True: the device stays connected after the run (the GUI's demo uses it)
    new_ca_name: str = ""  # the CN of a new CA ("": "Onboarding Rehearsal CA <time>")
    organization: str = "Device Onboarding Workbench"  # the O of a new CA
    path: str = CUSTOMER_CA  # one of PATHS
    otp: bytes = field(default=b"", repr=False)  # platform CA: the device's OTP when the admin registered it already
    certificate_validity: int = 0  # platform CA, local platform only: device certificates valid this many seconds
    bootstrap_user: str = ""  # bootstrap path: the bootstrap login ("": the local platform's, read over REST)
    bootstrap_password: bytes = field(default=b"", repr=False)


@dataclass
class StepResult:
    """One line of the report."""

    step: str
    ok: bool
    message: str
    seconds: float
    causes: tuple[str, ...] = ()


@dataclass
class OnboardingReport:
    """Every step's result, and what exists after the run."""

    steps: list[StepResult] = field(default_factory=list)
    created: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every step passed."""
        return bool(self.steps) and all(s.ok for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        """The machine report of `--json`."""
        return {"ok": self.ok, "steps": [vars(s) | {"causes": list(s.causes)} for s in self.steps],
                "created": self.created}


class Onboarding(FleetSteps, EstSteps, BootstrapSteps):
    """Runs the steps in order; `on_step` sees each result as soon as it is known."""

    def __init__(self, options: OnboardingOptions, on_step: Callable[[StepResult], None] = lambda r: None) -> None:
        self.o = options
        self.on_step = on_step
        self.report = OnboardingReport()
        self.tenant = ""
        self.ca_name = ""
        self.ca_cert: x509.Certificate | None = None
        self.fingerprint = ""
        self.identity: ClientIdentity | None = None
        self.connection: DeviceConnection | None = None
        self.token: DeviceToken | None = None
        self.identities: dict[str, ClientIdentity] = {}
        self.fleet_rows: list[str] = []
        self.jwks: dict[str, Any] | None = None
        self._otp = ""
        self._device_key = None
        self._csr = None
        self._enrolled = ()
        self.received: ReceivedCredentials | None = None
        self._bootstrap_connection: DeviceConnection | None = None

    async def run(self, only: tuple[str, ...] = ()) -> OnboardingReport:
        """All steps (or `only` these); stops at the first failure (the report says where and what exists)."""
        steps = [(name, step) for name, step in self.steps() if not only or name in only]
        try:
            for name, step in steps:
                started = time.monotonic()
                try:
                    message = await step()
                except WorkbenchError as exc:
                    self._record(StepResult(name, False, exc.summary, time.monotonic() - started, tuple(exc.causes)))
                    break
                self._record(StepResult(name, True, message, time.monotonic() - started))
        finally:
            if self._bootstrap_connection is not None:
                await asyncio.to_thread(self._bootstrap_connection.close)
                self._bootstrap_connection = None
            if self.connection is not None and not (self.o.keep_connection and self.report.ok):
                await asyncio.to_thread(self.connection.close)
        return self.report

    def steps(self) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
        """The step list of the chosen path: one auto-registered device, the fleet variant with bulk registration,
        the platform CA (EST) or the password device with bootstrap registration."""
        if self.o.path not in PATHS:
            raise InvalidInputError(f"'{self.o.path}' is not an onboarding path",
                                    (f"Choose one of {', '.join(PATHS)}.",))
        if self.o.path == PLATFORM_CA:
            return [("tenant_ca", self.enable_ca), ("otp", self.register_otp), ("csr", self.make_csr),
                    ("enroll", self.enroll), ("keystores", self.write_keystores), ("mqtt", self.connect),
                    ("token", self.get_token), ("measurement", self.measurement)]
        if self.o.path == BOOTSTRAP:
            return [("request", self.new_request), ("bootstrap", self.bootstrap_login),
                    ("accept", self.accept_request), ("credentials", self.receive_credentials),
                    ("mqtt", self.connect_password), ("rest", self.current_user_basic),
                    ("measurement", self.measurement_basic)]
        if self.o.devices > 0:
            return [("ca", self.create_ca), ("upload", self.upload), ("pop", self.prove),
                    ("devices", self.issue_fleet), ("register", self.register_fleet), ("fleet", self.connect_fleet),
                    ("mqtt", self.connect), ("token", self.get_token), ("rest", self.current_user),
                    ("measurement", self.measurement)]
        return [("ca", self.create_ca), ("upload", self.upload), ("pop", self.prove),
                ("device", self.issue_device), ("mqtt", self.connect), ("token", self.get_token),
                ("rest", self.current_user), ("measurement", self.measurement)]

    def _record(self, result: StepResult) -> None:
        self.report.steps.append(result)
        log.info("onboarding step %s %s: %s", result.step, "done" if result.ok else "failed", result.message)
        self.on_step(result)

    # --- 1. CA ---------------------------------------------------------------------------------------------
    async def create_ca(self) -> str:
        def work() -> str:
            passwords = CAPasswords.given(self.o.ca_password)
            if self.o.ca_name:
                _issuer, chain = certificates.unlock(self.o.workspace, self.o.ca_name, passwords)  # checks it now
                self.ca_name, self.ca_cert = self.o.ca_name, chain[0]
                return f"using CA '{self.o.ca_name}' from the CA store"
            stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H%M%S")
            base = self.o.new_ca_name or f"Onboarding Rehearsal CA {stamp}"
            taken = set(certificates.ca_names(self.o.workspace))
            cn = next(name for name in (base + (f" ({n})" if n > 1 else "") for n in range(1, len(taken) + 2))
                      if name not in taken)
            subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.o.organization),
                                 x509.NameAttribute(NameOID.COMMON_NAME, cn)])
            record = certificates.create_ca(self.o.workspace, certificates.NewCA(
                subject, self.o.key_type, root_ca_profile(), self.o.ca_password), passwords)
            self.ca_name, self.ca_cert = record.name, record.certificate
            self.report.created["ca"] = {"name": record.name, "workspace": str(self.o.workspace)}
            return f"created CA '{record.name}' ({self.o.key_type.value}) in the CA store"

        return await asyncio.to_thread(work)

    # --- 2. upload -----------------------------------------------------------------------------------------
    async def upload(self) -> str:
        assert self.ca_cert is not None
        http = self.o.http
        self.tenant = await http.tenant_id()
        auto = self.o.devices == 0  # the fleet variant registers its devices in bulk instead
        self.fingerprint = pop.fingerprint(self.ca_cert)
        try:
            await http.trusted_certificate_call(api.upload_trusted_certificate(
                self.tenant, self.ca_cert, self.ca_name, auto_registration=auto))
            verb = "uploaded"
        except PlatformRequestError as exc:
            if "409" not in exc.summary and not any("409" in c for c in exc.causes):
                raise
            await http.trusted_certificate_call(api.update_trusted_certificate(
                self.tenant, self.fingerprint, enabled=True, auto_registration=auto))
            verb = "was already uploaded; enabled"
        self.report.created["trusted_certificate"] = {"tenant": self.tenant, "fingerprint": self.fingerprint}
        return (f"{verb} '{self.ca_name}' in tenant {self.tenant} (fingerprint {self.fingerprint[:12]}…), "
                f"auto-registration {'on' if auto else 'off'}")

    # --- 3. proof of possession ----------------------------------------------------------------------------
    async def prove(self) -> str:
        proof = await pop.prove(self.o.http, self.o.workspace, self.ca_name, CAPasswords.given(self.o.ca_password),
                                self.tenant)
        state = "Complete" if proof.valid else "Incomplete"
        return f"proof of possession {state} (signed with the {proof.signature.key_description} key)"

    # --- 4. device -----------------------------------------------------------------------------------------
    async def issue_device(self) -> str:
        return await asyncio.to_thread(self._issue, self.o.device_id)

    def _issue(self, device_id: str) -> str:
        """Key, certificate, keystore (+ truststore), chain PEM and password file of one device, atomically."""
        key = self.o.key_type.generate()
        record, chain = certificates.issue_for_key(self.o.workspace, self.ca_name, device_id, key.public_key(),
                                                   device_profile(), CAPasswords.given(self.o.ca_password))
        folder = self.o.out_dir / device_id
        password = self.o.keystore_password
        spec = BundleSpec(ONBOARDING, key_pem=False, certificate_pem=False, password_file=True,
                          keystore=KeystoreOptions(self.o.keystore_type, password),
                          trust=self.o.server_trust, truststore_kind=self.o.keystore_type)
        write_files(folder, bundle_files(spec, key, chain))
        names = spec.names()
        files = [names[part] for part in ("keystore", "truststore") if part in names]
        identity = ClientIdentity(key, tuple(chain))
        self.identities[device_id] = identity
        if device_id == self.o.device_id:
            self.identity = identity
        self.report.created.setdefault("devices", []).append({"id": device_id, "folder": str(folder),
                                                               "files": files})
        return f"issued {device_id} (serial {record.certificate.serial_number:x}); {', '.join(files)} in {folder}"

    # --- 5. MQTT -------------------------------------------------------------------------------------------
    async def connect(self) -> str:
        assert self.identity is not None
        context = client_context(trust=list(self.o.server_trust) or None, identity=self.identity)
        self.connection = DeviceConnection(self.o.mqtt_host, self.o.mqtt_port, f"d:{self.o.device_id}", context)
        started = time.monotonic()
        await asyncio.to_thread(self.connection.connect)
        return (f"connected to {self.o.mqtt_host}:{self.o.mqtt_port} as d:{self.o.device_id} over mutual TLS "
                f"({(time.monotonic() - started) * 1000:.0f} ms to CONNACK 0)")

    # --- 6. token ------------------------------------------------------------------------------------------
    async def get_token(self) -> str:
        assert self.connection is not None
        jwks = None
        if self.o.jwks:
            _status, body = await self.o.http.send(api.ApiRequest("GET", "/.well-known/jwks.json", auth="none",
                                                                   what="read the token signing keys"))
            import json

            jwks = json.loads(body)
            self.jwks = jwks
        result = await asyncio.to_thread(self.connection.request_token, jwks)
        self.token = result.token
        until = result.token.expires_at
        refresh = result.token.refresh_at
        checked = "; signature verified with the platform's JWKS" if result.verified else ""
        return (f"token for {result.token.claims.get('sub')} valid until {hhmm(until)}, refresh after "
                f"{hhmm(refresh)}{checked}")

    # --- 7. REST with the token ----------------------------------------------------------------------------
    async def current_user(self) -> str:
        assert self.token is not None
        me = await self.o.http.json(api.current_user(), bearer=self.token.raw)
        return f"GET /user/currentUser with the token: {me.get('userName') or me.get('id')}"

    # --- 8. a measurement, read back -----------------------------------------------------------------------
    async def measurement(self) -> str:
        assert self.connection is not None and self.token is not None
        value = 21.5
        await asyncio.to_thread(self.connection.publish, "s/us", f"200,c8y_Temperature,T,{value},C")
        bearer = self.token.raw
        measurement, source = await read_back_measurement(lambda request: self.o.http.json(request, bearer=bearer),
                                                          self.o.device_id, value, self.connection)
        return f"sent 200,c8y_Temperature,T,{value},C; read back measurement {measurement} of device {source}"
