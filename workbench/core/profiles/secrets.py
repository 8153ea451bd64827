"""One secret store for every page and the CLI: the OS keyring when there is one, else an encrypted file vault
unlocked once per session by a passphrase, else (the user declined a passphrase) memory for this session only;
an in-memory layer in front of all three, shared by the whole process, so a secret given once is never asked again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from workbench import paths
from workbench.core.vault import VAULT_FILE_NAME, Vault
from workbench.errors import InvalidInputError, PasswordError, ProfileError

from .model import ProfileSecrets, SecretName, check_profile_id

log = logging.getLogger("workbench.profiles")

SERVICE_NAME = "Device Onboarding Workbench"
NO_KEYRING_MESSAGE = "No system keyring is available; passwords are kept for this session only"
NO_KEYRING_CAUSES = (
    "No keyring service runs on this machine (common on headless Linux without GNOME Keyring or KWallet).",
    "Passwords typed or generated now are forgotten when the workbench closes.",
    "To keep them, restart the workbench and choose a passphrase for the encrypted vault, or install and unlock "
    "a keyring (GNOME Keyring, KWallet).",
)
UNLOCK_ATTEMPTS = 3


class StoreKind(StrEnum):
    """Where secrets actually go this session."""

    KEYRING = "keyring"
    VAULT = "vault"
    SESSION = "session"


KEPT_PHRASE = {
    StoreKind.KEYRING: "kept in the system keyring",
    StoreKind.VAULT: "kept in the encrypted vault",
    StoreKind.SESSION: "kept for this session only",
}
# No keyring, a passphrase prompt installed, no secret needed yet: the vault question is still to come.
UNDECIDED_PHRASE = "kept in the encrypted vault if you choose a passphrase when asked, else for this session only"


@dataclass(frozen=True)
class VaultRequest:
    """What the passphrase prompt is asked: create a new vault (ask twice) or unlock one; why the last try failed."""

    path: Path
    creating: bool
    error: str = ""


# Returns the passphrase, or None when the user declines (secrets are then kept for this session only).
VaultPrompt = Callable[[VaultRequest], str | None]


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    """Say where secrets go without a keyring once per process, however many sessions and stores find it out."""
    if message not in _warned:
        _warned.add(message)
        log.warning("%s", message)


def vault_path() -> Path:
    """The vault file, in the workbench's data folder."""
    return paths.data_dir() / VAULT_FILE_NAME


def _backend_is_usable(backend: KeyringBackend) -> bool:
    """The `fail` backend (and a chainer with nothing in it) means there is no real keyring."""
    module = type(backend).__module__
    if module.startswith("keyring.backends.fail"):
        return False
    if module.startswith("keyring.backends.chainer"):
        return bool(getattr(backend, "backends", ()))
    return True


