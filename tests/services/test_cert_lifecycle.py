"""The certificate lifecycle service against the real local platform: an EST device and a CA-store device are
found with their expiry, filtered by "expires within N days", renewed (re-enrollment / re-issue), and their
keystores re-read by keytool and openssl as the device's software would."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from workbench.core.pki.keys import KeySpec
from workbench.core.pki.names import parse_dn
from workbench.core.pki.profiles import device_profile, root_ca_profile
from workbench.core.tls import server_context, trust_from_pem
from workbench.errors import InvalidInputError, PasswordError
from workbench.services import cert_lifecycle as lifecycle
from workbench.services import certificates, est
from workbench.services.ca_passwords import CAPasswords
from workbench.services.platform_http import PlatformCredentials, PlatformHttp

CA_PW = b"ca-password"


@pytest.fixture(scope="module")
def platform() -> Iterator[BackgroundLocalPlatform]:
    settings = PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)
    with BackgroundLocalPlatform(settings) as background:
        yield background


def _target(platform: BackgroundLocalPlatform) -> lifecycle.EstTarget:
    assert platform.local is not None and platform.local.server_ca_path is not None
    trust = tuple(trust_from_pem(platform.local.server_ca_path.read_bytes()))
    return lifecycle.EstTarget(f"https://localhost:{platform.ports['https']}", trust)


def enroll_est_device(platform: BackgroundLocalPlatform, folder: Path, device_id: str,
                      validity: int = 600) -> est.Enrolled:
    """Enable the tenant CA, register with an OTP, enroll with certificates valid `validity` seconds."""
    assert platform.local is not None
    target = _target(platform)

    async def main() -> est.Enrolled:
        credentials = PlatformCredentials("admin", platform.local.admin_password or "", "t100")
        async with PlatformHttp(target.rest_url, credentials, trust=server_context(list(target.server_trust))) as http:
            await est.prepare_tenant_ca(http)
            await est.set_certificate_validity(http, validity)
            otp = await est.register(http, device_id)
            return await est.enroll(http, device_id, otp, est.KeySource(),
                                    est.DeviceFolder(folder, b"ks-password", "pkcs12", target.server_trust))

    return asyncio.run(main())


def _keytool_serial(store: Path, password: str) -> str:
    out = subprocess.run(["keytool", "-list", "-v", "-keystore", str(store), "-storetype", "PKCS12", "-storepass",
                          password], capture_output=True, text=True, timeout=60, check=True).stdout
    return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.strip().startswith("Serial"))


def _openssl_leaf(store: Path, password: str) -> x509.Certificate:
    out = subprocess.run(["openssl", "pkcs12", "-in", str(store), "-nokeys", "-clcerts", "-passin",
                          f"pass:{password}"], capture_output=True, timeout=60, check=True).stdout
    return x509.load_pem_x509_certificates(out)[0]


def test_est_device_is_found_filtered_and_reenrolled(platform: BackgroundLocalPlatform, tmp_path: Path) -> None:
    folder = tmp_path / "est-1"
    first = enroll_est_device(platform, folder, "est-1")
    found = lifecycle.find_certificates(tmp_path / "ws", [folder], include_defaults=False)
    assert [(k.device_id, k.serial_hex, k.method, k.source) for k in found] == \
        [("est-1", first.serial_hex, lifecycle.REENROLL, lifecycle.SOURCE_FOLDER)]
    assert found[0].days_left() < 0.01
    assert lifecycle.expiring(found, 1) == found and lifecycle.expiring(found, 0.001) == []

    with pytest.raises(InvalidInputError, match="needs the platform"):
        asyncio.run(lifecycle.renew_async(found[0], lifecycle.RenewRequest(tmp_path / "ws")))
    renewed = asyncio.run(lifecycle.renew_async(found[0], lifecycle.RenewRequest(tmp_path / "ws",
                                                                                 platform=_target(platform))))
    assert renewed.method == lifecycle.REENROLL and renewed.serial_hex != first.serial_hex
    assert renewed.certificate.public_key() == first.certificate.public_key()  # the same key, a new certificate
    password = (folder / "keystorePassword.txt").read_text().strip()
    if shutil.which("keytool"):
        assert int(_keytool_serial(folder / "deviceKeystore.p12", password), 16) == renewed.certificate.serial_number
    if shutil.which("openssl"):
        assert _openssl_leaf(folder / "deviceKeystore.p12", password) == renewed.certificate
        verified = subprocess.run(["openssl", "verify", "-CAfile", str(folder / "deviceCertChain.pem"),
                                   str(folder / "deviceCert.pem")], capture_output=True, text=True, timeout=30)
        assert verified.returncode == 0, verified.stdout + verified.stderr
    again = lifecycle.find_certificates(tmp_path / "ws", [folder], include_defaults=False)
    assert [k.serial_hex for k in again] == [renewed.serial_hex]


def _ca_store_device(workspace: Path, out: Path) -> certificates.Issued:
    certificates.create_ca(workspace, certificates.NewCA(parse_dn("CN=Lifecycle Root"), KeySpec.EC_P256,
                                                         root_ca_profile(), CA_PW), CAPasswords.given(CA_PW))
    return certificates.issue_leaf(workspace, certificates.NewLeaf(
        "Lifecycle Root", "store-1", device_profile(validity_days=20), KeySpec.EC_P256, None, out, "pkcs12",
        b"shared-ks"), CAPasswords.given(CA_PW))


def test_ca_store_device_is_found_from_the_store_and_reissued(tmp_path: Path) -> None:
    workspace, out = tmp_path / "ws", tmp_path / "store-1"
    issued = _ca_store_device(workspace, out)
    found = lifecycle.find_certificates(workspace, include_defaults=False)  # the folder comes from the store's job
    assert [(k.device_id, k.ca, k.folder, k.method) for k in found] == \
        [("store-1", "Lifecycle Root", out.absolute(), lifecycle.REISSUE)]
    assert lifecycle.expiring(found, 30) == found and lifecycle.expiring(found, 10) == []

    request = lifecycle.RenewRequest(workspace, CAPasswords.given(CA_PW))
    with pytest.raises(PasswordError, match="keystore"):  # a shared keystore password is not in the folder
        lifecycle.renew(found[0], request)
    with pytest.raises(PasswordError):
        lifecycle.renew(found[0], lifecycle.RenewRequest(workspace, CAPasswords.given(b"wrong"),
                                                         keystore_password=b"shared-ks"))
    renewed = lifecycle.renew(found[0], lifecycle.RenewRequest(workspace, CAPasswords.given(CA_PW),
                                                               keystore_password=b"shared-ks"))
    old = issued.record.certificate
    assert renewed.method == lifecycle.REISSUE and renewed.certificate.serial_number != old.serial_number
    assert renewed.certificate.public_key() == old.public_key()
    assert (renewed.certificate.not_valid_after_utc - renewed.certificate.not_valid_before_utc).days == 20
    if shutil.which("openssl"):
        assert _openssl_leaf(out / "deviceKeystore.pkcs12", "shared-ks") == renewed.certificate
    if shutil.which("keytool"):
        assert int(_keytool_serial(out / "deviceKeystore.pkcs12", "shared-ks"), 16) == \
            renewed.certificate.serial_number
    assert x509.load_pem_x509_certificate((out / "deviceCert.pem").read_bytes()) == renewed.certificate
    again = lifecycle.find_certificates(workspace, include_defaults=False)
    assert [k.serial_hex for k in again] == [renewed.serial_hex]  # the superseded store record is not listed


def test_store_record_without_folder_says_why_it_cannot_be_renewed(tmp_path: Path) -> None:
    workspace, out = tmp_path / "ws", tmp_path / "gone"
    _ca_store_device(workspace, out)
    shutil.rmtree(out)
    found = lifecycle.find_certificates(workspace, include_defaults=False)
    assert [(k.source, k.method) for k in found] == [(lifecycle.SOURCE_STORE, None)]
    assert "no device folder" in found[0].why_not
    with pytest.raises(InvalidInputError, match="cannot be re-issued"):
        lifecycle.renew(found[0], lifecycle.RenewRequest(workspace, CAPasswords.given(CA_PW)))


def test_fleet_folders_and_remembered_folders(tmp_path: Path, platform: BackgroundLocalPlatform) -> None:
    fleet = tmp_path / "fleet"
    for device in ("f-1", "f-2"):
        enroll_est_device(platform, fleet / device, device)
    (fleet / "notes").mkdir()
    with pytest.raises(InvalidInputError, match="not a folder"):
        lifecycle.remember_folder(tmp_path / "missing")
    assert lifecycle.remember_folder(fleet) == [fleet.absolute()]
    found = lifecycle.find_certificates(tmp_path / "ws")
    assert sorted((k.device_id, k.source) for k in found) == [("f-1", "fleet"), ("f-2", "fleet")]
    with pytest.raises(InvalidInputError, match="fraction"):
        lifecycle.check_fraction(1.5)
