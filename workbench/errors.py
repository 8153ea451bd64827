"""The user-facing failure tree: every failure a user can cause becomes a WorkbenchError with its likely causes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

# The command line's exit codes (`workbench --help` and the README state them): scripts tell a usage mistake from a
# check or a piece of work that failed by the code alone.
EXIT_OK = 0
EXIT_FAILED = 1  # a check said no (chain does not verify, lint findings, PoP mismatch) or the work failed
EXIT_USAGE = 2  # the command line or what it names cannot be used: argparse errors, bad values, unreadable input
EXIT_INTERRUPTED = 130  # Ctrl+C, as shells report SIGINT


class WorkbenchError(Exception):
    """A problem the user can act on: a one-line summary plus the likely causes to check.

    Library exceptions are translated into these where the library is called (``raise ... from exc``),
    so the CLI and the UI can show a message instead of a traceback. ``exit_code`` is what the CLI exits with:
    the work failed (1) unless the class says the input was unusable (2); subclasses decide, never call sites.
    """

    exit_code: ClassVar[int] = EXIT_FAILED

    def __init__(self, summary: str, causes: Sequence[str] = ()) -> None:
        super().__init__(summary)
        self.summary = summary
        self.causes = tuple(causes)

    def __str__(self) -> str:
        if not self.causes:
            return self.summary
        return self.summary + "".join(f"\n  - {cause}" for cause in self.causes)

    def __reduce__(self) -> tuple[object, ...]:
        """Keep summary and causes when an error crosses a process boundary (fleet workers)."""
        return (type(self), (self.summary, self.causes))

    def to_dict(self) -> dict[str, object]:
        """Give scripts (``--json``) the same content the dialog shows."""
        return {"error": type(self).__name__, "summary": self.summary, "causes": list(self.causes)}


class InvalidInputError(WorkbenchError):
    """A value typed or passed by the user is not acceptable (a name, a number, a CSV row), or an input file named
    on the command line cannot be read: a usage error (exit 2)."""

    exit_code: ClassVar[int] = EXIT_USAGE


class UnsupportedFormatError(WorkbenchError):
    """Bytes that are not any format we can read, or not the one expected: the wrong file was given (exit 2)."""

    exit_code: ClassVar[int] = EXIT_USAGE


class KeyMaterialError(WorkbenchError):
    """A private key could not be generated, read or decrypted, or is too weak."""


class PasswordError(KeyMaterialError):
    """A password is missing or wrong."""


class PasswordSourceError(PasswordError):
    """No usable password came from where the command line said (file, variable, terminal): a usage error (exit 2),
    unlike a wrong password, which is a failed piece of work (exit 1)."""

    exit_code: ClassVar[int] = EXIT_USAGE


class CertificateError(WorkbenchError):
    """A certificate or CSR cannot be issued, signed or read as asked."""


class PolicyError(CertificateError):
    """A request breaks the signing policy or a profile rule (the guide's rules)."""


class ChainError(CertificateError):
    """A certificate chain is incomplete, misordered or does not verify."""


class CAStoreError(WorkbenchError):
    """The CA store database cannot be opened or changed as asked."""


class KeystoreError(WorkbenchError):
    """A keystore or truststore operation failed (alias clash, missing entry, bad write)."""


class KeystoreOpenError(KeystoreError):
    """A keystore could not be decoded or decrypted."""


class TlsError(WorkbenchError):
    """A TLS connection or handshake failed."""


class ProfileError(WorkbenchError):
    """A connection profile is invalid or cannot be imported or stored."""


class PlatformRequestError(WorkbenchError):
    """The platform (local or a real tenant) refused or failed a request."""


class MqttConnectError(WorkbenchError):
    """An MQTT connection could not be established or was refused."""


class Cancelled(WorkbenchError):
    """The user cancelled a long operation; partial results were cleaned up."""


class KeystorePasswordError(KeystoreOpenError):
    """The store password does not open the keystore's integrity check (wrong password, or the file was altered)."""