class SecretSession:
    """The process's secrets: the memory layer and the one backend chosen for this session (decided on first use).

    The backend is the keyring when a usable one exists; otherwise the vault when a prompt is installed and the user
    gives a passphrase; otherwise nothing (session only). A keyring that fails at runtime (locked, refused) falls
    back the same way.
    """

    def __init__(self, service: str = SERVICE_NAME, backend: KeyringBackend | None = None,
                 prompt: VaultPrompt | None = None, vault_file: Path | None = None) -> None:
        self.service = service
        self._backend = backend
        self._prompt = prompt
        self._vault_file = vault_file
        self._reset()

    def _reset(self) -> None:
        self._memory: dict[str, str] = {}
        self._kind: StoreKind | None = None
        self._vault: Vault | None = None
        self._declined = False
        self._notice_taken = False
        self._reason = ""
        self._seen_backend: KeyringBackend | None = None

    def _keyring(self) -> KeyringBackend:
        return self._backend if self._backend is not None else keyring.get_keyring()

    def _follow_backend(self) -> None:
        """A different global keyring (tests switch it) is a different machine: start this session afresh."""
        if self._backend is None and self._seen_backend is not None and keyring.get_keyring() is not self._seen_backend:
            prompt, vault_file = self._prompt, self._vault_file
            self._reset()
            self._prompt, self._vault_file = prompt, vault_file

    def set_vault_prompt(self, prompt: VaultPrompt | None, vault_file: Path | None = None) -> None:
        """How a passphrase is asked (the GUI's dialog, the CLI's getpass or flag); re-decides a session-only store."""
        self._prompt = prompt
        self._vault_file = vault_file or self._vault_file
        if self._kind is StoreKind.SESSION and not self._declined:
            self._kind = None

    @property
    def vault_file(self) -> Path:
        """Where the vault is (or would be created)."""
        return self._vault_file or vault_path()

    @property
    def kind(self) -> StoreKind:
        """Where secrets go; the first call decides (and may ask for the vault passphrase).

        Raises:
            PasswordError: the vault passphrase was wrong every time it was asked.
        """
        self._follow_backend()
        if self._kind is None:
            backend = self._keyring()
            self._seen_backend = backend
            if _backend_is_usable(backend):
                self._kind = StoreKind.KEYRING
            else:
                self._fall_back("the keyring backend is 'fail'")
        assert self._kind is not None
        return self._kind

    @property
    def settled_kind(self) -> StoreKind | None:
        """Where secrets go, without asking: None while the vault question waits for the first secret needed (no
        usable keyring, a passphrase prompt installed, nothing decided yet), so texts and notices never ask."""
        self._follow_backend()
        if self._kind is None and self._prompt is not None and not self._declined \
                and not _backend_is_usable(self._keyring()):
            return None
        return self.kind

    @property
    def reason(self) -> str:
        """Why the keyring was given up (for logs and the details pane); empty when it is used."""
        return self._reason

    def decline(self, reason: str = "no passphrase was given") -> None:
        """Keep secrets for this session only from now on (the user declined, or the vault could not be opened)."""
        self._declined = True
        self._vault = None
        self._kind = StoreKind.SESSION
        self._reason = self._reason or reason

    def take_notice(self) -> ProfileError | None:
        """The "session only" message, the first time it is asked for; None with a lasting store."""
        if self.settled_kind is not StoreKind.SESSION or self._notice_taken:
            return None
        self._notice_taken = True
        return ProfileError(NO_KEYRING_MESSAGE, NO_KEYRING_CAUSES)

    def _fall_back(self, reason: str) -> None:
        was_vault = self._kind is StoreKind.VAULT
        self._reason = self._reason or reason
        self._kind = StoreKind.SESSION
        if self._declined:
            if not was_vault:
                _warn_once(f"no system keyring ({reason}); secrets are kept for this session only")
            return
        vault = self._open_vault()
        if vault is None:
            _warn_once(f"no system keyring ({reason}) and no secret vault "
                       f"({'declined' if self._prompt else 'no passphrase prompt'}); "
                       "secrets are kept for this session only")
            self._declined = self._prompt is not None
            return
        if not was_vault:
            _warn_once(f"no system keyring ({reason}); secrets are kept in the encrypted vault {self.vault_file}")
        self._vault, self._kind = vault, StoreKind.VAULT
        for key, value in self._memory.items():  # what was given before the switch is kept too
            vault.set(key, value)

    def _open_vault(self) -> Vault | None:
        if self._prompt is None:
            return None
        path = self.vault_file
        creating = not path.exists()
        error = ""
        for _attempt in range(UNLOCK_ATTEMPTS):
            answer = self._prompt(VaultRequest(path, creating, error))
            if answer is None:
                return None
            try:
                return Vault.create(path, answer) if creating else Vault.unlock(path, answer)
            except PasswordError as exc:
                error = exc.summary
            except InvalidInputError as exc:
                if not creating:
                    raise
                error = exc.summary
        raise PasswordError("The vault passphrase is wrong" if not creating else "No vault passphrase was accepted",
                            (f"The vault is {path}.", "Type the passphrase chosen when the vault was created, or "
                             "move the file away to start a new vault (its passwords are then lost)."))

    # --- the store itself ----------------------------------------------------------------------------------------
    def get(self, key: str) -> str | None:
        """One secret: from memory, else from the backend (then remembered in memory)."""
        self._follow_backend()
        if key in self._memory:
            return self._memory[key]
        value = self._backend_get(key)
        if value:
            self._memory[key] = value
        return value

    def _backend_get(self, key: str) -> str | None:
        kind = self.kind
        if kind is StoreKind.KEYRING:
            try:
                return self._keyring().get_password(self.service, key)
            except keyring.errors.KeyringError as exc:
                self._fall_back(str(exc) or type(exc).__name__)
                kind = self._kind or StoreKind.SESSION
        if kind is StoreKind.VAULT and self._vault is not None:
            return self._vault.get(key)
        return None

    def set(self, key: str, value: str) -> None:
        """Keep a secret in memory and in the backend."""
        self._follow_backend()
        self._memory[key] = value
        kind = self.kind
        if kind is StoreKind.KEYRING:
            try:
                self._keyring().set_password(self.service, key, value)
                return
            except keyring.errors.KeyringError as exc:
                self._fall_back(str(exc) or type(exc).__name__)
                return  # _fall_back moved the memory (this value included) into the vault, if one was opened
        if kind is StoreKind.VAULT and self._vault is not None:
            self._vault.set(key, value)

    def delete(self, key: str) -> None:
        """Forget a secret everywhere; a missing one is not an error."""
        self._follow_backend()
        self._memory.pop(key, None)
        kind = self.kind
        if kind is StoreKind.KEYRING:
            try:
                self._keyring().delete_password(self.service, key)
            except keyring.errors.PasswordDeleteError:
                pass
            except keyring.errors.KeyringError as exc:
                self._fall_back(str(exc) or type(exc).__name__)
        elif kind is StoreKind.VAULT and self._vault is not None:
            self._vault.delete(key)


