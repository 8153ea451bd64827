"""An in-memory keyring backend: the OS keyring cannot run in CI, so tests use this one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keyring
import keyring.backends.fail
from keyring.backend import KeyringBackend

from workbench.core.profiles.secrets import reset_default_session


class MemoryKeyring(KeyringBackend):
    """Keeps secrets in a dict for the life of the process."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self._secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self._secrets.pop((service, username), None)


@contextlib.contextmanager
def no_system_keyring() -> Iterator[None]:
    """keyring's own `fail` backend (what a headless machine has) inside a fresh process-wide secret session."""
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    reset_default_session()
    try:
        yield
    finally:
        keyring.set_keyring(previous)
        reset_default_session()
