"""Tenant CA and EST enrolment on the local platform (platform reference §8, §2.4, §3.2, §3.4), black-box: curl for
EST with `--data-binary @csr.b64 -H 'Content-Type: application/pkcs10'`, openssl for keys, CSRs, `pkcs7
-print_certs` and `verify`, paho for MQTT."""

from __future__ import annotations

import base64
import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from embedded_broker.local_platform import BackgroundLocalPlatform, PlatformSettings
from tests.platform.conftest import wait_event
from tests.platform.support import Device, Rest

pytestmark = pytest.mark.skipif(not (shutil.which("curl") and shutil.which("openssl")),
                                reason="needs curl and openssl")
NO_REQUEST = ("No newDeviceRequest found for this ID. It may already be registered, check the audit logs for "
              "details.")
PKCS7 = "application/pkcs7-mime; smime-type=certs-only"


def run(*args: str, stdin: bytes | None = None) -> bytes:
    """A command's stdout (it must succeed)."""
    done = subprocess.run(args, input=stdin, capture_output=True, timeout=30, check=False)
    assert done.returncode == 0, f"{args[0]} failed: {done.stderr.decode()}"
    return done.stdout


def enable_ca(rest: Rest) -> Path:
    """Feature on, tenant CA created; the CA's PEM file for openssl verify."""
    assert rest.call("PUT", "/features/certificate-authority/by-tenant", {"active": True}).status == 200
    created = rest.call("POST", "/certificate-authority")
    assert created.status == 201, created.body
    pem = rest.ca_path.parent / "tenant-ca.pem"
    b64 = created.json["certInPemFormat"]
    pem.write_text("-----BEGIN CERTIFICATE-----\n" + "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
                   + "\n-----END CERTIFICATE-----\n")
    return pem


def make_csr(folder: Path, cn: str, *extra: str) -> tuple[Path, Path]:
    """openssl: an EC P-256 key and its CSR as base64 DER (what EST sends); (key, csr.b64)."""
    key, der, b64 = folder / f"{cn}.key", folder / f"{cn}.csr.der", folder / f"{cn}.csr.b64"
    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
        str(key), "-subj", f"/CN={cn}", "-outform", "DER", "-out", str(der), *extra)
    b64.write_bytes(run("openssl", "base64", "-in", str(der)))
    return key, b64


class Est:
    """curl against the EST paths of one platform."""

    def __init__(self, rest: Rest, folder: Path) -> None:
        self.rest, self.folder = rest, folder
        self.count = 0

    def post(self, path: str, csr: Path, *, basic: str | None = None, bearer: str | None = None,
             cert: tuple[Path, Path] | None = None, content_type: str = "application/pkcs10") -> tuple[int, str,
                                                                                                          bytes]:
        """(status, content type, body) of one curl call."""
        self.count += 1
        body, headers = self.folder / f"answer{self.count}", self.folder / f"headers{self.count}"
        args = ["curl", "-sS", "--cacert", str(self.rest.ca_path), "-o", str(body), "-D", str(headers), "-w",
                "%{http_code}", "--data-binary", f"@{csr}", "-H", f"Content-Type: {content_type}"]
        if basic is not None:
            args += ["-u", basic]
        if bearer is not None:
            args += ["-H", f"Authorization: Bearer {bearer}"]
        if cert is not None:
            args += ["--cert", str(cert[0]), "--key", str(cert[1])]
        status = int(run(*args, f"{self.rest.base}{path}").decode())
        lines = headers.read_text().splitlines()
        kind = next((line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("content-type:")), "")
        return status, kind, body.read_bytes()

    def certificate(self, answer: bytes, name: str) -> Path:
        """openssl: the certificate of a PKCS#7 certs-only answer, as a PEM file."""
        der = run("openssl", "base64", "-d", stdin=answer)
        pem = run("openssl", "pkcs7", "-inform", "DER", "-print_certs", stdin=der)
        path = self.folder / f"{name}.pem"
        path.write_bytes(pem)
        return path


