"""One test per refusal reason (A3, A4, A5, A9): the CONNACK code and the sentence in the event log.

A numbers are decisions of the platform reference, docs/platform-reference.md.
"""

from __future__ import annotations

import datetime as dt
import ssl

import pytest

from tests.platform.conftest import wait_event
from tests.platform.support import NOW, Rest, make_ca

NOT_AUTHORIZED = 5


def refusal(local, text: str) -> dict:
    return wait_event(local, "refused", lambda e: text in e["message"])


def test_client_id_must_match_the_cn(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    client = device(root.issue("dev-1"), client_id="d:dev-2")
    assert client.connect() == NOT_AUTHORIZED
    refusal(local, "client id 'd:dev-2' does not match certificate CN 'dev-1'".replace("'d:dev-2'", "'dev-2'"))


def test_plain_and_template_client_ids_are_accepted(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    dev = root.issue("dev-ids")
    for client_id in ("dev-ids", "d:dev-ids", "d:dev-ids:myTemplate"):
        client = device(dev, client_id=client_id)
        assert client.connect() == 0, client_id
        client.close()


def test_cn_with_a_colon_is_refused(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    assert device(root.issue("dev:1"), client_id="dev").connect() == NOT_AUTHORIZED
    refusal(local, "contains ':'")


def test_disabled_anchor_is_refused(local, rest: Rest, root, device) -> None:
    rest.upload(root, status="DISABLED")
    assert device(root.issue("dev-d")).connect() == NOT_AUTHORIZED
    refusal(local, "is disabled")


def test_auto_registration_off_refuses_unregistered_devices(local, rest: Rest, root, device) -> None:
    rest.upload(root, auto=False)
    assert device(root.issue("dev-off")).connect() == NOT_AUTHORIZED
    refusal(local, "device 'dev-off' is not registered and auto-registration is off")


def test_chain_longer_than_the_setting_is_refused(settings, local, rest: Rest, root, device) -> None:
    local.call(setattr, local.platform.chains, "max_chain", 3)
    rest.upload(root)
    leaf = root.issue("CA 1", ca=True).issue("CA 2", ca=True).issue("dev-long")
    assert device(leaf).connect() == NOT_AUTHORIZED
    refusal(local, "has 4 certificates; the platform accepts at most 3")


def test_pathlen_violation_is_refused(local, rest: Rest, device) -> None:
    root = make_ca("Pathlen Zero CA", path_length=0)
    rest.upload(root)
    leaf = root.issue("Too Deep CA", ca=True).issue("dev-deep")
    client = device(leaf)
    # OpenSSL enforces pathlen inside the handshake, before the platform sees the chain (docs/local-platform.md).
    with pytest.raises((ConnectionError, ssl.SSLError, OSError)):
        client.connect()
    failed = wait_event(local, "tls_failed")
    assert "path length" in failed["message"]
    # The platform's own check says the same over REST.
    chain = leaf.chain_pem().decode().replace("\n", " ")
    answer = rest.call("POST", "/tenant/trusted-certificates/verify-cert-chain",
                       headers={"X-Cumulocity-Client-Cert-Chain": chain})
    assert answer.status == 401 and "pathlen" in answer.json["message"]


def test_expired_device_certificate_is_refused(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    old = root.issue("dev-old", not_before=NOW - dt.timedelta(days=30), not_after=NOW - dt.timedelta(days=1))
    assert device(old).connect() == NOT_AUTHORIZED
    refusal(local, "expired on")


def test_revoked_device_certificate_is_refused(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    dev = root.issue("dev-revoked")
    answer = rest.call("PUT", "/tenant/trusted-certificates/settings/crl",
                       {"crls": [{"serialNumberInHex": format(dev.cert.serial_number, "X")}]})
    assert answer.status == 204
    assert device(dev).connect() == NOT_AUTHORIZED
    refusal(local, "is revoked in the CRL of tenant t100")


def test_mqtt5_is_refused_on_platform_listeners(local, rest: Rest, root, device) -> None:
    rest.upload(root)
    client = device(root.issue("dev-v5"), version=5)
    assert client.connect() == 0x84
    refusal(local, "MQTT 3.1 and 3.1.1 only")


def test_no_certificate_and_no_user_is_refused(local, device) -> None:
    assert device(None, client_id="d:anon").connect() == NOT_AUTHORIZED
    refusal(local, "sent no certificate and no user name")


def test_wrong_password_gets_code_4(local, device) -> None:
    assert device(None, client_id="d:basic", username="t100/admin", password="wrong").connect() == 4
    refusal(local, "wrong user name or password for 't100/admin'")


def test_ambiguous_tenant_until_exactly_one_pop(local, rest: Rest, root, device, tmp_path) -> None:
    created = rest.call("POST", "/platform/tenants", {"id": "t200"})
    assert created.status == 201
    other = Rest(rest.base.rsplit(":", 1)[1], rest.ca_path, "t200/admin", created.json["password"])
    other.base = rest.base
    fp = rest.upload(root).json["fingerprint"]
    assert other.upload(root, tenant="t200").status == 201
    dev = root.issue("dev-multi")
    assert device(dev).connect() == NOT_AUTHORIZED
    refusal(local, f"ambiguous tenant for certificate {fp}")
    # complete PoP in t100 only (signed with the openssl CLI)
    import subprocess

    code = rest.call("GET", f"/tenant/tenants/t100/trusted-certificates/{fp}").json[
        "proofOfPossessionUnsignedVerificationCode"]
    (tmp_path / "ca.key").write_bytes(root.key_pem())
    signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(tmp_path / "ca.key")], input=code.encode(),
                               check=True, capture_output=True).stdout
    import base64

    assert rest.call("POST", f"/tenant/tenants/t100/trusted-certificates-pop/{fp}/pop",
                     {"proofOfPossessionSignedVerificationCode": base64.b64encode(signature).decode()}).status == 200
    client = device(dev)
    assert client.connect() == 0
    assert rest.call("GET", "/user/currentUser", token=client.token()).json["userName"] == "device_dev-multi"
    assert local.call(lambda: local.platform.accounts.user("t200", "device_dev-multi")) is None
