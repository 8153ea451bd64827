"""Where a CA key's password lives and how a service asks for one: that CA's slot in the secret store (the system
keyring, the encrypted vault or this session's memory; read and filled by the wizard, the fleet dialog, the CA store
actions, PoP and onboarding, so a password typed once unlocks the CA everywhere), and the injected prompt through
which the CLI and the GUI hand a password to the CA verbs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from workbench.core.profiles.model import SecretName
from workbench.core.profiles.secrets import SecretStore
from workbench.errors import PasswordError

# CA name -> its key password (None: an unencrypted key). The CLI reads flags or the terminal, the GUI a field.
CAPasswordPrompt = Callable[[str], bytes | None]


def ca_secret_id(ca_name: str) -> str:
    """The secret-store slot of a CA key's password (slot ids allow letters, digits and '-' only)."""
    return "ca-" + hashlib.sha256(ca_name.encode()).hexdigest()[:24]


def stored_ca_password(name: str, secrets: SecretStore | None = None) -> str | None:
    """The CA key password kept in the secret store, if any."""
    return (secrets or SecretStore()).get(ca_secret_id(name), SecretName.KEY_PASSWORD)


def forget_ca_password(name: str, secrets: SecretStore | None = None) -> None:
    """Drop a CA key password from the store (its CA was deleted, or the password changed and is set again)."""
    (secrets or SecretStore()).delete(ca_secret_id(name), SecretName.KEY_PASSWORD)


def remember_ca_password(name: str, password: bytes | None, secrets: SecretStore | None = None) -> None:
    """Keep a CA key password that just worked (nothing for an unencrypted key)."""
    if password:
        (secrets or SecretStore()).set(ca_secret_id(name), SecretName.KEY_PASSWORD, password.decode())


def typed_or_stored(name: str, typed: str, secrets: SecretStore | None = None) -> bytes | None:
    """A typed password wins; otherwise the stored one (the wizard's and the fleet dialog's password field)."""
    return (typed or stored_ca_password(name, secrets) or "").encode() or None


def stored_or_asked(name: str, ask: Callable[[str], str | None], secrets: SecretStore | None = None) -> bytes | None:
    """The stored password, else asked (None from ``ask``: the user cancelled).

    Raises:
        PasswordError: the user cancelled the question.
    """
    stored = stored_ca_password(name, secrets)
    if stored:
        return stored.encode()
    typed = ask(name)
    if typed is None:
        raise PasswordError(f"No password for the key of '{name}'",
                            ("Type the CA key password; once it works it is remembered.",))
    return typed.encode() or None


@dataclass(frozen=True)
class CAPasswords:
    """How a CA verb gets a CA key's password (``ask``) and whether one that worked goes to the secret store."""

    ask: CAPasswordPrompt
    remember: bool = False
    secrets: SecretStore | None = None

    def __call__(self, name: str) -> bytes | None:
        """The password of CA ``name``."""
        return self.ask(name)

    def worked(self, name: str, password: bytes | None) -> None:
        """The password unlocked the key: keep it when this source remembers."""
        if self.remember:
            remember_ca_password(name, password, self.secrets)

    @classmethod
    def given(cls, password: bytes | None, *, remember: bool = False,
              secrets: SecretStore | None = None) -> CAPasswords:
        """One password already in hand (a field typed before the work started)."""
        return cls(lambda _name: password, remember, secrets)

    @classmethod
    def keyring(cls, ask: Callable[[str], str | None], secrets: SecretStore | None = None) -> CAPasswords:
        """The GUI's way: the secret store first, else asked; a password that worked is remembered."""
        return cls(lambda name: stored_or_asked(name, ask, secrets), True, secrets)