def register(rest: Rest, device_id: str, otp: str) -> None:
    created = rest.call("POST", "/devicecontrol/newDeviceRequests", {"id": device_id, "enrollmentToken": otp})
    assert created.status == 201, created.body
    assert "enrollmentToken" not in created.json and otp not in created.body.decode()


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_feature_toggle_and_tenant_ca(rest: Rest) -> None:
    feature = rest.call("GET", "/features/certificate-authority").json
    assert feature == {"key": "certificate-authority", "phase": "PUBLIC_PREVIEW", "strategy": "TENANT",
                       "active": False}
    off = rest.call("POST", "/certificate-authority")
    assert off.status == 404 and "feature is disabled" in off.json["message"]
    assert rest.call("PUT", "/features/certificate-authority/by-tenant", {"active": "maybe"}).status == 422
    assert rest.call("PUT", "/features/certificate-authority/by-tenant/t999", {"active": True}).status == 404
    assert rest.call("GET", "/features/no-such-feature").status == 404
    enable_ca(rest)
    found = rest.call("GET", "/tenant/tenants/t100/trusted-certificates?certificateAuthority=true").json
    [ca] = found["certificates"]
    assert ca["tenantCertificateAuthority"] is True and ca["subject"].startswith("CN=t100, O=Cumulocity")
    assert ca["status"] == "ENABLED"
    days = (dt.datetime.fromisoformat(ca["notAfter"]) - dt.datetime.fromisoformat(ca["notBefore"])).days
    assert days == 1095
    again = rest.call("POST", "/certificate-authority")
    assert again.status == 409 and again.json["error"].endswith("Duplicate")
    renew = rest.call("POST", "/certificate-authority/renew")
    assert renew.status == 422 and "18 months" in renew.json["message"]
    assert rest.call("GET", "/tenant/tenants/t100/trusted-certificates?certificateAuthority=false").json[
        "certificates"] == []


