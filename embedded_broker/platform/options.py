"""Tenant options (§6): string values by category and key, with the device-token lifespan rules.

§ numbers are sections of the platform reference, docs/platform-reference.md.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from embedded_broker.platform.errors import PlatformError, not_found
from embedded_broker.store import Store

TOKEN_CATEGORY = "oauth.internal"
TOKEN_KEY = "device-token.lifespan.seconds"
DEFAULT_TOKEN_LIFESPAN = 3600
MINIMUM_TOKEN_LIFESPAN = 300
MAXIMUM_TOKEN_LIFESPAN = 2 ** 31 - 1  # the cloud has no documented maximum; a Java int is the natural one
CRL_CATEGORY = "configuration"
CRL_OFFLINE_KEY = "crl.offline.check.enabled"
CRL_ONLINE_KEY = "crl.online.check.enabled"
MAX_NAME_CHARS = 255  # of a category or a key
MAX_VALUE_CHARS = 64 * 1024
# Platform reference §6.1: no whitespace or $&+,/:;=?@"<>#%{}|\^~[]` in a category; keys get the same rule,
# as they are path segments
_INVALID = re.compile(r"[\s$&+,/:;=?@\"<>#%{}|\\^~\[\]`]")
_NAME_RULE = "1 to 255 characters, no whitespace or $&+,/:;=?@\"<>#%{}|\\^~[]`"
_WHOLE = re.compile(r"[0-9]{1,19}")
log = logging.getLogger("embedded_broker.platform.options")


@dataclass(frozen=True)
class Rule:
    """The type and allowed values of a known option; `check` returns the stored text or raises ValueError."""

    allowed: str  # for people, after "must be": "true or false"
    default: str | None
    check: Callable[[str], str]


def _seconds(text: str) -> str:
    if not _WHOLE.fullmatch(text.strip()) or not MINIMUM_TOKEN_LIFESPAN <= int(text) <= MAXIMUM_TOKEN_LIFESPAN:
        raise ValueError(text)
    return str(int(text))


def _boolean(text: str) -> str:
    if text.strip().lower() not in ("true", "false"):
        raise ValueError(text)
    return text.strip().lower()


EST_CATEGORY = "local-platform"  # local extra (§8): shorter device certificates from the tenant CA, for rehearsals
EST_VALIDITY_KEY = "est.certificate.validity.seconds"
EST_VALIDITY_RANGE = (60, 365 * 24 * 3600)


def _est_seconds(text: str) -> str:
    low, high = EST_VALIDITY_RANGE
    if not _WHOLE.fullmatch(text.strip()) or not low <= int(text) <= high:
        raise ValueError(text)
    return str(int(text))


# Known options: a value outside `allowed` is refused on write (422) and ignored, with one log line, on read.
RULES: dict[tuple[str, str], Rule] = {
    (TOKEN_CATEGORY, TOKEN_KEY): Rule(f"a whole number of seconds, at least {MINIMUM_TOKEN_LIFESPAN} and at most "
                                      f"{MAXIMUM_TOKEN_LIFESPAN}", str(DEFAULT_TOKEN_LIFESPAN), _seconds),
    (CRL_CATEGORY, CRL_OFFLINE_KEY): Rule("true or false", "true", _boolean),
    (CRL_CATEGORY, CRL_ONLINE_KEY): Rule("true or false", None, _boolean),
    (EST_CATEGORY, EST_VALIDITY_KEY): Rule(f"a whole number of seconds from {EST_VALIDITY_RANGE[0]} to "
                                           f"{EST_VALIDITY_RANGE[1]} (one year)", None, _est_seconds),
}
# Local defaults: listed by GET like stored values, so people see what is in effect.
DEFAULTS = {name: rule.default for name, rule in RULES.items() if rule.default is not None}


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else f"{text[:20]!r}…({len(text)} characters)"


class Options:
    """The option table of every tenant."""

    def __init__(self, store: Store, base_url: str = "") -> None:
        self.store = store
        self.base_url = base_url
        self._warned: set[tuple[str, str, str, str]] = set()

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
            PlatformError: 422 for a bad category or key name, a value that is no string (numbers and booleans are
                taken as text) or too long, or a known option's value outside its rule (RULES).
        """
        for kind, name in (("category", category), ("key", key)):
            if not isinstance(name, str) or not name or len(name) > MAX_NAME_CHARS or _INVALID.search(name):
                raise PlatformError(422, "options/Unprocessable Entity",
                                    f"Invalid option {kind} {_shown(str(name))}: {_NAME_RULE}.")
        if not isinstance(value, str | int | float | bool):
            raise PlatformError(422, "options/Unprocessable Entity",
                                f"The value of {category}/{key} must be a string (option values are strings).")
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if len(text) > MAX_VALUE_CHARS:
            raise PlatformError(422, "options/Unprocessable Entity",
                                f"The value of {category}/{key} is longer than {MAX_VALUE_CHARS} characters.")
        rule = RULES.get((category, key))
        if rule is not None:
            try:
                text = rule.check(text)
            except ValueError:
                raise PlatformError(422, "options/Unprocessable Entity",
                                    f"{key} must be {rule.allowed}, got {_shown(text)}.") from None
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

    def effective(self, tenant: str, category: str, key: str) -> str | None:
        """The value in force: the stored one if its rule accepts it, else (with one log line) the default.

        A value written by an older version, or straight into the database, must never break a later request.
        """
        text = self.get(tenant, category, key)
        rule = RULES.get((category, key))
        if text is None or rule is None:
            return text
        try:
            return rule.check(text)
        except (ValueError, TypeError, AttributeError):  # TypeError/AttributeError: a BLOB written by hand
            if (tenant, category, key, text) not in self._warned:
                self._warned.add((tenant, category, key, text))
                log.warning("tenant %s: stored option %s/%s = %s is not %s; using the default %s", tenant, category,
                            key, _shown(text), rule.allowed, rule.default)
            return rule.default

    def token_lifespan(self, tenant: str) -> int:
        """Device token lifetime in seconds (the default when the stored value is out of range)."""
        return int(self.effective(tenant, TOKEN_CATEGORY, TOKEN_KEY) or DEFAULT_TOKEN_LIFESPAN)
