"""Device JWTs: read the claims (without trusting them), verify against a JWKS when there is one, plan refresh."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

from workbench.errors import PlatformRequestError


@dataclass(frozen=True)
class DeviceToken:
    """A device JWT with its decoded header and claims; `verified` says whether a JWKS signature check passed."""

    raw: str
    header: dict[str, Any]
    claims: dict[str, Any]
    verified: bool = False

    @property
    def issued_at(self) -> datetime.datetime | None:
        """`iat` as a UTC datetime."""
        return _time(self.claims.get("iat"))

    @property
    def expires_at(self) -> datetime.datetime | None:
        """`exp` as a UTC datetime."""
        return _time(self.claims.get("exp"))

    @property
    def lifetime(self) -> datetime.timedelta | None:
        """exp - iat: the tenant option's lifespan."""
        if self.issued_at is None or self.expires_at is None:
            return None
        return self.expires_at - self.issued_at

    @property
    def refresh_at(self) -> datetime.datetime | None:
        """issued-at + lifetime/2: before that the platform hands back the same token."""
        if self.issued_at is None or self.lifetime is None:
            return None
        return self.issued_at + self.lifetime / 2

    def seconds_left(self, now: datetime.datetime | None = None) -> float | None:
        """For the live countdown."""
        if self.expires_at is None:
            return None
        moment = now or datetime.datetime.now(datetime.UTC)
        return (self.expires_at - moment).total_seconds()

    @property
    def bearer_header(self) -> str:
        """Ready to paste into curl or Postman."""
        return f"Authorization: Bearer {self.raw}"


def _time(value: Any) -> datetime.datetime | None:
    if isinstance(value, int | float):
        return datetime.datetime.fromtimestamp(value, datetime.UTC)
    return None


def decode_token(raw: str) -> DeviceToken:
    """Decode header and claims for display; no trust implied.

    Raises:
        PlatformRequestError: the text is not a JWT.
    """
    import jwt  # here, not at import: PyJWT is not needed to draw the first window (bench/cold_start.py)

    token = raw.strip()
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise PlatformRequestError("The platform sent something that is not a JWT",
                            (f"Received: {token[:60]}...", str(exc))) from exc
    return DeviceToken(token, header, claims)


def verify_with_jwks(token: DeviceToken, jwks: dict[str, Any] | str) -> DeviceToken:
    """Check the signature with the platform's published keys (the local platform has /.well-known/jwks.json).

    Raises:
        PlatformRequestError: no key matches, or the signature or the time claims are invalid.
    """
    import jwt

    keys = json.loads(jwks) if isinstance(jwks, str) else jwks
    try:
        key_set = jwt.PyJWKSet.from_dict(keys)
        kid = token.header.get("kid")
        candidates = [k for k in key_set.keys if kid is None or k.key_id == kid]
        if not candidates:
            raise PlatformRequestError("No published key matches the token's key id", (f"kid = {kid}",))
        jwt.decode(token.raw, candidates[0], algorithms=["RS256", "ES256"],
                   options={"verify_aud": False})
    except jwt.PyJWTError as exc:
        raise PlatformRequestError("The device token does not verify", (str(exc),)) from exc
    return DeviceToken(token.raw, token.header, token.claims, verified=True)