def test_enroll_with_curl_and_openssl(local: BackgroundLocalPlatform, rest: Rest, tmp_path: Path) -> None:
    ca_pem = enable_ca(rest)
    est = Est(rest, tmp_path)
    register(rest, "est-1", "Xy7-one-time-password-31-chars")
    key, csr = make_csr(tmp_path, "est-1")
    status, kind, answer = est.post("/.well-known/est/simpleenroll", csr, basic="est-1:Xy7-one-time-password-31-chars")
    assert status == 201, answer
    assert kind.replace(" ", "") == PKCS7.replace(" ", "")
    pem = est.certificate(answer, "est-1")
    assert run("openssl", "verify", "-CAfile", str(ca_pem), str(pem)).strip().endswith(b"OK")
    cert = load(pem)
    assert cert.subject.rfc4514_string() == "CN=est-1"
    assert 364 <= (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 366
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    wait_event(local, "certificate_enrolled", lambda e: e["device"] == "est-1")
    audit = rest.call("GET", "/audit/auditRecords?type=TenantCertificateAuthority").json["auditRecords"]
    assert [a["c8y_DeviceId"] for a in audit] == ["est-1"]
    assert f"{cert.serial_number:x}" in audit[0]["text"].lower()
    # the OTP is used up; a wrong one and an unregistered device get the same 401
    for login in ("est-1:Xy7-one-time-password-31-chars", "est-1:wrong", "nobody:whatever"):
        status, _kind, answer = est.post("/.well-known/est/simpleenroll", csr, basic=login)
        assert status == 401, login
        assert NO_REQUEST in answer.decode()
    # the device exists now: registered with certificates, its managed object created
    device = rest.call("GET", "/identity/externalIds/c8y_Serial/est-1")
    assert device.status == 200
    # MQTT over 8883 with the enrolled certificate and the key that never left the device
    client = Device(local.ports["mqtts"], rest.ca_path, "est-1", (pem, key))
    try:
        assert client.connect() == 0
        assert client.token()
    finally:
        client.close()


def test_csr_refusals_keep_the_otp(rest: Rest, tmp_path: Path) -> None:
    enable_ca(rest)
    est = Est(rest, tmp_path)
    register(rest, "est-2", "otp-2")
    _key, wrong_cn = make_csr(tmp_path, "someone-else")
    status, _kind, answer = est.post("/.well-known/est/simpleenroll", wrong_cn, basic="est-2:otp-2")
    assert status == 422 and b"must be the device id" in answer
    ca_dir = tmp_path / "ca"
    ca_dir.mkdir()
    _key, ca_csr = make_csr(ca_dir, "est-2", "-addext", "basicConstraints=critical,CA:TRUE")
    status, _kind, answer = est.post("/.well-known/est/simpleenroll", ca_csr, basic="est-2:otp-2")
    assert status == 422 and b"CA:TRUE" in answer
    garbage = tmp_path / "garbage.b64"
    garbage.write_text("this is no CSR")
    assert est.post("/.well-known/est/simpleenroll", garbage, basic="est-2:otp-2")[0] == 400
    _key, good = make_csr(tmp_path, "est-2")
    assert est.post("/.well-known/est/simpleenroll", good, basic="est-2:otp-2", content_type="text/plain")[0] == 415
    status, _kind, answer = est.post("/.well-known/est/simpleenroll", good)
    assert status == 401 and b"Traceback" not in answer
    assert est.post("/.well-known/est/simpleenroll", good, basic="est-2:otp-2")[0] == 201


def test_reenroll_direct_mtls_and_cacerts(local: BackgroundLocalPlatform, rest: Rest, tmp_path: Path) -> None:
    ca_pem = enable_ca(rest)
    est = Est(rest, tmp_path)
    register(rest, "est-3", "otp-3")
    key, csr = make_csr(tmp_path, "est-3")
    first = est.certificate(est.post("/.well-known/est/simpleenroll", csr, basic="est-3:otp-3")[2], "first")
    # direct mTLS REST: a valid client certificate and no Authorization header is the device
    me = rest.call("GET", "/user/currentUser", auth=False, cert=(first, key))
    assert me.status == 200 and me.json["userName"] == "device_est-3"
    assert rest.call("GET", "/inventory/managedObjects?pageSize=100", auth=False, cert=(first, key)).status == 200
    # re-enrolment: mTLS alone is refused; a device token works; a new serial, the same CN
    status, _kind, answer = est.post("/.well-known/est/simplereenroll", csr, cert=(first, key))
    assert status == 401
    token = rest.call("POST", "/devicecontrol/deviceAccessToken", auth=False, cert=(first, key)).json["accessToken"]
    new_dir = tmp_path / "new"
    new_dir.mkdir()
    _new_key, new_csr = make_csr(new_dir, "est-3")
    status, kind, answer = est.post("/.well-known/est/simplereenroll", new_csr, bearer=token)
    assert status == 201 and kind.startswith("application/pkcs7-mime")
    second = est.certificate(answer, "second")
    assert load(second).serial_number != load(first).serial_number
    assert run("openssl", "verify", "-CAfile", str(ca_pem), str(second)).strip().endswith(b"OK")
    wait_event(local, "certificate_reenrolled", lambda e: e["device"] == "est-3")
    # a token may only renew its own device id
    _k, other = make_csr(tmp_path, "est-other")
    assert est.post("/.well-known/est/simplereenroll", other, bearer=token)[0] == 422
    # an admin is no device
    assert est.post("/.well-known/est/simplereenroll", new_csr, basic=f"{rest.user}:{rest.password}")[0] == 403
    # cacerts: the tenant CA as PKCS#7
    cacerts = tmp_path / "cacerts.b64"
    run("curl", "-sS", "--cacert", str(rest.ca_path), "-o", str(cacerts), f"{rest.base}/.well-known/est/cacerts")
    assert est.certificate(cacerts.read_bytes(), "cacerts").read_text().count("BEGIN CERTIFICATE") == 1
    assert load(tmp_path / "cacerts.pem") == load(ca_pem)
    audit = rest.call("GET", "/audit/auditRecords?pageSize=10").json["auditRecords"]
    assert [a["activity"].split(" (CA) ")[1].split(" ")[0] for a in audit] == ["signed", "re-signed"]


def test_bulk_csv_otp_and_short_validity(rest: Rest, tmp_path: Path) -> None:
    enable_ca(rest)
    csv = (b"ID;AUTH_TYPE;ENROLLMENT_OTP;TYPE;NAME;com_cumulocity_model_Agent.active\n"
           b"bulk-otp-1;CERTIFICATES;bulk-secret-1;c8y_Device;Bulk 1;true\n"
           b"bulk-otp-2;BASIC;bulk-secret-2;c8y_Device;Bulk 2;true\n")
    answer = rest.multipart("/devicecontrol/bulkNewDeviceRequests", "devices.csv", csv)
    assert answer.status == 201 and answer.json["numberOfSuccessful"] == 1
    assert rest.call("GET", "/devicecontrol/newDeviceRequests/bulk-otp-1").json["status"] == "ACCEPTED"
    refused = rest.call("PUT", "/tenant/options/local-platform/est.certificate.validity.seconds", {"value": "10"})
    assert refused.status == 422
    assert rest.call("PUT", "/tenant/options/local-platform/est.certificate.validity.seconds",
                     {"value": "600"}).status == 200
    est = Est(rest, tmp_path)
    _key, csr = make_csr(tmp_path, "bulk-otp-1")
    status, _kind, body = est.post("/.well-known/est/simpleenroll", csr, basic="bulk-otp-1:bulk-secret-1")
    assert status == 201
    cert = load(est.certificate(body, "bulk"))
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).total_seconds() == 660  # 600 + the minute back


