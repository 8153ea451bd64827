"""Reading the platform's answers: typed results, and errors that show the platform's words plus our hint."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from workbench.errors import PlatformRequestError

from .requests import ApiRequest

# What a person should check for each status, by what they were trying to do.
_HINTS: dict[int, str] = {
    400: "The request was refused as malformed: check the input file or value.",
    401: "The credential was not accepted: check tenant, user and password, or that the token has not expired.",
    403: "The user lacks a role for this (e.g. ROLE_TENANT_ADMIN for trusted certificates).",
    404: "It does not exist on this tenant: check the tenant URL, the fingerprint or the id.",
    409: "It already exists: a certificate with the same fingerprint was uploaded before (here or by another "
         "tenant).",
    422: "The platform could not use the data: a CA must be X.509 v3, have CA:true and not be expired.",
    500: "The platform failed internally; try again, and check its logs if it is the local platform.",
    503: "The platform is unavailable; try again later.",
}


@dataclass(frozen=True)
class TrustedCertificate:
    """A trusted certificate as the platform lists it; the fingerprint (SHA-1 hex) is its id."""

    fingerprint: str
    name: str
    status: str
    auto_registration: bool
    subject: str
    issuer: str
    not_after: str
    pop_valid: bool
    pop_code: str | None
    pop_code_usable_until: str | None
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrustedCertificate:
        """Accept what both the cloud and the local platform send (autoRegistrationEnabled may be a string)."""
        auto = data.get("autoRegistrationEnabled", False)
        return cls(
            fingerprint=str(data.get("fingerprint", "")).lower(),
            name=str(data.get("name", "")),
            status=str(data.get("status", "")),
            auto_registration=auto if isinstance(auto, bool) else str(auto).lower() == "true",
            subject=str(data.get("subject", "")),
            issuer=str(data.get("issuer", "")),
            not_after=str(data.get("notAfter", "")),
            pop_valid=bool(data.get("proofOfPossessionValid", False)),
            pop_code=data.get("proofOfPossessionUnsignedVerificationCode"),
            pop_code_usable_until=data.get("proofOfPossessionVerificationCodeUsableUntil"),
            raw=data,
        )

    @property
    def pop_state(self) -> str:
        """The platform UI's words for the PoP state."""
        return "Complete" if self.pop_valid else "Incomplete"


@dataclass(frozen=True)
class BulkRegistrationResult:
    """Counters and per-row failures of a bulk registration (docs/platform-reference.md §3.3)."""

    total: int
    created: int
    failed: int
    successful: int
    failures: tuple[tuple[str, str], ...]  # (device id, reason)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BulkRegistrationResult:
        """Read the platform's counters; clients treat successful == total as success."""
        failures = tuple((str(f.get("deviceId", "?")), str(f.get("failureReason", f.get("line", ""))))
                         for f in data.get("failedCreationList", []))
        return cls(int(data.get("numberOfAll", 0)), int(data.get("numberOfCreated", 0)),
                   int(data.get("numberOfFailed", 0)), int(data.get("numberOfSuccessful", 0)), failures)

    @property
    def ok(self) -> bool:
        """Every row went in."""
        return self.successful == self.total


def parse_json(body: bytes) -> Any:
    """Decode a JSON body; an empty body (the Accept quirk) is None."""
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def platform_error(request: ApiRequest, status: int, body: bytes, credential: str = "") -> PlatformRequestError:
    """Turn an HTTP failure into a PlatformRequestError with the platform's `error` and `message` and our hint."""
    data = parse_json(body)
    causes: list[str] = []
    if isinstance(data, dict) and ("error" in data or "message" in data):
        causes.append(f"The platform says: {data.get('error', '')}: {data.get('message', '')}".strip())
    elif body.strip():
        causes.append(f"The platform says: {body[:300].decode(errors='replace').strip()}")
    if status == 401 and credential:
        causes.append(f"The credential used was {credential}.")
    if status == 400 and request.path.endswith("/pop"):
        causes.insert(0, "The signature does not match the certificate's key.")
    hint = _HINTS.get(status)
    if hint:
        causes.append(hint)
    return PlatformRequestError(f"Could not {request.what or request.path} (HTTP {status})", causes)
