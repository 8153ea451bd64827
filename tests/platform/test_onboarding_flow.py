"""The guide's whole flow against the local platform, with independent clients: urllib, paho and openssl."""

from __future__ import annotations

import base64
import hashlib
import ssl
import subprocess
from pathlib import Path

import jwt
import pytest

from tests.platform.conftest import events, wait_event
from tests.platform.support import Rest, make_ca


def test_upload_pop_connect_token_measurement(local, rest: Rest, root, device, tmp_path: Path) -> None:
    # 2. upload the CA with auto-registration
    answer = rest.upload(root)
    assert answer.status == 201, answer.body
    cert = answer.json
    der = root.cert.public_bytes(__import__("cryptography.hazmat.primitives.serialization",
                                            fromlist=["Encoding"]).Encoding.DER)
    assert cert["fingerprint"] == hashlib.sha1(der).hexdigest()
    assert cert["serialNumber"] == str(root.cert.serial_number)
    assert cert["subject"] == "CN=Rehearsal Root CA" and cert["version"] == 3
    assert cert["algorithmName"] == "SHA256withECDSA"
    assert cert["notBefore"].endswith("Z") and len(cert["notBefore"]) == 24
    assert cert["proofOfPossessionValid"] is False and len(cert["proofOfPossessionUnsignedVerificationCode"]) == 136
    fp = cert["fingerprint"]

    # 3. proof of possession, signed by the openssl CLI as the guide does
    code = rest.call("POST", f"/tenant/tenants/t100/trusted-certificates-pop/{fp}/verification-code").json[
        "proofOfPossessionUnsignedVerificationCode"]
    key_path = tmp_path / "ca.key"
    key_path.write_bytes(root.key_pem())
    (tmp_path / "code.txt").write_text(code + "\n")  # saved with a newline, as editors do
    signature = subprocess.run(f"openssl dgst -sha256 -sign {key_path} {tmp_path / 'code.txt'} | openssl base64 -A",
                               shell=True, check=True, capture_output=True, text=True).stdout.strip()
    wrong = rest.call("POST", f"/tenant/tenants/t100/trusted-certificates-pop/{fp}/pop",
                      {"proofOfPossessionSignedVerificationCode": base64.b64encode(b"x" * 64).decode()})
    assert wrong.status == 400 and "usage not granted" in wrong.json["message"]
    proved = rest.call("POST", f"/tenant/tenants/t100/trusted-certificates-pop/{fp}/pop",
                       {"proofOfPossessionSignedVerificationCode": signature})
    assert proved.status == 200 and proved.json["proofOfPossessionValid"] is True

    # 4. the device connects with its chain and no user name; auto-registration creates device_<CN>
    dev = root.issue("wb-dev-0001")
    client = device(dev)
    assert client.connect() == 0
    assert any(e["kind"] == "registered" and e["device"] == "wb-dev-0001" for e in events(local))

    # 6. token over s/uat, RS256 with the claims of docs/platform-reference.md A7, verifiable with the JWKS
    token = client.token()
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    jwks = rest.call("GET", "/.well-known/jwks.json", auth=False).json
    key = jwt.PyJWK(jwks["keys"][0]).key
    claims = jwt.decode(token, key, algorithms=["RS256"], audience="t100.localhost")
    assert claims["sub"] == "device_wb-dev-0001" and claims["ten"] == "t100" and claims["tfa"] is False
    assert claims["iss"] == "t100.localhost" and claims["exp"] - claims["iat"] == 3600
    assert {"jti", "tci", "xsrfToken", "nbf"} <= set(claims)
    assert client.token() == token  # platform reference A6: before half-life the same token

    # 7. the token as Bearer
    me = rest.call("GET", "/user/currentUser", token=token)
    assert me.status == 200 and me.json["userName"] == "device_wb-dev-0001"
    assert rest.call("GET", "/tenant/currentTenant", token=token).json["name"] == "t100"

    # 9. SmartREST: 100 creates the device, a second 100 gets 41, a measurement is readable over REST
    client.subscribe("s/e")
    client.publish("s/us", "100,Workbench device,c8y_Workbench", qos=1)
    client.publish("s/us", "100", qos=1)
    assert client.expect("s/e") == "41,100,Device already existing"
    client.publish("s/us", "211,25.5", qos=1)
    external = rest.call("GET", "/identity/externalIds/c8y_Serial/wb-dev-0001", token=token)
    assert external.status == 200
    mo = external.json["managedObject"]["id"]
    found = rest.call("GET", f"/inventory/managedObjects/{mo}", token=token).json
    assert found["name"] == "Workbench device" and found["type"] == "c8y_Workbench"
    measurements = rest.call("GET", f"/measurement/measurements?source={mo}", token=token).json["measurements"]
    assert measurements[0]["c8y_TemperatureMeasurement"]["T"] == {"value": 25.5, "unit": "C"}

    # logout revokes the token
    assert rest.call("POST", "/user/logout", token=token).status == 200
    again = rest.call("GET", "/user/currentUser", token=token)
    assert again.status == 401 and again.json["error"] == "security/Unauthorized"


def test_unknown_ca_fails_the_tls_handshake(local, rest: Rest, device) -> None:
    stranger = make_ca("Stranger CA").issue("dev-x")
    client = device(stranger)
    with pytest.raises((ConnectionError, ssl.SSLError, OSError)):
        client.connect()
    failed = wait_event(local, "tls_failed")
    assert "does not reach any trusted CA" in failed["message"]
