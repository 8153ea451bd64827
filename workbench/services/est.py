"""EST enrolment with the tenant CA, in one home for the CLI (`workbench est`), the onboarding flow and the GUI.

Why: in the platform-CA path the device makes its own key and CSR, enrolls with a one-time password and renews
before expiry; nobody handles a CA key. This service prepares the tenant CA, registers a device with an OTP,
enrolls and re-enrolls over EST, and writes the device folder through the one bundle writer
(`services/device_bundle.py`). The wire calls are the sans-IO requests of `core/platform_client/est.py`, sent by
`services/platform_http.py`, against the local platform or a tenant alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509

from workbench.core.keystore.operations import read_store
from workbench.core.pki.fleet import KeystoreOptions
from workbench.core.pki.keys import KeySpec, PrivateKey, load_private_key, public_key_matches
from workbench.core.platform_client import est as api
from workbench.core.tls import ClientIdentity, client_context, identity_from_store
from workbench.errors import CertificateError, InvalidInputError, PlatformRequestError
from workbench.services.device_bundle import ONBOARDING, BundleSpec, bundle_files, check_folder_free, write_files
from workbench.services.platform_http import PlatformHttp


@dataclass(frozen=True)
class KeySource:
    """Where the device key comes from: generated (`generate`), a PEM/DER key file, or a keystore's key entry."""

    generate: KeySpec | None = KeySpec.EC_P256
    key_file: Path | None = None
    keystore: Path | None = None
    password: bytes | None = field(default=None, repr=False)  # of the key file or the keystore
    alias: str | None = None

    def load(self) -> tuple[PrivateKey, tuple[x509.Certificate, ...]]:
        """The key, and the chain that came with it (a keystore's entry; empty otherwise).

        Raises:
            InvalidInputError: a file that cannot be read; KeyMaterialError/PasswordError/KeystoreError from the
                readers.
        """
        if self.keystore is not None:
            identity = identity_from_store(read_store(self.keystore, self.password or b""), self.alias)
            return identity.key, identity.chain  # type: ignore[return-value]
        if self.key_file is not None:
            try:
                data = self.key_file.read_bytes()
            except OSError as exc:
                raise InvalidInputError(f"Cannot read the key file '{self.key_file}'",
                                        (exc.strerror or str(exc),)) from exc
            return load_private_key(data, self.password), ()
        return (self.generate or KeySpec.EC_P256).generate(), ()


@dataclass(frozen=True)
class DeviceFolder:
    """Where the enrolled device's files go, and how its keystores are protected."""

    folder: Path
    keystore_password: bytes = field(repr=False)
    keystore_kind: str = "pkcs12"
    server_trust: tuple[x509.Certificate, ...] = ()  # the platform's server CA for the truststore (none: system)
    replace: bool = False  # re-enrolment refreshes the files in place

    def spec(self) -> BundleSpec:
        """The bundle: key, certificate, chain, deviceKeystore and (with a server CA) truststore."""
        return BundleSpec(ONBOARDING, keystore=KeystoreOptions(self.keystore_kind, self.keystore_password),
                          trust=self.server_trust, truststore_kind=self.keystore_kind, password_file=True)


class CertificateFacts:
    """The serial and expiry of a device certificate as every view and `--json` shows them; one spelling for all."""

    if TYPE_CHECKING:
        @property
        def certificate(self) -> x509.Certificate:
            """The device certificate (a field or a property of the class that mixes this in)."""

    @property
    def serial_hex(self) -> str:
        """The certificate's serial number in hex (as the audit record and `workbench ca list` show it)."""
        return f"{self.certificate.serial_number:x}"

    @property
    def not_after(self) -> dt.datetime:
        """When the certificate expires."""
        return self.certificate.not_valid_after_utc


@dataclass(frozen=True)
class Enrolled(CertificateFacts):
    """The outcome of an enrolment or re-enrolment."""

    device_id: str
    key: PrivateKey = field(repr=False)
    chain: tuple[x509.Certificate, ...]  # device certificate first, then the tenant CA when known
    files: dict[str, Path]
    renewed: bool = False

    @property
    def certificate(self) -> x509.Certificate:
        """The device certificate."""
        return self.chain[0]


async def set_certificate_validity(http: PlatformHttp, seconds: int) -> None:
    """Local platform only: make the tenant CA issue certificates valid `seconds`, to rehearse renewal."""
    await http.send(api.set_validity(seconds))


async def prepare_tenant_ca(http: PlatformHttp) -> x509.Certificate:
    """Turn the feature on and create the tenant CA, or find the one there is; its certificate.

    Raises:
        PlatformRequestError: the platform refused (no admin rights, feature unavailable).
    """
    await http.send(api.enable_feature(True))
    try:
        data = await http.json(api.create_ca())
    except PlatformRequestError as exc:
        if "HTTP 409" not in exc.summary:
            raise
        tenant = await http.tenant_id()
        found = await http.json(api.find_ca(tenant))
        data = next(iter((found or {}).get("certificates") or []), None)
    certificate = api.certificate_of(data)
    if certificate is None:
        raise PlatformRequestError("The platform answered without the tenant CA certificate",
                                   ("Check that the request carries 'Accept: application/json'.",))
    return certificate


async def register(http: PlatformHttp, device_id: str, otp: str | None = None) -> str:
    """Register a device with a one-time password (a new one unless given); the OTP, to hand to the device."""
    otp = otp or api.new_otp()
    await http.send(api.register_with_otp(device_id, otp))
    return otp