@pytest.fixture
def moving_clock(settings: PlatformSettings) -> list[float]:
    """A platform clock the test moves forward (seconds added to the real time)."""
    import time

    offset = [0.0]
    settings.clock = lambda: time.time() + offset[0]
    return offset


def test_ca_renewal_keeps_the_key(moving_clock: list[float], rest: Rest, tmp_path: Path) -> None:
    enable_ca(rest)
    register(rest, "est-4", "otp-4")
    _key, csr = make_csr(tmp_path, "est-4")
    est = Est(rest, tmp_path)
    device = load(est.certificate(est.post("/.well-known/est/simpleenroll", csr, basic="est-4:otp-4")[2], "dev"))
    old = _ca(rest)
    moving_clock[0] = 600 * 86400.0  # 495 days of 1095 left: renewable
    renewed = rest.call("POST", "/certificate-authority/renew")
    assert renewed.status == 201, renewed.body
    new = _ca(rest)
    assert new.public_key() == old.public_key() and new.subject == old.subject
    assert new.not_valid_after_utc > old.not_valid_after_utc + dt.timedelta(days=500)
    device.verify_directly_issued_by(new)  # devices enrolled before still chain to it
    assert renewed.json["tenantCertificateAuthority"] is True
    listed = rest.call("GET", "/tenant/tenants/t100/trusted-certificates?certificateAuthority=true").json
    assert len(listed["certificates"]) == 1


def _ca(rest: Rest) -> x509.Certificate:
    [ca] = rest.call("GET", "/tenant/tenants/t100/trusted-certificates?certificateAuthority=true").json["certificates"]
    return x509.load_der_x509_certificate(base64.b64decode(ca["certInPemFormat"]))


def test_other_tenants_and_devices_are_kept_out(local: BackgroundLocalPlatform, rest: Rest, tmp_path: Path) -> None:
    enable_ca(rest)
    created = rest.call("POST", "/platform/tenants", {"id": "t200"})
    assert created.status == 201, created.body
    other = rest.as_user("t200/admin", created.json["password"])
    assert other.call("GET", "/tenant/tenants/t100/trusted-certificates?certificateAuthority=true").status == 403
    assert other.call("PUT", "/features/certificate-authority/by-tenant/t100", {"active": False}).status == 403
    assert other.call("POST", "/certificate-authority").status == 404  # its own feature is off
    assert other.call("GET", "/audit/auditRecords").json["auditRecords"] == []
    register(rest, "est-5", "otp-5")
    _key, csr = make_csr(tmp_path, "est-5")
    est = Est(rest, tmp_path)
    status, _kind, answer = est.post("/.well-known/est/simpleenroll", csr, basic="t200/est-5:otp-5")
    assert status == 401 and NO_REQUEST in answer.decode()
    assert est.post("/.well-known/est/simpleenroll", csr, basic="t100/est-5:otp-5")[0] == 201
