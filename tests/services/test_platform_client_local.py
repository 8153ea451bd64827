"""The platform client (the same code as for a real tenant) end to end against the in-process local platform."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from workbench.core.platform_client import requests as api
from workbench.core.pop import sign_code
from workbench.core.tls import ClientIdentity, client_context, server_context, trust_from_pem
from workbench.errors import PlatformRequestError, TlsError
from workbench.services.platform_http import PlatformCredentials, PlatformHttp


def _cert(cn: str, key: Any, issuer: tuple[x509.Name, Any] | None = None, ca: bool = False) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    issuer_name, issuer_key = issuer or (name, key)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key, hashes.SHA256()))


@pytest.fixture(scope="module")
def platform() -> Iterator[BackgroundLocalPlatform]:
    with BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)) as lp:
        yield lp


def call(platform: BackgroundLocalPlatform, body: Any, password: str | None = None) -> Any:
    assert platform.local is not None and platform.local.server_ca_path is not None
    trust = trust_from_pem(platform.local.server_ca_path.read_bytes())

    async def main() -> Any:
        credentials = PlatformCredentials("t100/admin", password or platform.local.admin_password or "")
        async with PlatformHttp(f"https://localhost:{platform.ports['https']}", credentials,
                                trust=server_context(trust)) as http:
            return await body(http, trust)

    return asyncio.run(main())


def test_trusted_certificates_pop_options_chain_check_and_device_calls(platform: BackgroundLocalPlatform) -> None:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("Client CA", ca_key, ca=True)
    device_key = ec.generate_private_key(ec.SECP256R1())
    device = _cert("dev-client", device_key, (ca.subject, ca_key))

    async def body(http: PlatformHttp, trust: tuple[x509.Certificate, ...]) -> None:
        tenant = await http.tenant_id()
        uploaded = await http.trusted_certificate_call(api.upload_trusted_certificate(tenant, ca, "Client CA"))
        assert uploaded.pop_state == "Incomplete" and uploaded.auto_registration
        listed = await http.trusted_certificates(tenant)
        assert [c.fingerprint for c in listed] == [uploaded.fingerprint]
        code = (await http.trusted_certificate_call(api.new_verification_code(tenant, uploaded.fingerprint))).pop_code
        assert code
        with pytest.raises(PlatformRequestError) as wrong:
            other = ec.generate_private_key(ec.SECP256R1())
            await http.trusted_certificate_call(api.submit_proof_of_possession(
                tenant, uploaded.fingerprint, sign_code(other, code.encode()).signature_b64))
        assert "The signature does not match the certificate's key." in wrong.value.causes
        proved = await http.trusted_certificate_call(api.submit_proof_of_possession(
            tenant, uploaded.fingerprint, sign_code(ca_key, code.encode()).signature_b64))
        assert proved.pop_state == "Complete"
        renamed = await http.trusted_certificate_call(api.update_trusted_certificate(
            tenant, uploaded.fingerprint, name="Renamed", auto_registration=True))
        assert renamed.name == "Renamed"
        await http.json(api.set_option("oauth.internal", "device-token.lifespan.seconds", "900"))
        option = await http.json(api.get_option("oauth.internal", "device-token.lifespan.seconds"))
        assert option["value"] == "900"
        checked = await http.json(api.verify_cert_chain([device, ca], tenant))
        assert checked["successfullyValidated"] is True and checked["tenantId"] == tenant
        identity = ClientIdentity(device_key, (device, ca))
        context = client_context(trust=list(trust), identity=identity)
        token = await http.device_token(context)
        assert token == await http.device_token(context, (device, ca))  # with X-Ssl-Cert-Chain: the same token
        me = await http.json(api.current_user(), bearer=token)
        assert me["userName"] == "device_dev-client"
        with pytest.raises(PlatformRequestError) as missing:
            await http.json(api.external_id("c8y_Serial", "dev-client"), bearer=token)
        assert "External ID not found" in " ".join(missing.value.causes)
        await http.send(api.logout(), bearer=token)
        with pytest.raises(PlatformRequestError) as revoked:
            await http.json(api.current_user(), bearer=token)
        assert "The credential used was the device token (Bearer)." in revoked.value.causes
        await http.send(api.delete_trusted_certificate(tenant, uploaded.fingerprint))
        assert await http.trusted_certificates(tenant) == []

    call(platform, body)


def test_wrong_password_names_the_credential(platform: BackgroundLocalPlatform) -> None:
    async def body(http: PlatformHttp, _trust: Any) -> None:
        await http.tenant_id()

    with pytest.raises(PlatformRequestError) as refused:
        call(platform, body, password="wrong")
    text = str(refused.value)
    assert "HTTP 401" in text and "t100/admin (Basic)" in text and "Bad credentials" in text


def test_untrusted_server_says_what_it_presented(platform: BackgroundLocalPlatform, tmp_path: Path) -> None:
    async def main() -> None:
        async with PlatformHttp(f"https://localhost:{platform.ports['https']}",
                                PlatformCredentials("t100/admin", "x"), trust=server_context(())) as http:
            await http.tenant_id()

    with pytest.raises(TlsError) as untrusted:
        asyncio.run(main())
    assert "not trusted" in str(untrusted.value)
    assert "The server presented 1: CN=localhost,O=Device Onboarding Workbench, issued by CN=Local Platform CA" \
        in str(untrusted.value)
