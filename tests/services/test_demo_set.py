import ipaddress
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID

from workbench.core.pki.keys import KeySpec
from workbench.errors import InvalidInputError
from workbench.services.demo_set import build_demo_set, write_demo_set

OPENSSL = shutil.which("openssl")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo") / "certs"
    write_demo_set(folder, build_demo_set(b"demo-pass"))
    return folder


def test_layout_and_modes(demo: Path) -> None:
    names = sorted(str(p.relative_to(demo)) for p in demo.rglob("*") if p.is_file())
    assert names == sorted([
        "README.md", "bulk-registration.csv", "ca/caCert.pem", "ca/caKey.pem",
        "server/serverCert.pem", "server/serverCertChain.pem", "server/serverKey.pem",
        "truststore/deviceTruststore.pkcs12",
        *(f"devices/demo-device-{i}/{f}" for i in (1, 2) for f in (
            "deviceCert.pem", "deviceCertChain.pem", "deviceKey.pem", "deviceKeystore.pkcs12")),
    ])
    for key in ("ca/caKey.pem", "server/serverKey.pem", "devices/demo-device-1/deviceKey.pem"):
        assert (demo / key).stat().st_mode & 0o777 == 0o600
        assert b"ENCRYPTED" in (demo / key).read_bytes()


def test_server_certificate_names_localhost_and_loopback(demo: Path) -> None:
    cert = x509.load_pem_x509_certificate((demo / "server/serverCert.pem").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]


@pytest.mark.interop
@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")
def test_everything_verifies_with_openssl(demo: Path) -> None:
    targets = ["server/serverCert.pem", "devices/demo-device-1/deviceCert.pem", "devices/demo-device-2/deviceCert.pem"]
    result = subprocess.run([OPENSSL, "verify", "-CAfile", "ca/caCert.pem", *targets], cwd=demo,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": OK") == 3
    check = subprocess.run([OPENSSL, "x509", "-noout", "-checkhost", "localhost", "-checkip", "127.0.0.1", "-in",
                            "server/serverCert.pem"], cwd=demo, capture_output=True, text=True, check=False)
    assert "does match certificate" in check.stdout and "NOT" not in check.stdout
    key = subprocess.run([OPENSSL, "pkey", "-noout", "-in", "devices/demo-device-2/deviceKey.pem", "-passin",
                          "pass:demo-pass"], cwd=demo, capture_output=True, check=False)
    assert key.returncode == 0


def test_keystores_and_registration_file(demo: Path) -> None:
    store = pkcs12.load_pkcs12((demo / "devices/demo-device-1/deviceKeystore.pkcs12").read_bytes(), b"demo-pass")
    assert store.cert is not None and store.cert.friendly_name == b"devicekeyentry"
    assert (demo / "bulk-registration.csv").read_text().splitlines() == [
        "ID;AUTH_TYPE;CREDENTIALS;com_cumulocity_model_Agent.active",
        "demo-device-1;CERTIFICATES;;true", "demo-device-2;CERTIFICATES;;true"]


def test_readme_explains_every_file_and_the_commands(demo: Path) -> None:
    readme = (demo / "README.md").read_text()
    for path in demo.rglob("*"):
        if path.is_file():
            assert f"`{path.relative_to(demo)}`" in readme
    for command in ("openssl verify", "openssl s_server", "openssl s_client", "keytool -list", "mosquitto_pub"):
        assert command in readme


def test_without_password_keys_are_plain_and_no_keystores(tmp_path: Path) -> None:
    files = build_demo_set(None, key_spec=KeySpec.EC_P256, device_ids=["solo"])
    paths = {f.path for f in files}
    assert "devices/solo/deviceKeystore.pkcs12" not in paths and "truststore/deviceTruststore.pkcs12" not in paths
    key = next(f for f in files if f.path == "devices/solo/deviceKey.pem")
    assert key.data.startswith(b"-----BEGIN PRIVATE KEY-----")


def test_refusals(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="':'"):
        build_demo_set(None, device_ids=["bad:id"])
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("keep")
    with pytest.raises(InvalidInputError, match="not empty"):
        write_demo_set(tmp_path / "x", build_demo_set(None, device_ids=["d"]))
    assert [p.name for p in tmp_path.iterdir()] == ["x"]
