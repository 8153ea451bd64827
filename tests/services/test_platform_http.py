"""The platform HTTP client against a loopback server speaking the REST contract of
docs/platform-reference.md.

The local platform's own integration tests exercise the same client end to end once it lands; this test pins
what goes on the wire (auth headers, paths, multipart) and how documented answers and errors are read.
"""

import asyncio
import base64
from typing import Any

import pytest
from aiohttp import web

from tests.support.mosquitto import free_port
from workbench.core.pki.issuance import create_root_ca
from workbench.core.pki.keys import KeySpec, generate_key
from workbench.core.pki.names import parse_dn
from workbench.core.pki.profiles import root_ca_profile
from workbench.core.platform_client import requests as api
from workbench.errors import PlatformRequestError
from workbench.services.platform_http import PlatformCredentials, PlatformHttp


def _app(seen: list[dict[str, Any]]) -> web.Application:
    async def record(request: web.Request) -> dict[str, Any]:
        entry = {"method": request.method, "path": request.path_qs, "auth": request.headers.get("Authorization"),
                 "accept": request.headers.get("Accept")}
        if request.content_type == "multipart/form-data":
            form = await request.post()
            entry["file"] = form["file"].file.read()  # type: ignore[union-attr]
        elif request.can_read_body:
            entry["json"] = await request.json()
        seen.append(entry)
        return entry

    async def current_tenant(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response({"name": "t100", "domainName": "t100.localhost"})

    async def upload(request: web.Request) -> web.Response:
        entry = await record(request)
        if entry["json"]["name"] == "dup":
            return web.json_response({"error": "tenants/Duplicate", "message": "A certificate with the same "
                                      "fingerprint already exists."}, status=409,
                                     content_type="application/vnd.com.nsn.cumulocity.error+json")
        return web.json_response({"fingerprint": "ABCD", "name": entry["json"]["name"], "status": "ENABLED",
                                  "autoRegistrationEnabled": "true", "proofOfPossessionValid": False,
                                  "proofOfPossessionUnsignedVerificationCode": "code"}, status=201)

    async def bulk(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response({"numberOfAll": 2, "numberOfCreated": 2, "numberOfFailed": 0,
                                  "numberOfSuccessful": 2}, status=201)

    async def unauthorized(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response({"error": "security/Unauthorized", "message": "Invalid credentials!"}, status=401)

    app = web.Application()
    app.router.add_get("/tenant/currentTenant", current_tenant)
    app.router.add_post("/tenant/tenants/t100/trusted-certificates", upload)
    app.router.add_post("/devicecontrol/bulkNewDeviceRequests", bulk)
    app.router.add_get("/user/currentUser", unauthorized)
    return app


def _run(scenario: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    async def main() -> None:
        runner = web.AppRunner(_app(seen))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            async with PlatformHttp(f"http://127.0.0.1:{port}", PlatformCredentials("admin", "pw")) as platform:
                await scenario(platform)
        finally:
            await runner.cleanup()

    asyncio.run(main())
    return seen


def test_tenant_upload_and_bulk_registration_on_the_wire() -> None:
    ca = create_root_ca(parse_dn("CN=Root"), generate_key(KeySpec.EC_P256),
                        root_ca_profile())
    results: dict[str, Any] = {}

    async def scenario(platform: PlatformHttp) -> None:
        results["tenant"] = await platform.tenant_id()
        results["cert"] = await platform.trusted_certificate_call(api.upload_trusted_certificate("t100", ca, "Root"))
        results["bulk"] = await platform.bulk_register(b"ID;AUTH_TYPE\nd1;CERTIFICATES\nd2;CERTIFICATES\n")

    seen = _run(scenario)
    assert results["tenant"] == "t100"
    assert results["cert"].fingerprint == "abcd" and results["cert"].auto_registration
    assert results["bulk"].ok
    # The tenant id learned from currentTenant is used in the Basic login from then on.
    assert seen[0]["auth"] == "Basic " + base64.b64encode(b"admin:pw").decode()
    assert seen[1]["auth"] == "Basic " + base64.b64encode(b"t100/admin:pw").decode()
    assert seen[1]["accept"] == "application/json" and seen[1]["json"]["certInPemFormat"].startswith("-----BEGIN")
    assert seen[2]["file"].startswith(b"ID;AUTH_TYPE")


def test_errors_carry_the_platforms_words_and_the_credential() -> None:
    errors: list[PlatformRequestError] = []

    async def scenario(platform: PlatformHttp) -> None:
        await platform.tenant_id()
        ca = create_root_ca(parse_dn("CN=R"), generate_key(KeySpec.EC_P256),
                            root_ca_profile())
        for request in (api.upload_trusted_certificate("t100", ca, "dup"), api.current_user(auth="basic")):
            with pytest.raises(PlatformRequestError) as info:
                await platform.send(request)
            errors.append(info.value)

    _run(scenario)
    assert "HTTP 409" in errors[0].summary and "same fingerprint" in errors[0].causes[0]
    assert "The credential used was t100/admin (Basic)." in errors[1].causes


def test_unreachable_platform_is_explained() -> None:
    async def main() -> None:
        url = f"http://127.0.0.1:{free_port()}"
        async with PlatformHttp(url, PlatformCredentials("a", "b"), timeout=5) as platform:
            await platform.tenant_id()

    with pytest.raises(PlatformRequestError, match="Cannot reach"):
        asyncio.run(main())
