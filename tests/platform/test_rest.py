"""REST rules of §1, §2, §3 and §6 with a plain urllib client: uploads, the Accept quirk, tokens, options, bulk.

§ and A numbers are sections and decisions of the platform reference, docs/platform-reference.md.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import jwt
import pytest

from tests.platform.conftest import wait_event
from tests.platform.support import NOW, Rest, make_ca

TRUSTED = "/tenant/tenants/t100/trusted-certificates"


def test_upload_rules(rest: Rest, root, tmp_path: Path) -> None:
    subprocess.run(f"openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout {tmp_path}/v1.key "
                   f"-subj /CN=v1 -out {tmp_path}/v1.csr && openssl x509 -req -in {tmp_path}/v1.csr -signkey "
                   f"{tmp_path}/v1.key -days 30 -out {tmp_path}/v1.pem", shell=True, check=True, capture_output=True)
    v1 = rest.call("POST", TRUSTED, {"status": "ENABLED", "certInPemFormat": (tmp_path / "v1.pem").read_text()})
    assert v1.status == 422 and "v1" in v1.json["message"]
    assert v1.headers["Content-Type"].startswith("application/vnd.com.nsn.cumulocity.error+json")
    not_ca = rest.upload(make_ca("Device Only", ca=False))
    assert not_ca.status == 422 and "not a CA" in not_ca.json["message"]
    expired = rest.upload(make_ca("Old CA", not_after=NOW - dt.timedelta(days=1)))
    assert expired.status == 422 and "expired" in expired.json["message"]
    garbage = rest.call("POST", TRUSTED, {"status": "ENABLED", "certInPemFormat": "not a certificate"})
    assert garbage.status == 422 and "Invalid certificate data" in garbage.json["message"]
    missing = rest.call("POST", TRUSTED, {"certInPemFormat": root.pem})
    assert missing.status == 422 and "status" in missing.json["message"]
    # bare base64 DER without armour is accepted, as GO uploads it; the string "true" is accepted too
    bare = "".join(root.pem.splitlines()[1:-1])
    first = rest.call("POST", TRUSTED, {"status": "ENABLED", "autoRegistrationEnabled": "true",
                                        "certInPemFormat": bare})
    assert first.status == 201 and first.json["autoRegistrationEnabled"] is True
    duplicate = rest.upload(root)
    assert duplicate.status == 409 and "same fingerprint" in duplicate.json["message"]


def test_accept_quirk_and_crud(rest: Rest, root) -> None:
    quiet = rest.call("POST", TRUSTED, {"status": "ENABLED", "certInPemFormat": root.pem}, accept=None)
    assert quiet.status == 201 and quiet.body == b""
    listing = rest.call("GET", TRUSTED + "?withTotalElements=true").json
    assert listing["statistics"]["totalElements"] == 1
    fp = listing["certificates"][0]["fingerprint"]
    updated = rest.call("PUT", f"{TRUSTED}/{fp}", {"name": "Renamed", "status": "DISABLED", "fingerprint": "ignored"})
    assert updated.status == 200 and updated.json["name"] == "Renamed" and updated.json["status"] == "DISABLED"
    assert rest.call("GET", f"{TRUSTED}/{'0' * 40}").json["error"] == "certificate/Not Found"
    assert rest.call("DELETE", f"{TRUSTED}/{fp}").status == 204
    assert rest.call("GET", f"{TRUSTED}/{fp}").status == 404
    bulk = rest.call("POST", TRUSTED + "/bulk", {"certificates": [
        {"status": "ENABLED", "certInPemFormat": make_ca("A").pem}, {"status": "ENABLED",
                                                                     "certInPemFormat": make_ca("B").pem}]})
    assert bulk.status == 201 and len(bulk.json["certificates"]) == 2
    assert rest.call("POST", f"/tenant/tenants/t100/trusted-certificates-pop/{fp}/confirmed").status in (403, 404)


def test_authentication_errors(rest: Rest) -> None:
    none = rest.call("GET", "/tenant/currentTenant", auth=False)
    assert none.status == 401 and none.headers["WWW-Authenticate"] == 'Basic realm="Cumulocity"'
    bad = Rest(0, rest.ca_path, "t100/admin", "wrong")
    bad.base = rest.base
    assert bad.call("GET", "/tenant/currentTenant").json == {
        "error": "security/Unauthorized", "message": "Invalid credentials! : Bad credentials",
        "info": "https://www.cumulocity.com/guides/reference-guide/#error_reporting"}
    assert rest.call("GET", "/no/such/path").json["error"] == "general/Not Found"
    assert rest.call("GET", "/tenant/tenants/t999/trusted-certificates").status == 404
    assert rest.call("GET", "/health", auth=False).json["status"] == "UP"


def test_token_lifespan_option(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    too_short = rest.call("POST", "/tenant/options", {"category": "oauth.internal",
                                                      "key": "device-token.lifespan.seconds", "value": "200"})
    assert too_short.status == 422 and "at least 300" in too_short.json["message"]
    ok = rest.call("POST", "/tenant/options", {"category": "oauth.internal", "key": "device-token.lifespan.seconds",
                                               "value": "600"})
    assert ok.status == 200 and ok.json["value"] == "600"
    assert rest.call("GET", "/tenant/options/oauth.internal/device-token.lifespan.seconds").json["value"] == "600"
    client = device(root.issue("dev-600"))
    assert client.connect() == 0
    claims = jwt.decode(client.token(), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 600


def test_half_life_reuse_and_expiry_with_a_fake_clock(settings, root, tmp_path: Path) -> None:
    now = [NOW.timestamp()]
    settings.clock = lambda: now[0]
    from embedded_broker.local_platform import BackgroundLocalPlatform
    from tests.platform.support import Device

    with BackgroundLocalPlatform(settings) as background:
        rest = Rest(background.ports["https"], background.local.server_ca_path, "t100/admin",
                    background.local.admin_password)
        rest.upload(root)
        files = root.issue("dev-clock").write(tmp_path, "dev-clock")
        client = Device(background.ports["mqtts"], background.local.server_ca_path, "d:dev-clock", files)
        try:
            assert client.connect() == 0
            first = client.token()
            now[0] += 1799
            assert client.token() == first  # before half-life: the same token
            now[0] += 2
            second = client.token()
            assert second != first
            assert rest.call("GET", "/user/currentUser", token=first).status == 200  # still valid until exp
            now[0] += 3600
            expired = rest.call("GET", "/user/currentUser", token=second)
            assert expired.status == 401 and "expired" in expired.json["message"].lower()
        finally:
            client.close()


def test_tampered_and_unsigned_tokens_are_refused(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    client = device(root.issue("dev-tamper"))
    assert client.connect() == 0
    token = client.token()
    header, payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode({**claims, "sub": "admin"}, key=None, algorithm="none")  # type: ignore[arg-type]
    assert rest.call("GET", "/user/currentUser", token=forged).status == 401
    flipped = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert rest.call("GET", "/user/currentUser", token=flipped).status == 401
    assert rest.call("GET", "/user/currentUser", token=token).status == 200


def test_device_access_token_over_mtls(local, rest: Rest, root, tmp_path: Path) -> None:
    rest.upload(root)
    inter = root.issue("Field Intermediate", ca=True)
    dev = inter.issue("dev-rest")
    files = dev.write(tmp_path, "dev-rest")
    answer = rest.call("POST", "/devicecontrol/deviceAccessToken", auth=False, cert=files)
    assert answer.status == 200, answer.body
    claims = jwt.decode(answer.json["accessToken"], options={"verify_signature": False})
    assert claims["sub"] == "device_dev-rest"
    wait_event(local, "registered", lambda e: e["device"] == "dev-rest")
    # with the X-Ssl-Cert-Chain header (the chain on one line, newlines as spaces)
    header = dev.chain_pem().decode().replace("\n", " ").strip()
    again = rest.call("POST", "/devicecontrol/deviceAccessToken", auth=False, cert=files,
                      headers={"X-Ssl-Cert-Chain": header})
    assert again.status == 200 and again.json["accessToken"] == answer.json["accessToken"]
    broken = rest.call("POST", "/devicecontrol/deviceAccessToken", auth=False, cert=files,
                       headers={"X-Ssl-Cert-Chain": "-----BEGIN CERTIFICATE----- AAAA -----END CERTIFICATE-----"})
    assert broken.status == 400 and broken.json["error"] == "Device Certificates/Bad Request"
    nocert = rest.call("POST", "/devicecontrol/deviceAccessToken", auth=False)
    assert nocert.status == 401 and "client certificate is required" in nocert.json["message"]


def test_device_access_token_without_registration_is_422(local, rest: Rest, root, tmp_path: Path) -> None:
    rest.upload(root, auto=False)
    files = root.issue("dev-unreg").write(tmp_path, "dev-unreg")
    answer = rest.call("POST", "/devicecontrol/deviceAccessToken", auth=False, cert=files)
    assert answer.status == 422
    assert answer.json["error"] == "Auto registeration is failed for device/Unprocessable Entity"
    assert answer.json["message"].startswith("Cannot process certificate data.")


def test_bulk_registration_then_connect_with_auto_registration_off(local, rest: Rest, root, device) -> None:
    rest.upload(root, auto=False)
    csv = (b"ID;AUTH_TYPE;CREDENTIALS;TYPE;NAME;IDTYPE;com_cumulocity_model_Agent.active\n"
           b"wb-dev-0001;CERTIFICATES;;c8y_Device;Workbench device 1;c8y_Serial;true\n"
           b"wb-dev-0002;CERTIFICATES;;c8y_Device;Workbench device 2;c8y_Serial;true\n"
           b"bad:id;CERTIFICATES;;c8y_Device;Bad;c8y_Serial;true\n"
           b"wb-dev-0003;BASIC;;c8y_Device;No password;c8y_Serial;true\n")
    answer = rest.multipart("/devicecontrol/bulkNewDeviceRequests", "devices.csv", csv)
    assert answer.status == 201, answer.body
    body = answer.json
    assert (body["numberOfAll"], body["numberOfCreated"], body["numberOfFailed"], body["numberOfSuccessful"]) == \
        (4, 2, 2, 2)
    reasons = {f["deviceId"]: f["failureReason"] for f in body["failedCreationList"]}
    assert "must not contain ':'" in reasons["bad:id"] and "CREDENTIALS is required" in reasons["wb-dev-0003"]
    external = rest.call("GET", "/identity/externalIds/c8y_Serial/wb-dev-0001").json
    mo = rest.call("GET", f"/inventory/managedObjects/{external['managedObject']['id']}").json
    assert mo["name"] == "Workbench device 1" and mo["com_cumulocity_model_Agent"] == {"active": "true"}
    client = device(root.issue("wb-dev-0001"))
    assert client.connect() == 0  # bulk-registered devices are accepted whatever the flag says (platform reference A12)
    again = rest.multipart("/devicecontrol/bulkNewDeviceRequests", "devices.csv",
                           b"ID\tAUTH_TYPE\nwb-dev-0001\tCERTIFICATES\n")
    assert again.json["credentialUpdatedList"] == [{"bulkNewDeviceStatus": "CREDENTIAL_UPDATED",
                                                     "deviceId": "wb-dev-0001"}]
    invalid = rest.multipart("/devicecontrol/bulkNewDeviceRequests", "devices.csv", b"NAME;TYPE\nx;y\n")
    assert invalid.status == 422 and "ID" in invalid.json["message"]


def test_verify_cert_chain_by_header_and_file(rest: Rest, root) -> None:
    rest.upload(root)
    dev = root.issue("dev-check")
    header = ",".join(c.replace("\n", " ") for c in dev.chain_pem().decode().split("\n-----BEGIN")
                      ).replace(", CERTIFICATE", ",-----BEGIN CERTIFICATE")
    answer = rest.call("POST", "/tenant/trusted-certificates/verify-cert-chain",
                       headers={"X-Cumulocity-Client-Cert-Chain": header})
    assert answer.status == 200, answer.body
    assert answer.json == {"successfullyValidated": True, "tenantId": "t100", "subject": "CN=dev-check",
                           "issuer": "CN=Rehearsal Root CA"}
    form = rest.multipart("/tenant/trusted-certificates/verify-cert-chain", "chain.pem", dev.chain_pem(),
                          {"tenantId": "t100"})
    assert form.status == 200 and form.json["tenantId"] == "t100"
    stranger = make_ca("Stranger").issue("dev-stranger")
    refused = rest.multipart("/tenant/trusted-certificates/verify-cert-chain", "chain.pem", stranger.chain_pem())
    assert refused.status == 401 and refused.json["message"].startswith("Invalid certificate chain!")
    unknown = rest.multipart("/tenant/trusted-certificates/verify-cert-chain", "chain.pem", dev.chain_pem(),
                             {"tenantId": "t999"})
    assert unknown.status == 404 and unknown.json["message"] == "Tenant Id doesn't exists"


@pytest.mark.parametrize("payload", [b"", b"\x00\xff garbage"])
def test_bulk_registration_rejects_unreadable_files(rest: Rest, payload: bytes) -> None:
    answer = rest.multipart("/devicecontrol/bulkNewDeviceRequests", "devices.csv", payload)
    assert answer.status == 422
