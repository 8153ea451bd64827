"""Tenant options (§6): string values by category and key, with the device-token lifespan rules."""

from __future__ import annotations

import re
from typing import Any

from embedded_broker.platform.errors import PlatformError, not_found
from embedded_broker.store import Store

TOKEN_CATEGORY = "oauth.internal"
TOKEN_KEY = "device-token.lifespan.seconds"
DEFAULT_TOKEN_LIFESPAN = 3600
MINIMUM_TOKEN_LIFESPAN = 300
CRL_CATEGORY = "configuration"
CRL_OFFLINE_KEY = "crl.offline.check.enabled"
_INVALID = re.compile(r"[\s$&+,/:;=?@\"<>#%{}|\\^~\[\]`]")
# Local defaults: listed by GET like stored values, so people see what is in effect.
DEFAULTS = {(TOKEN_CATEGORY, TOKEN_KEY): str(DEFAULT_TOKEN_LIFESPAN), (CRL_CATEGORY, CRL_OFFLINE_KEY): "true"}


class Options:
    """The option table of every tenant."""

    def __init__(self, store: Store, base_url: str = "") -> None:
        self.store = store
        self.base_url = base_url

    def representation(self, category: str, key: str, value: str) -> dict[str, Any]:
        """The option JSON of the cloud."""
        return {"category": category, "key": key, "value": value,
                "self": f"{self.base_url}/tenant/options/{category}/{key}"}

    def get(self, tenant: str, category: str, key: str) -> str | None:
        """The stored value, else the local default, else None."""
        row = self.store.one("SELECT value FROM options WHERE tenant = ? AND category = ? AND key = ?",
                             (tenant, category, key))
        return row["value"] if row is not None else DEFAULTS.get((category, key))

    def require(self, tenant: str, category: str, key: str) -> dict[str, Any]:
        """One option as JSON.

        Raises:
            PlatformError: 404 when unknown.
        """
        value = self.get(tenant, category, key)
        if value is None:
            raise not_found("options", f"Unable to find option by given key: {category}/{key}")
        return self.representation(category, key, value)

    def list(self, tenant: str, category: str | None = None) -> list[dict[str, Any]]:
        """Every option of the tenant (defaults included), optionally of one category."""
        values = {k: v for k, v in DEFAULTS.items()}
        for row in self.store.all("SELECT category, key, value FROM options WHERE tenant = ?", (tenant,)):
            values[(row["category"], row["key"])] = row["value"]
        return [self.representation(c, k, v) for (c, k), v in sorted(values.items()) if category in (None, c)]

    def set(self, tenant: str, category: str, key: str, value: Any) -> dict[str, Any]:
        """Write one option after the platform's checks.

        Raises:
            PlatformError: 422 for a bad name or a lifespan under the minimum.
        """
        if not category or not key or _INVALID.search(category):
            raise PlatformError(422, "options/Unprocessable Entity",
                                f"Invalid option category {category!r}: no whitespace or $&+,/:;=?@\"<>#%{{}}|\\^~[]`.")
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if (category, key) == (TOKEN_CATEGORY, TOKEN_KEY):
            try:
                seconds = int(text)
            except ValueError:
                raise PlatformError(422, "options/Unprocessable Entity",
                                    f"{TOKEN_KEY} must be a whole number of seconds, got {text!r}.") from None
            if seconds < MINIMUM_TOKEN_LIFESPAN:
                raise PlatformError(422, "options/Unprocessable Entity",
                                    f"{TOKEN_KEY} must be at least {MINIMUM_TOKEN_LIFESPAN} seconds, got {seconds}.")
        with self.store.transaction():
            self.store.execute(
                "INSERT INTO options (tenant, category, key, value) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(tenant, category, key) DO UPDATE SET value = excluded.value",
                (tenant, category, key, text))
        return self.representation(category, key, text)

    def delete(self, tenant: str, category: str, key: str) -> None:
        """Remove an option (its default, if any, applies again).

        Raises:
            PlatformError: 404 when not stored.
        """
        with self.store.transaction():
            cursor = self.store.execute("DELETE FROM options WHERE tenant = ? AND category = ? AND key = ?",
                                        (tenant, category, key))
        if cursor.rowcount == 0:
            raise not_found("options", f"Unable to find option by given key: {category}/{key}")

    def token_lifespan(self, tenant: str) -> int:
        """Device token lifetime in seconds."""
        try:
            return max(int(self.get(tenant, TOKEN_CATEGORY, TOKEN_KEY) or DEFAULT_TOKEN_LIFESPAN),
                       MINIMUM_TOKEN_LIFESPAN)
        except ValueError:
            return DEFAULT_TOKEN_LIFESPAN
