"""Sends the platform client's requests over HTTPS (aiohttp): one code path for a real tenant and the local platform."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workbench.core.platform_client import requests as api
from workbench.core.platform_client.responses import (
    BulkRegistrationResult,
    TrustedCertificate,
    parse_json,
    platform_error,
)
from workbench.errors import PlatformRequestError, TlsError, WorkbenchError

log = logging.getLogger("workbench.platform_http")

if TYPE_CHECKING:  # aiohttp is imported when a session opens: at import it costs the GUI's cold start ~0.3 s
    import aiohttp


def tenant_secret_id(url: str, user: str) -> str:
    """The keyring slot of a tenant login, shared by the CLI and the GUI (ids allow letters, digits and '-')."""
    return "tenant-" + hashlib.sha256(f"{url.rstrip('/')}|{user}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class PlatformCredentials:
    """Basic credentials: `tenant/user:password` on the wire; the password comes from the keyring or a prompt."""

    user: str
    password: str
    tenant_id: str | None = None

    def describe(self) -> str:
        """Which credential was used, for 401 messages (never the password)."""
        login = f"{self.tenant_id}/{self.user}" if self.tenant_id and "/" not in self.user else self.user
        return f"{login} (Basic)"


class PlatformHttp:
    """A session against one platform URL. Use as `async with PlatformHttp(...) as platform:`."""

    def __init__(self, base_url: str, credentials: PlatformCredentials | None = None, *,
                 trust: ssl.SSLContext | None = None, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self._trust = trust
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> PlatformHttp:
        import aiohttp

        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, request: api.ApiRequest, *, bearer: str | None = None,
                   client_tls: ssl.SSLContext | None = None) -> tuple[int, bytes]:
        """Send one request and return (status, body); a failure status becomes a PlatformRequestError.

        Raises:
            PlatformRequestError: the platform refused the call; carries its error/message and our hint.
            TlsError: the TLS connection failed (with what the server presented when known).
        """
        assert self._session is not None, "use 'async with PlatformHttp(...)'"
        import aiohttp  # loaded by __aenter__ already

        headers = dict(request.headers)
        credential = ""
        if request.auth == "basic" and self.credentials is not None:
            c = self.credentials
            headers["Authorization"] = api.basic_authorization(c.tenant_id, c.user, c.password)
            credential = c.describe()
        elif request.auth == "bearer" and bearer:
            headers["Authorization"] = f"Bearer {bearer}"
            credential = "the device token (Bearer)"
        elif request.auth == "cert":
            credential = "the client certificate"
        data: aiohttp.FormData | None = None
        if request.multipart:
            data = aiohttp.FormData()
            for part in request.multipart:
                if part.filename:
                    data.add_field(part.field_name, part.content, filename=part.filename,
                                   content_type=part.content_type)
                else:
                    data.add_field(part.field_name, part.content.decode())
        ssl_context: ssl.SSLContext | bool = client_tls or self._trust or True
        try:
            async with self._session.request(request.method, self.base_url + request.path, headers=headers,
                                             json=request.json, data=data if data is not None else request.body,
                                             ssl=ssl_context) as response:
                body = await response.read()
                status = response.status
        except aiohttp.ClientConnectorCertificateError as exc:
            presented = await self._presented_chain()
            raise TlsError(f"The server certificate of {self.base_url} is not trusted",
                           (str(exc.certificate_error), *presented,
                            "Add the platform's CA to the trust settings.")) from exc
        except aiohttp.ClientSSLError as exc:
            raise TlsError(f"TLS with {self.base_url} failed while trying to {request.what}",
                           (str(exc), "For the device token: the client certificate was refused or missing.")) from exc
        except (TimeoutError, aiohttp.ClientConnectionError) as exc:
            raise PlatformRequestError(f"Cannot reach {self.base_url}",
                                (str(exc) or type(exc).__name__, "Check the URL and that the platform is running.")
                                ) from exc
        log.debug("%s %s: %d, %d bytes, as %s", request.method, request.path.split("?", 1)[0], status, len(body),
                  credential or "nobody")  # never headers or bodies: they carry passwords and tokens
        if status >= 400:
            raise platform_error(request, status, body, credential)
        return status, body

    async def _presented_chain(self) -> tuple[str, ...]:
        """What the server showed, for an untrusted-certificate message (best effort, never raises)."""
        from urllib.parse import urlsplit

        from workbench.services.tls_fetch import fetch_server_chain

        parts = urlsplit(self.base_url)
        try:
            report = await asyncio.to_thread(fetch_server_chain, parts.hostname or "", parts.port or 443, timeout=5)
        except WorkbenchError:
            return ()
        return tuple(f"The server presented {i}: {c.subject.rfc4514_string()}, issued by "
                     f"{c.issuer.rfc4514_string()}" for i, c in enumerate(report.chain, start=1))

    async def json(self, request: api.ApiRequest, **kwargs: Any) -> Any:
        """Send and decode the JSON answer."""
        _status, body = await self.send(request, **kwargs)
        return parse_json(body)

    async def tenant_id(self) -> str:
        """Read the tenant id once and remember it for tenant-scoped paths and the Basic login."""
        data = await self.json(api.current_tenant())
        tenant = str((data or {}).get("name", ""))
        if not tenant:
            raise PlatformRequestError("The platform did not say which tenant this is", ("GET /tenant/currentTenant",))
        if self.credentials is not None and self.credentials.tenant_id is None:
            self.credentials = PlatformCredentials(self.credentials.user, self.credentials.password, tenant)
        return tenant

    async def trusted_certificates(self, tenant_id: str) -> list[TrustedCertificate]:
        """All anchors of the tenant."""
        data = await self.json(api.list_trusted_certificates(tenant_id))
        return [TrustedCertificate.from_json(c) for c in (data or {}).get("certificates", [])]

    async def trusted_certificate_call(self, request: api.ApiRequest) -> TrustedCertificate:
        """Upload, update, new code or PoP: each answers with the certificate's representation."""
        data = await self.json(request)
        if not isinstance(data, dict):
            raise PlatformRequestError(f"The platform answered with no certificate to '{request.what}'",
                                ("Check that the request carries 'Accept: application/json'.",))
        return TrustedCertificate.from_json(data)

    async def bulk_register(self, csv_bytes: bytes) -> BulkRegistrationResult:
        """Upload the fleet CSV and read the per-row results."""
        return BulkRegistrationResult.from_json(await self.json(api.bulk_registration(csv_bytes)) or {})

    async def device_token(self, client_tls: ssl.SSLContext, chain: tuple[Any, ...] = ()) -> str:
        """The device access token over mutual TLS."""
        data = await self.json(api.device_access_token(chain), client_tls=client_tls)
        token = (data or {}).get("accessToken")
        if not token:
            raise PlatformRequestError("The platform answered without an access token", (str(data)[:200],))
        return str(token)
