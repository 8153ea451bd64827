import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from workbench.core.pki.fleet import FleetTemplate, KeystoreOptions
from workbench.core.pki.fleet_ids import DeviceEntry, ids_from_pattern
from workbench.core.pki.issuance import Issuer, create_root_ca, issue_certificate
from workbench.core.pki.keys import KeySpec, generate_key
from workbench.core.pki.names import parse_dn
from workbench.core.pki.profiles import intermediate_ca_profile, root_ca_profile
from workbench.errors import Cancelled, InvalidInputError, WorkbenchError
from workbench.services.device_bundle import truststore as build_truststore
from workbench.services.fleet import FleetProgress, FleetRequest, issue_fleet, random_serials

OPENSSL = shutil.which("openssl")
KEYTOOL = shutil.which("keytool")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Issuer, Issuer, Path]:
    root_key = generate_key(KeySpec.EC_P256)
    root = Issuer(create_root_ca(parse_dn("CN=Svc Root"), root_key, root_ca_profile(path_length=1)), root_key)
    key = generate_key(KeySpec.EC_P256)
    inter = Issuer(issue_certificate(parse_dn("CN=Svc Intermediate"), key.public_key(), intermediate_ca_profile(),
                                     root), key)
    folder = tmp_path_factory.mktemp("pki")
    (folder / "root.pem").write_bytes(root.certificate.public_bytes(serialization.Encoding.PEM))
    return root, inter, folder


def _leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if ".partial-" in p.name]