async def ca_certificates(http: PlatformHttp) -> list[x509.Certificate]:
    """The tenant CA from `/.well-known/est/cacerts`."""
    _status, body = await http.send(api.cacerts())
    return api.read_pkcs7(body)


async def enroll(http: PlatformHttp, device_id: str, otp: str, key_source: KeySource,
                 output: DeviceFolder) -> Enrolled:
    """Key and CSR on the device, `simpleenroll` with `<id>:<OTP>`, then the device folder.

    Raises:
        InvalidInputError: the folder already holds a device bundle (and `replace` is off); a bad device id.
        PlatformRequestError: the platform refused (wrong or used OTP: 401 with its message).
        CertificateError: the answer holds no certificate for this key.
    """
    if not device_id or any(c in device_id for c in ":/+# "):
        raise InvalidInputError(f"'{device_id}' is not a device id", ("A device id has no spaces, ':', '/', '+' "
                                                                      "or '#'.",))
    if not output.replace:
        check_folder_free(output.folder, ONBOARDING)
    key, _chain = key_source.load()
    _status, body = await http.send(api.simple_enroll(device_id, otp, api.make_csr(key, device_id)))
    return await _finish(http, device_id, key, body, output, renewed=False)


async def reenroll(http: PlatformHttp, identity: ClientIdentity, output: DeviceFolder, *,
                   new_key: KeySource | None = None, token: str | None = None) -> Enrolled:
    """Renew a device certificate: a device token over mTLS with the current certificate (unless given), then
    `simplereenroll` with the same key or a new one, then the folder refreshed in place.

    Raises:
        PlatformRequestError / TlsError: the platform refused the token or the re-enrolment.
        CertificateError: the current certificate has no CN, or the answer is not for this key.
    """
    cn = identity.chain[0].subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    if not cn:
        raise CertificateError("The current device certificate has no CN", ("The CN is the device id.",))
    device_id = str(cn[0].value)
    if token is None:
        tls = client_context(trust=list(output.server_trust) or None, identity=identity)
        token = await http.device_token(tls)
    key = new_key.load()[0] if new_key is not None else identity.key
    _status, body = await http.send(api.simple_reenroll(api.make_csr(key, device_id)), bearer=token)  # type: ignore[arg-type]
    replaced = DeviceFolder(output.folder, output.keystore_password, output.keystore_kind, output.server_trust,
                            replace=True)
    return await _finish(http, device_id, key, body, replaced, renewed=True)  # type: ignore[arg-type]


async def _finish(http: PlatformHttp, device_id: str, key: PrivateKey, body: bytes, output: DeviceFolder, *,
                  renewed: bool) -> Enrolled:
    leaf = certificate_for_key(key, body)
    chain = (leaf, *await issuers_of(http, leaf))
    files = write_files(output.folder, bundle_files(output.spec(), key, chain))
    return Enrolled(device_id, key, chain, files, renewed)


def certificate_for_key(key: PrivateKey, body: bytes) -> x509.Certificate:
    """The certificate of an EST answer (PKCS#7) that is for the device's key.

    Raises:
        CertificateError: the answer holds none.
    """
    certificates = api.read_pkcs7(body)
    leaf = next((c for c in certificates if public_key_matches(key, c.public_key())), None)
    if leaf is None:
        raise CertificateError("The EST answer holds no certificate for the device's key",
                               (f"{len(certificates)} certificate(s) came back.",))
    return leaf


async def issuers_of(http: PlatformHttp, leaf: x509.Certificate) -> list[x509.Certificate]:
    """The tenant CA that issued `leaf`, from `cacerts`; none when the platform does not answer (the chain file
    then holds the device certificate only)."""
    try:
        return [c for c in await ca_certificates(http) if c.subject == leaf.issuer]
    except PlatformRequestError:
        return []


def identity_from_folder(folder: Path, key_password: bytes | None = None) -> ClientIdentity:
    """The device's current key and chain from its folder (deviceKey.pem, deviceCertChain.pem).

    Raises:
        InvalidInputError: a file is missing.
    """
    names = ONBOARDING
    try:
        key = load_private_key((folder / names.key).read_bytes(), key_password)
        chain = tuple(x509.load_pem_x509_certificates((folder / names.chain).read_bytes()))
    except FileNotFoundError as exc:
        raise InvalidInputError(f"'{folder}' holds no enrolled device ({exc.filename} is missing)",
                                ("Give the folder `workbench est enroll --out` wrote, or --keystore.",)) from exc
    return ClientIdentity(key, chain)


def days_left(certificate: x509.Certificate, now: dt.datetime | None = None) -> float:
    """Days until a certificate expires (negative once it has)."""
    moment = now or dt.datetime.now(dt.UTC)
    return (certificate.not_valid_after_utc - moment).total_seconds() / 86400


def validity_fraction(certificate: x509.Certificate, now: dt.datetime | None = None) -> float:
    """How much of a certificate's validity has passed (0 at notBefore, 1 at notAfter): the renewal trigger."""
    moment = now or dt.datetime.now(dt.UTC)
    total = (certificate.not_valid_after_utc - certificate.not_valid_before_utc).total_seconds()
    return (moment - certificate.not_valid_before_utc).total_seconds() / total if total > 0 else 1.0

