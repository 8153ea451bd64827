"""The onboarding's platform-CA (EST) and bootstrap-registration paths against an in-process local platform, checked
with independent clients (openssl verify, paho with the received password) and their refusals."""

from __future__ import annotations

import queue
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from tests.services.onboarding_support import run_onboarding
from workbench.core.keystore import load_keystore
from workbench.core.platform_client import device_requests as reg
from workbench.services.onboarding import BOOTSTRAP, PLATFORM_CA, Onboarding, StepResult

EST_STEPS = ["tenant_ca", "otp", "csr", "enroll", "keystores", "mqtt", "token", "measurement"]
BOOTSTRAP_STEPS = ["request", "bootstrap", "accept", "credentials", "mqtt", "rest", "measurement"]


@pytest.fixture(scope="module")
def platform() -> Iterator[BackgroundLocalPlatform]:
    settings = PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)
    with BackgroundLocalPlatform(settings) as background:
        yield background


def test_platform_ca_path_enrolls_and_the_files_verify_with_openssl(platform: BackgroundLocalPlatform,
                                                                    tmp_path: Path) -> None:
    flow, results = run_onboarding(platform, tmp_path, "est-dev-1", path=PLATFORM_CA)
    assert [r.step for r in results if r.ok] == EST_STEPS, results[-1]
    assert "tenant CA CN=t100" in results[0].message and "one-time password" in results[1].message
    assert "simpleenroll answered HTTP 201" in results[3].message
    assert "as d:est-dev-1 over mutual TLS" in results[5].message
    assert "token for device_est-dev-1" in results[6].message and "verified" in results[6].message
    assert "read back measurement" in results[7].message
    folder = tmp_path / "out" / "est-dev-1"
    assert (folder / "deviceKey.pem").stat().st_mode & 0o777 == 0o600
    assert flow.ca_cert is not None
    (tmp_path / "tenant-ca.pem").write_bytes(flow.ca_cert.public_bytes(serialization.Encoding.PEM))
    verified = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "tenant-ca.pem"),
                               str(folder / "deviceCert.pem")], capture_output=True, text=True, check=False)
    assert verified.returncode == 0 and verified.stdout.strip().endswith(": OK"), verified
    password = (folder / "keystorePassword.txt").read_text().strip().encode()
    store = load_keystore((folder / "deviceKeystore.p12").read_bytes(), password)
    [entry] = store.key_entries()
    leaf = x509.load_pem_x509_certificate((folder / "deviceCert.pem").read_bytes())
    assert leaf.subject.rfc4514_string() == "CN=est-dev-1" and leaf.issuer == flow.ca_cert.subject
    assert entry.alias == "devicekeyentry"
    assert set(flow.report.created) == {"tenant_ca", "enrolled", "devices"}  # the request is used up


def test_platform_ca_rerun_replaces_a_stale_request_and_a_wrong_otp_is_401(platform: BackgroundLocalPlatform,
                                                                          tmp_path: Path) -> None:
    def stop_after_otp(flow: Onboarding, result: StepResult) -> None:
        if result.step == "otp":
            flow._otp = "not-the-otp"  # the device holds a wrong one-time password

    _flow, results = run_onboarding(platform, tmp_path, "est-dev-2", on_step=stop_after_otp, path=PLATFORM_CA)
    failed = results[-1]
    assert (failed.step, failed.ok) == ("enroll", False), failed
    assert "401" in failed.message + " ".join(failed.causes)
    assert any("No newDeviceRequest found for this ID" in c for c in failed.causes), failed.causes
    # the run again: the request of the failed run is still there; it is replaced with a new OTP
    _flow, results = run_onboarding(platform, tmp_path, "est-dev-2", path=PLATFORM_CA)
    assert [r.step for r in results if r.ok] == EST_STEPS, results[-1]
    assert results[1].message.startswith("replaced the earlier request")


def test_bootstrap_path_and_the_received_password_works_for_paho(platform: BackgroundLocalPlatform,
                                                                  tmp_path: Path) -> None:
    flow, results = run_onboarding(platform, tmp_path, "boot-dev-1", path=BOOTSTRAP)
    assert [r.step for r in results if r.ok] == BOOTSTRAP_STEPS, results[-1]
    assert "WAITING_FOR_CONNECTION" in results[0].message
    assert "management/devicebootstrap" in results[1].message and "PENDING_ACCEPTANCE" in results[1].message
    assert "ACCEPTED" in results[2].message
    assert results[3].message.startswith("received 70,t100,device_boot-dev-1,<password> on s/dcr")
    assert "as t100/device_boot-dev-1" in results[4].message
    assert "device_boot-dev-1" in results[5].message and "read back measurement" in results[6].message
    received = flow.received
    assert received is not None and received.password not in " ".join(r.message for r in results)
    # an independent client logs in with what the device received
    assert platform.local is not None and platform.local.server_ca_path is not None
    codes: queue.Queue[int] = queue.Queue()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="d:boot-dev-1", protocol=mqtt.MQTTv311)
    client.tls_set(ca_certs=str(platform.local.server_ca_path), cert_reqs=ssl.CERT_REQUIRED)
    client.username_pw_set(received.login, received.password)
    client.on_connect = lambda c, u, f, rc, p: codes.put(rc.value)
    client.connect("127.0.0.1", platform.ports["mqtts"], 30)
    client.loop_start()
    try:
        assert codes.get(timeout=15) == 0
    finally:
        client.disconnect()
        client.loop_stop()
        client._reset_sockets()  # paho keeps its socket pair open after loop_stop (as tests/platform/support.py)


def test_bootstrap_refusals_name_the_cause(platform: BackgroundLocalPlatform, tmp_path: Path) -> None:
    _flow, results = run_onboarding(platform, tmp_path, "boot-dev-2", path=BOOTSTRAP,
                                    bootstrap_user="management/devicebootstrap", bootstrap_password=b"not-it")
    failed = results[-1]
    assert (failed.step, failed.ok) == ("bootstrap", False), failed
    assert "4" in failed.message + " ".join(failed.causes)  # CONNACK 4: bad user name or password
    assert "password" in (failed.message + " ".join(failed.causes)).lower()
    # a tenant user that is not the platform's owner cannot read the local bootstrap login: a clear message
    _flow, results = run_onboarding(platform, tmp_path, "boot-dev-3", path=BOOTSTRAP, password="wrong")
    assert (results[-1].step, results[-1].ok) == ("request", False)
    assert "401" in results[-1].message + " ".join(results[-1].causes)


def test_credentials_line_parsing() -> None:
    found = reg.parse_credentials_line('70,t100,device_x,"a,b""c"')
    assert found is not None and (found.login, found.password) == ("t100/device_x", 'a,b"c')
    assert reg.parse_credentials_line("71,abc") is None and reg.parse_credentials_line("70,t100,,pw") is None
    assert "a,b" not in repr(found)
