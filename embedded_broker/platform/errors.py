"""One exception for every refusal of the emulated platform, carrying the REST status and the error envelope."""

from __future__ import annotations

from typing import Any

from embedded_broker.errors import BrokerError


class PlatformError(BrokerError):
    """A platform refusal: HTTP `status`, the envelope's `error` ("<resource>/<name>") and a `message` for people."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message

    def envelope(self) -> dict[str, Any]:
        """The body the cloud sends (docs/platform-reference.md, Part B §1.8)."""
        return {"error": self.error, "message": self.message,
                "info": "https://www.cumulocity.com/guides/reference-guide/#error_reporting"}


def not_found(resource: str, message: str) -> PlatformError:
    """404 in the platform's words."""
    return PlatformError(404, f"{resource}/Not Found", message)


def invalid(resource: str, message: str) -> PlatformError:
    """422 for data the platform cannot process."""
    return PlatformError(422, f"{resource}/Unprocessable Entity", message)


def unauthorized(message: str = "Invalid credentials! : Bad credentials") -> PlatformError:
    """401 in the platform's words."""
    return PlatformError(401, "security/Unauthorized", message)


def forbidden(message: str = "Access is denied.") -> PlatformError:
    """403 in the platform's words."""
    return PlatformError(403, "security/Forbidden", message)
