"""Device JWTs (A6, A7): RS256 with one key pair per local platform, half-life reuse, logout revocation, JWKS.

A6 and A7 are decisions of the platform reference, docs/platform-reference.md.
"""

from __future__ import annotations

import json
import secrets
import string
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from embedded_broker.platform.accounts import Accounts, User
from embedded_broker.platform.errors import unauthorized
from embedded_broker.platform.key_vault import get_secret, set_secret
from embedded_broker.platform.options import Options
from embedded_broker.store import Store

_KEY_META = "jwt_signing_key"
_XSRF_ALPHABET = string.ascii_letters + string.digits


def _signing_key(store: Store) -> rsa.RSAPrivateKey:
    """The persisted RS256 key, sealed at rest (key_vault); created on first use."""
    pem = get_secret(store, _KEY_META)
    if pem is None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        with store.transaction():
            set_secret(store, _KEY_META, pem)
    loaded = serialization.load_pem_private_key(pem.encode(), None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return loaded


class Tokens:
    """Mints, reuses, verifies and revokes device tokens."""

    def __init__(self, store: Store, accounts: Accounts, options: Options,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.accounts = accounts
        self.options = options
        self._clock = clock
        self._key = _signing_key(store)
        self._public = self._key.public_key()
        jwk = json.loads(RSAAlgorithm.to_jwk(self._public))
        self.key_id = jwk["n"][:16]
        self._jwks = {"keys": [{**jwk, "kid": self.key_id, "use": "sig", "alg": "RS256"}]}

    @property
    def jwks(self) -> dict[str, Any]:
        """The public key set for `/.well-known/jwks.json`."""
        return self._jwks

    def device_token(self, tenant: str, user: str) -> tuple[str, bool]:
        """The token for a device user and whether it is new: before half its lifetime the same one
        (platform reference A6)."""
        now = int(self._clock())
        row = self.store.one("SELECT token, jti, iat, exp FROM device_tokens WHERE tenant = ? AND user = ?",
                             (tenant, user))
        if row is not None and now < row["iat"] + (row["exp"] - row["iat"]) / 2 and not self._revoked(row["jti"]):
            return row["token"], False
        lifespan = self.options.token_lifespan(tenant)
        domain = self.accounts.tenant_domain(tenant)
        jti = str(uuid.uuid4())
        claims = {"aud": domain, "exp": now + lifespan, "iat": now, "iss": domain, "jti": jti, "nbf": now,
                  "sub": user, "tci": str(uuid.uuid4()), "ten": tenant, "tfa": False,
                  "xsrfToken": "".join(secrets.choice(_XSRF_ALPHABET) for _ in range(20))}
        token = jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.key_id})
        with self.store.transaction():
            self.store.execute(
                "INSERT INTO device_tokens (tenant, user, token, jti, iat, exp) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(tenant, user) DO UPDATE SET token = excluded.token, jti = excluded.jti, "
                "iat = excluded.iat, exp = excluded.exp", (tenant, user, token, jti, now, now + lifespan))
        return token, True

    def verify(self, token: str) -> tuple[User, dict[str, Any]]:
        """The user a Bearer token stands for.

        Raises:
            PlatformError: 401 for an expired, tampered, revoked or `alg=none` token, saying which.
        """
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            tenant = str(unverified.get("ten", ""))
            domain = self.accounts.tenant_domain(tenant) if tenant else ""
            claims = self._decode_at(token, domain)  # our clock, so a faked clock applies
        except jwt.ExpiredSignatureError:
            raise unauthorized("Token expired: request a new one over s/uat or deviceAccessToken.") from None
        except (jwt.InvalidTokenError, ValueError, KeyError) as exc:
            raise unauthorized(f"Invalid token: {exc}") from None
        except Exception as exc:  # an unknown tenant in the claims (PlatformError 404) is a bad token too
            raise unauthorized(f"Invalid token: {exc}") from None
        if self._revoked(claims["jti"]):
            raise unauthorized("Token revoked by logout.")
        user = self.accounts.user(claims["ten"], claims["sub"])
        if user is None:
            raise unauthorized(f"The user {claims['sub']} of this token no longer exists.")
        return user, claims

    def _decode_at(self, token: str, domain: str) -> dict[str, Any]:
        claims = jwt.decode(token, self._public, algorithms=["RS256"], audience=domain, issuer=domain,
                            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                                     "require": ["exp", "iat", "sub", "ten", "jti"]})
        now = self._clock()
        if now >= claims["exp"]:
            raise jwt.ExpiredSignatureError("expired")
        if now < claims.get("nbf", 0):
            raise jwt.ImmatureSignatureError("not yet valid")
        return claims

    def revoke(self, claims: dict[str, Any]) -> None:
        """Logout: the token is refused from now on, and the next request mints a new one."""
        with self.store.transaction():
            self.store.execute("INSERT OR IGNORE INTO revoked_tokens (jti, exp) VALUES (?, ?)",
                               (claims["jti"], int(claims["exp"])))
            self.store.execute("DELETE FROM revoked_tokens WHERE exp < ?", (int(self._clock()),))

    def _revoked(self, jti: str) -> bool:
        return self.store.one("SELECT 1 FROM revoked_tokens WHERE jti = ?", (jti,)) is not None
