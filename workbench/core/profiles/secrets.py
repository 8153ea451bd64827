"""Profile passwords in the OS keyring, or in memory for this session only when no keyring exists."""

from __future__ import annotations

import logging

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from workbench.errors import ProfileError

from .model import ProfileSecrets, SecretName, check_profile_id

log = logging.getLogger("workbench.profiles")

SERVICE_NAME = "Device Onboarding Workbench"
NO_KEYRING_MESSAGE = "No system keyring is available; passwords are kept for this session only"
NO_KEYRING_CAUSES = (
    "No keyring service runs on this machine (common on headless Linux without GNOME Keyring or KWallet).",
    "Install and unlock a keyring, then restart the workbench to keep passwords between sessions.",
)


def _backend_is_usable(backend: KeyringBackend) -> bool:
    """The `fail` backend (and a chainer with nothing in it) means there is no real keyring."""
    module = type(backend).__module__
    if module.startswith("keyring.backends.fail"):
        return False
    if module.startswith("keyring.backends.chainer"):
        return bool(getattr(backend, "backends", ()))
    return True


class SecretStore:
    """Reads and writes `<profile id>/<secret name>` under one keyring service; degrades to memory once.

    When the keyring fails (no backend, locked, refused), every secret from then on is kept in this object
    for the session, `degraded` turns True and `take_degraded_notice()` hands the UI its message once.
    """

    def __init__(self, service: str = SERVICE_NAME, backend: KeyringBackend | None = None) -> None:
        self._service = service
        self._backend = backend
        self._memory: dict[str, str] = {}
        self._degraded = False
        self._notice_taken = False
        self._reason = ""
        if not _backend_is_usable(self._keyring()):
            self._degrade("the keyring backend is 'fail'")

    def _keyring(self) -> KeyringBackend:
        return self._backend if self._backend is not None else keyring.get_keyring()

    @property
    def degraded(self) -> bool:
        """True when secrets are kept for this session only."""
        return self._degraded

    @property
    def degraded_reason(self) -> str:
        """Why the keyring was given up (for logs and the details pane)."""
        return self._reason

    def take_degraded_notice(self) -> ProfileError | None:
        """The "no keyring" message, the first time it is asked for after degrading; None otherwise."""
        if not self._degraded or self._notice_taken:
            return None
        self._notice_taken = True
        return ProfileError(NO_KEYRING_MESSAGE, NO_KEYRING_CAUSES)

    def _degrade(self, reason: str) -> None:
        if not self._degraded:
            log.warning("keyring unavailable (%s); secrets are kept for this session only", reason)
        self._degraded = True
        self._reason = self._reason or reason

    @staticmethod
    def _key(profile_id: str, name: SecretName) -> str:
        check_profile_id(profile_id)
        return f"{profile_id}/{name.value}"

    def get(self, profile_id: str, name: SecretName) -> str | None:
        """One secret, or None when it was never set."""
        key = self._key(profile_id, name)
        if key in self._memory:
            return self._memory[key]
        if self._degraded:
            return None
        try:
            return self._keyring().get_password(self._service, key)
        except keyring.errors.KeyringError as exc:
            self._degrade(str(exc) or type(exc).__name__)
            return None

    def set(self, profile_id: str, name: SecretName, value: str | None) -> None:
        """Store a secret; None or "" deletes it (an empty password is stored as no password)."""
        key = self._key(profile_id, name)
        if not value:
            self.delete(profile_id, name)
            return
        if not self._degraded:
            try:
                self._keyring().set_password(self._service, key, value)
                self._memory.pop(key, None)
                return
            except keyring.errors.KeyringError as exc:
                self._degrade(str(exc) or type(exc).__name__)
        self._memory[key] = value

    def delete(self, profile_id: str, name: SecretName) -> None:
        """Forget a secret; deleting one that does not exist is not an error."""
        key = self._key(profile_id, name)
        self._memory.pop(key, None)
        if self._degraded:
            return
        try:
            self._keyring().delete_password(self._service, key)
        except keyring.errors.PasswordDeleteError:
            pass
        except keyring.errors.KeyringError as exc:
            self._degrade(str(exc) or type(exc).__name__)

    def load(self, profile_id: str) -> ProfileSecrets:
        """All secrets of one profile."""
        return ProfileSecrets.from_mapping({name: self.get(profile_id, name) for name in SecretName})

    def save(self, profile_id: str, secrets: ProfileSecrets, *, replace_all: bool = False) -> None:
        """Write the secrets that have a value; with replace_all, also delete the ones that are None."""
        for name, value in secrets.items():
            if value is not None or replace_all:
                self.set(profile_id, name, value)

    def delete_all(self, profile_id: str) -> None:
        """Forget every secret of a profile (the profile was deleted)."""
        for name in SecretName:
            self.delete(profile_id, name)

    def copy_all(self, source_id: str, target_id: str) -> None:
        """Give a duplicated profile the same secrets."""
        self.save(target_id, self.load(source_id))