@needs_openssl
@pytest.mark.interop
def test_twenty_devices_on_two_workers_verify_with_openssl(pki: tuple[Issuer, Issuer, Path], tmp_path: Path) -> None:
    root, inter, folder = pki
    (tmp_path / "pw").write_text("s3cret\n")
    template = FleetTemplate.for_issuer(inter, [root.certificate], key_spec=KeySpec.EC_P256, key_password=b"s3cret")
    seen: list[FleetProgress] = []
    out = tmp_path / "fleet"
    result = issue_fleet(FleetRequest(template, ids_from_pattern("wb-dev-{n:04d}", 20), out, jobs=2),
                         progress=seen.append)
    assert result.workers == 2 and len(result.records) == 20
    assert [r.device_id for r in result.records] == [f"wb-dev-{n:04d}" for n in range(1, 21)]
    assert len({r.serial for r in result.records}) == 20
    assert seen and seen[-1].done == seen[-1].total == 20 and seen[-1].rate > 0
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    assert out.stat().st_mode & 0o777 == 0o700 and not _leftovers(tmp_path)
    for record in result.records[::4]:
        device = out / record.device_id
        assert sorted(p.name for p in device.iterdir()) == ["deviceCert.pem", "deviceCertChain.pem", "deviceKey.pem"]
        assert (device / "deviceKey.pem").stat().st_mode & 0o777 == 0o600
        chain = x509.load_pem_x509_certificates((device / "deviceCertChain.pem").read_bytes())
        assert [c.subject for c in chain[1:]] == [inter.certificate.subject, root.certificate.subject]
        verify = subprocess.run([OPENSSL, "verify", "-CAfile", str(folder / "root.pem"), "-untrusted",
                                 str(device / "deviceCertChain.pem"), str(device / "deviceCert.pem")],
                                capture_output=True, text=True, check=False)
        assert verify.returncode == 0, verify.stderr
        pkey = [OPENSSL, "pkey", "-noout", "-in", str(device / "deviceKey.pem"), "-passin"]
        assert subprocess.run([*pkey, f"file:{tmp_path / 'pw'}"], capture_output=True, check=False).returncode == 0
        assert subprocess.run([*pkey, "pass:wrong"], capture_output=True, check=False).returncode != 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["count"] == 20 and manifest["chain_to_root"] and manifest["key_encrypted"]
    assert manifest["devices"][0]["files"] == ["wb-dev-0001/deviceKey.pem", "wb-dev-0001/deviceCert.pem",
                                               "wb-dev-0001/deviceCertChain.pem"]
    assert format(result.records[0].serial, "X") == manifest["devices"][0]["serial"]
    csv_lines = (out / "bulk-registration.csv").read_text().splitlines()
    assert csv_lines[0] == "ID;AUTH_TYPE;CREDENTIALS;com_cumulocity_model_Agent.active"
    assert csv_lines[1:3] == ["wb-dev-0001;CERTIFICATES;;true", "wb-dev-0002;CERTIFICATES;;true"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_cancel_deletes_partial_output(pki: tuple[Issuer, Issuer, Path], tmp_path: Path, jobs: int) -> None:
    _, inter, _ = pki
    cancel = threading.Event()
    calls: list[int] = []

    def progress(p: FleetProgress) -> None:
        calls.append(p.done)
        cancel.set()  # cancel as soon as the first chunk is done

    out = tmp_path / "fleet"
    request = FleetRequest(FleetTemplate.for_issuer(inter), ids_from_pattern("c{n}", 200), out, jobs=jobs)
    with pytest.raises(Cancelled) as info:
        issue_fleet(request, progress=progress, cancel=cancel)
    assert calls and calls[0] < 200
    assert "deleted" in " ".join(info.value.causes)
    assert not out.exists() and not _leftovers(tmp_path)


def test_cancel_before_start_writes_nothing(pki: tuple[Issuer, Issuer, Path], tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    request = FleetRequest(FleetTemplate.for_issuer(pki[1]), ids_from_pattern("c{n}", 3), tmp_path / "f")
    with pytest.raises(Cancelled):
        issue_fleet(request, cancel=cancel)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.interop
def test_keystore_and_truststore_per_device_through_the_pool(pki: tuple[Issuer, Issuer, Path],
                                                            tmp_path: Path) -> None:
    root, inter, _ = pki
    truststore = build_truststore([root.certificate], b"ts-pass")
    template = FleetTemplate.for_issuer(inter, [root.certificate], key_password=b"pw",
                                        keystore=KeystoreOptions(password=b"ks-pass"), truststore=truststore)
    result = issue_fleet(FleetRequest(template, ids_from_pattern("k{n}", 6), tmp_path / "f", jobs=2))
    device = tmp_path / "f" / "k3"
    assert (device / "deviceTruststore.pkcs12").read_bytes() == truststore
    assert (device / "deviceKeystore.pkcs12").stat().st_mode & 0o777 == 0o600
    assert result.manifest["keystore"] == {"kind": "pkcs12", "alias": "devicekeyentry"}
    if OPENSSL:
        info = subprocess.run([OPENSSL, "pkcs12", "-info", "-noout", "-in", str(device / "deviceKeystore.pkcs12"),
                               "-passin", "pass:ks-pass"], capture_output=True, text=True, check=False)
        assert info.returncode == 0, info.stderr
    if KEYTOOL:
        listing = subprocess.run([KEYTOOL, "-list", "-v", "-storetype", "PKCS12", "-keystore",
                                  str(device / "deviceKeystore.pkcs12"), "-storepass", "ks-pass"],
                                 capture_output=True, text=True, check=False)
        assert "Entry type: PrivateKeyEntry" in listing.stdout and "Certificate chain length: 3" in listing.stdout
        trusted = subprocess.run([KEYTOOL, "-list", "-storetype", "PKCS12", "-keystore",
                                  str(device / "deviceTruststore.pkcs12"), "-storepass", "ts-pass"],
                                 capture_output=True, text=True, check=False)
        assert "servercertificate" in trusted.stdout and "trustedCertEntry" in trusted.stdout


def test_existing_output_and_bad_requests_are_refused(pki: tuple[Issuer, Issuer, Path], tmp_path: Path) -> None:
    template = FleetTemplate.for_issuer(pki[1])
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "old.txt").write_text("keep me")
    with pytest.raises(InvalidInputError, match="not empty"):
        issue_fleet(FleetRequest(template, ids_from_pattern("d{n}", 2), tmp_path / "busy"))
    assert (tmp_path / "busy" / "old.txt").read_text() == "keep me"
    with pytest.raises(InvalidInputError, match="no devices"):
        issue_fleet(FleetRequest(template, [], tmp_path / "x"))
    with pytest.raises(InvalidInputError, match="unique"):
        issue_fleet(FleetRequest(template, [DeviceEntry("a"), DeviceEntry("a")], tmp_path / "x"))
    with pytest.raises(WorkbenchError, match="serial"):
        issue_fleet(FleetRequest(template, ids_from_pattern("d{n}", 2), tmp_path / "x", serials=lambda n: [5] * n))
    assert not (tmp_path / "x").exists() and not _leftovers(tmp_path)
    (tmp_path / "empty").mkdir()
    issue_fleet(FleetRequest(template, ids_from_pattern("d{n}", 2), tmp_path / "empty", serials=lambda n: [7, 8]))
    assert sorted(p.name for p in (tmp_path / "empty").iterdir()) == ["bulk-registration.csv", "d1", "d2",
                                                                       "manifest.json"]


def test_a_failing_device_in_a_worker_reports_its_error(pki: tuple[Issuer, Issuer, Path], tmp_path: Path) -> None:
    template = FleetTemplate.for_issuer(pki[1])
    request = FleetRequest(template, [DeviceEntry("ok-1"), DeviceEntry("bad:id")], tmp_path / "f", jobs=2)
    with pytest.raises(WorkbenchError) as info:
        issue_fleet(request)
    assert type(info.value).__name__ == "PolicyError" and info.value.causes
    assert not (tmp_path / "f").exists() and not _leftovers(tmp_path)


def test_random_serials_are_unique_and_positive() -> None:
    serials = random_serials(500)
    assert len(set(serials)) == 500 and min(serials) > 0
