"""Where a CA key's password lives: the OS keyring slot of that CA, which the wizard, the fleet dialog, the CA
store actions, PoP and onboarding all read and fill, so a password typed once unlocks the CA everywhere."""

from __future__ import annotations

from workbench.core.profiles.model import SecretName
from workbench.core.profiles.secrets import SecretStore
from workbench.services.onboarding import ca_secret_id


def stored_ca_password(name: str, secrets: SecretStore | None = None) -> str | None:
    """The CA key password kept in the keyring, if any."""
    return (secrets or SecretStore()).get(ca_secret_id(name), SecretName.KEY_PASSWORD)


def remember_ca_password(name: str, password: bytes | None, secrets: SecretStore | None = None) -> None:
    """Keep a CA key password that just worked (nothing for an unencrypted key)."""
    if password:
        (secrets or SecretStore()).set(ca_secret_id(name), SecretName.KEY_PASSWORD, password.decode())
