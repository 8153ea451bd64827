"""The platform-CA path of the onboarding (issue #17): the tenant CA issues, the device's key never leaves it.

Why a sibling of `onboarding.py`: the steps differ from the customer-CA guide up to the keystores (enable the CA,
register with a one-time password, key and CSR on the device, EST enrolment, the keystores); from there the device
connects over mutual TLS, gets its token and sends its first measurement with the shared steps of `Onboarding`.
The wire calls are those of `services/est.py` and `core/platform_client/est.py`, against the local platform or a
tenant alike; the files go through the one bundle writer (`services/device_bundle.py`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cryptography import x509

from workbench.core.pki.keys import PrivateKey, describe_key
from workbench.core.platform_client import est as est_api
from workbench.core.tls import ClientIdentity
from workbench.errors import InvalidInputError, PlatformRequestError
from workbench.services import est
from workbench.services.device_bundle import bundle_files, write_files

if TYPE_CHECKING:
    from workbench.services.onboarding import OnboardingOptions, OnboardingReport


def _day(moment: x509.Certificate) -> str:
    return moment.not_valid_after_utc.strftime("%Y-%m-%d %H:%M UTC")


class EstSteps:
    """Steps of the platform-CA path; Onboarding provides the options, the report and the shared later steps."""

    o: OnboardingOptions
    report: OnboardingReport
    tenant: str
    ca_cert: x509.Certificate | None
    identity: ClientIdentity | None
    identities: dict[str, ClientIdentity]
    _otp: str
    _device_key: PrivateKey | None
    _csr: x509.CertificateSigningRequest | None
    _enrolled: tuple[x509.Certificate, ...]

    # --- 1. the tenant CA ----------------------------------------------------------------------------------
    async def enable_ca(self) -> str:
        """Turn the certificate-authority feature on and create the tenant CA (or find the one there is)."""
        http = self.o.http
        self.tenant = await http.tenant_id()
        self.ca_cert = await est.prepare_tenant_ca(http)
        if self.o.certificate_validity:
            await est.set_certificate_validity(http, self.o.certificate_validity)
        ca = self.ca_cert
        self.report.created["tenant_ca"] = {"tenant": self.tenant, "subject": ca.subject.rfc4514_string(),
                                            "serial": f"{ca.serial_number:x}"}
        short = (f"; device certificates valid {self.o.certificate_validity} s (local rehearsal)"
                 if self.o.certificate_validity else "")
        return (f"certificate-authority on in tenant {self.tenant}; tenant CA {ca.subject.rfc4514_string()} "
                f"({describe_key(ca.public_key())}, valid until {_day(ca)}){short}")

    # --- 2. registration with a one-time password ----------------------------------------------------------
    async def register_otp(self) -> str:
        """A new device request carrying the OTP (a stale request of an earlier run is replaced)."""
        device_id = self.o.device_id
        if self.o.otp:
            self._otp = self.o.otp.decode()
            return f"using the one-time password given for {device_id} (registered by the tenant's admin)"
        try:
            self._otp = await est.register(self.o.http, device_id)
            verb = "registered"
        except PlatformRequestError as exc:
            if "409" not in exc.summary or "request" not in " ".join((exc.summary, *exc.causes)).lower():
                raise
            await self.o.http.send(est_api.delete_request(device_id))  # an earlier run's request: start over
            self._otp = await est.register(self.o.http, device_id)
            verb = "replaced the earlier request and registered"
        self.report.created["device_request"] = {"id": device_id, "tenant": self.tenant}
        return (f"{verb} {device_id} with a one-time password ({len(self._otp)} characters, handed to the device "
                "only; the platform keeps a digest)")

    # --- 3. key and CSR on the device ----------------------------------------------------------------------
    async def make_csr(self) -> str:
        """The device makes its key and a CSR with CN = its id; the key stays on the device."""
        def work() -> str:
            key = self.o.key_type.generate()
            self._device_key = key
            self._csr = est_api.make_csr(key, self.o.device_id)
            return (f"{describe_key(key.public_key())} key made on the device; CSR /CN={self.o.device_id} signed "
                    "with it (the key never leaves the device)")

        return await asyncio.to_thread(work)

    # --- 4. EST enrolment ----------------------------------------------------------------------------------
    async def enroll(self) -> str:
        """`simpleenroll` with Basic `<id>:<OTP>`; the answer's certificate for the device's key."""
        assert self._device_key is not None and self._csr is not None
        status, body = await self.o.http.send(est_api.simple_enroll(self.o.device_id, self._otp, self._csr))
        self._otp = ""  # used up: the platform removed the request
        self.report.created.pop("device_request", None)
        leaf = est.certificate_for_key(self._device_key, body)
        self._enrolled = (leaf,)
        self.report.created["enrolled"] = {"id": self.o.device_id, "serial": f"{leaf.serial_number:x}"}
        return (f"simpleenroll answered HTTP {status}: certificate serial {leaf.serial_number:x}, issued by "
                f"{leaf.issuer.rfc4514_string()}, valid until {_day(leaf)}")

    # --- 5. the keystores ----------------------------------------------------------------------------------
    async def write_keystores(self) -> str:
        """Key, certificate, chain, keystore and truststore in the device folder, through the bundle writer."""
        assert self._device_key is not None and self._enrolled
        leaf = self._enrolled[0]
        ca = await est.issuers_of(self.o.http, leaf)
        if not ca and self.ca_cert is not None and self.ca_cert.subject == leaf.issuer:
            ca = [self.ca_cert]
        chain = (leaf, *ca)
        folder = self.o.out_dir / self.o.device_id
        output = est.DeviceFolder(folder, self.o.keystore_password, self.o.keystore_type, self.o.server_trust,
                                  replace=True)
        key = self._device_key

        def work() -> list[str]:
            if folder.exists() and not folder.is_dir():
                raise InvalidInputError(f"'{folder}' is not a folder", ("Choose another output folder.",))
            return sorted(write_files(folder, bundle_files(output.spec(), key, chain)))

        files = await asyncio.to_thread(work)
        identity = ClientIdentity(key, chain)
        self.identity = identity
        self.identities[self.o.device_id] = identity
        shown = [name for name in files if "Keystore" in name or name.startswith("truststore")]
        self.report.created.setdefault("devices", []).append({"id": self.o.device_id, "folder": str(folder),
                                                               "files": files})
        return f"{', '.join(shown or files)} (chain to the tenant CA) in {folder}"