_default: SecretSession | None = None


def default_session() -> SecretSession:
    """The process-wide session every SecretStore() shares (the pages, the services, the CLI)."""
    global _default
    if _default is None:
        _default = SecretSession()
    return _default


def reset_default_session() -> SecretSession:
    """A fresh process-wide session (a new run of the app; tests)."""
    global _default
    _default = SecretSession()
    return _default


class SecretStore:
    """Reads and writes `<profile id>/<secret name>` through a SecretSession (by default the process-wide one)."""

    def __init__(self, service: str = SERVICE_NAME, backend: KeyringBackend | None = None,
                 session: SecretSession | None = None) -> None:
        if session is None:
            own = backend is not None or service != SERVICE_NAME
            session = SecretSession(service, backend) if own else default_session()
        self.session = session

    @property
    def kind(self) -> StoreKind:
        """Where secrets go this session (keyring, vault or session only)."""
        return self.session.kind

    @property
    def kept(self) -> str:
        """The true phrase for the texts: "kept in the system keyring", "... encrypted vault", "... session only"
        (or both of the last two while the vault question has not been asked yet; reading it never asks)."""
        kind = self.session.settled_kind
        return UNDECIDED_PHRASE if kind is None else KEPT_PHRASE[kind]

    @property
    def degraded(self) -> bool:
        """True when secrets are kept for this session only."""
        return self.kind is StoreKind.SESSION

    @property
    def degraded_reason(self) -> str:
        """Why the keyring was given up (for logs and the details pane)."""
        return self.session.reason

    def take_degraded_notice(self) -> ProfileError | None:
        """The "session only" message, the first time it is asked for; None otherwise."""
        return self.session.take_notice()

    @staticmethod
    def _key(profile_id: str, name: SecretName) -> str:
        check_profile_id(profile_id)
        return f"{profile_id}/{name.value}"

    def get(self, profile_id: str, name: SecretName) -> str | None:
        """One secret, or None when it was never set."""
        return self.session.get(self._key(profile_id, name))

    def set(self, profile_id: str, name: SecretName, value: str | None) -> None:
        """Store a secret; None or "" deletes it (an empty password is stored as no password)."""
        key = self._key(profile_id, name)
        if not value:
            self.session.delete(key)
            return
        self.session.set(key, value)

    def delete(self, profile_id: str, name: SecretName) -> None:
        """Forget a secret; deleting one that does not exist is not an error."""
        self.session.delete(self._key(profile_id, name))

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
