"""How the panels reach the running local platform over REST: one trust context for its server CA, and the admin
login of every tenant this session knows (t100's from the keyring, others' from the moment they were created)."""

from __future__ import annotations

from typing import Any

from workbench.core.platform_client import requests as api
from workbench.core.tls import server_context, trust_from_pem
from workbench.services.local_platform import LocalPlatformInfo
from workbench.services.platform_http import PlatformCredentials, PlatformHttp

DEFAULT_TENANT = "t100"
ADMIN = "admin"


class PlatformLink:
    """The running platform: its info, a TLS context trusting its server CA, and tenant admin passwords."""

    def __init__(self, info: LocalPlatformInfo) -> None:
        self.info = info
        self.trust = server_context(trust_from_pem(info.server_ca.read_bytes()))
        self.passwords: dict[str, str] = {DEFAULT_TENANT: info.admin_password}

    def knows(self, tenant: str) -> bool:
        """True when this session has the tenant's admin password."""
        return tenant in self.passwords

    def http(self, tenant: str = DEFAULT_TENANT) -> PlatformHttp:
        """A session as the tenant's admin; use as `async with link.http(tenant) as http:`."""
        return PlatformHttp(self.info.rest_url, PlatformCredentials(ADMIN, self.passwords[tenant], tenant),
                            trust=self.trust)

    async def get(self, path: str, what: str, tenant: str = DEFAULT_TENANT) -> Any:
        """One GET as the tenant's admin, decoded."""
        async with self.http(tenant) as http:
            return await http.json(get(path, what))


def get(path: str, what: str) -> api.ApiRequest:
    """A JSON GET (the request builders cover only what the guide needs; the page reads more)."""
    return api.ApiRequest("GET", path, headers={"Accept": "application/json"}, what=what)


def post(path: str, body: dict[str, Any], what: str) -> api.ApiRequest:
    """A JSON POST that asks for the created object back (without Accept the platform answers with no body)."""
    return api.ApiRequest("POST", path, json=body, what=what,
                          headers={"Accept": "application/json", "Content-Type": "application/json"})
