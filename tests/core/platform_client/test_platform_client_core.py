import datetime
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from workbench.core.pki.issuance import create_root_ca
from workbench.core.pki.keys import KeySpec, generate_key
from workbench.core.pki.names import parse_dn
from workbench.core.pki.profiles import root_ca_profile
from workbench.core.platform_client import requests as api
from workbench.core.platform_client.responses import BulkRegistrationResult, TrustedCertificate, platform_error
from workbench.core.platform_client.smartrest import format_line, parse_error_line, parse_token_line
from workbench.core.platform_client.tokens import decode_token, verify_with_jwks
from workbench.errors import PlatformRequestError


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


def _token(key: rsa.RSAPrivateKey, lifetime: int = 3600, year: int = 2030) -> str:
    now = int(datetime.datetime(year, 1, 1, tzinfo=datetime.UTC).timestamp())
    claims = {"sub": "device_dev-1", "ten": "t100", "iat": now, "nbf": now, "exp": now + lifetime}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def test_token_claims_and_half_life(signing_key: rsa.RSAPrivateKey) -> None:
    token = decode_token(_token(signing_key))
    assert token.claims["sub"] == "device_dev-1"
    assert token.lifetime == datetime.timedelta(hours=1)
    assert token.refresh_at == token.issued_at + datetime.timedelta(minutes=30)
    assert token.bearer_header.startswith("Authorization: Bearer ey")
    assert not token.verified


def test_token_verifies_against_jwks_and_rejects_tampering(signing_key: rsa.RSAPrivateKey) -> None:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    jwks = {"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}
    raw = _token(signing_key, lifetime=10**9, year=2020)
    assert verify_with_jwks(decode_token(raw), jwks).verified
    other = rsa.generate_private_key(65537, 2048)
    forged = decode_token(jwt.encode({"sub": "x", "exp": 10**10}, other, algorithm="RS256", headers={"kid": "k1"}))
    with pytest.raises(PlatformRequestError, match="does not verify"):
        verify_with_jwks(forged, jwks)


def test_not_a_jwt_is_a_clear_error() -> None:
    with pytest.raises(PlatformRequestError, match="not a JWT"):
        decode_token("41,100,Device already existing")


def test_smartrest_lines() -> None:
    assert format_line("200", "c8y_Temperature", "T", 21.5, "C") == "200,c8y_Temperature,T,21.5,C"
    assert format_line("400", "c8y_Event", 'say "hi", ok') == '400,c8y_Event,"say ""hi"", ok"'
    assert parse_token_line("71,eyJabc") == "eyJabc"
    assert parse_token_line("41,100,Device already existing") is None
    err = parse_error_line("41,100,Device already existing")
    assert (err.code, err.template, err.text) == ("41", "100", "Device already existing")


def test_upload_request_and_chain_header() -> None:
    key = generate_key(KeySpec.EC_P256)
    ca = create_root_ca(parse_dn("CN=Root"), key, root_ca_profile())
    request = api.upload_trusted_certificate("t100", ca, "Root")
    assert request.path == "/tenant/tenants/t100/trusted-certificates"
    assert request.json["status"] == "ENABLED" and request.json["autoRegistrationEnabled"] is True
    assert request.headers["Accept"] == "application/json"  # without it the platform answers with no body
    header = api.chain_header([ca, ca])
    assert "\n" not in header and header.count("-----BEGIN CERTIFICATE-----") == 2
    assert api.device_access_token([ca]).auth == "cert"
    assert api.basic_authorization("t100", "admin", "pw") == "Basic dDEwMC9hZG1pbjpwdw=="


def test_responses_are_typed_and_errors_carry_platform_words() -> None:
    cert = TrustedCertificate.from_json({"fingerprint": "AB", "autoRegistrationEnabled": "true",
                                         "proofOfPossessionValid": False})
    assert cert.auto_registration and cert.fingerprint == "ab" and cert.pop_state == "Incomplete"
    bulk = BulkRegistrationResult.from_json({"numberOfAll": 2, "numberOfSuccessful": 1, "numberOfFailed": 1,
                                             "failedCreationList": [{"deviceId": "x", "failureReason": "bad"}]})
    assert not bulk.ok and bulk.failures == (("x", "bad"),)
    body = b'{"error":"tenants/Bad Request","message":"Wrong Proof Of Possession plaintext used"}'
    exc = platform_error(api.submit_proof_of_possession("t100", "ab", "sig"), 400, body)
    assert exc.causes[0] == "The signature does not match the certificate's key."
    assert "Wrong Proof Of Possession" in exc.causes[1]
    unauthorized = platform_error(api.current_tenant(), 401, b"", credential="t100/admin (Basic)")
    assert "The credential used was t100/admin (Basic)." in unauthorized.causes
