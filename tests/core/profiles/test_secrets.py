from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend

from workbench.core.profiles import (
    NO_KEYRING_MESSAGE,
    ConnectionProfile,
    ProfileSecrets,
    ProfileStore,
    SecretName,
    SecretStore,
)
from workbench.core.profiles.secrets import SecretSession


class LockedKeyring(KeyringBackend):
    """A keyring that exists but refuses every call (a locked or denied Secret Service)."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("the collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("the collection is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.KeyringLocked("the collection is locked")


@pytest.fixture
def locked_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(LockedKeyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


def test_memory_backend_is_used_and_not_degraded() -> None:
    secrets = SecretStore()
    secrets.set("p1", SecretName.MQTT_PASSWORD, "pw")
    assert secrets.get("p1", SecretName.MQTT_PASSWORD) == "pw"
    assert not secrets.degraded
    assert secrets.take_degraded_notice() is None
    secrets.set("p1", SecretName.MQTT_PASSWORD, "")  # empty means delete
    assert secrets.get("p1", SecretName.MQTT_PASSWORD) is None


@pytest.mark.usefixtures("no_keyring")
def test_without_a_keyring_secrets_live_for_the_session_and_the_user_is_told_once() -> None:
    store = ProfileStore()
    profile = ConnectionProfile(name="p", broker_host="localhost", client_id="c")
    path = store.save(profile, ProfileSecrets(mqtt_password="session-only"))
    assert store.secrets.degraded
    assert b"session-only" not in path.read_bytes()
    assert store.secrets_for(profile.id).mqtt_password == "session-only"
    notice = store.secrets.take_degraded_notice()
    assert notice is not None and notice.summary == NO_KEYRING_MESSAGE
    assert "passwords are kept for this session only" in str(notice)
    assert store.secrets.take_degraded_notice() is None  # once
    fresh = ProfileStore(secrets=SecretStore(session=SecretSession()))
    assert fresh.secrets_for(profile.id).mqtt_password is None  # a new session forgets
    store.delete(profile.id)
    assert store.secrets_for(profile.id).mqtt_password is None


@pytest.mark.usefixtures("locked_keyring")
def test_a_keyring_that_fails_at_runtime_degrades_on_first_use() -> None:
    secrets = SecretStore()
    assert not secrets.degraded  # the backend looked usable
    secrets.set("p1", SecretName.KEY_PASSWORD, "kept")
    assert secrets.degraded
    assert "locked" in secrets.degraded_reason
    assert secrets.get("p1", SecretName.KEY_PASSWORD) == "kept"
    assert secrets.take_degraded_notice() is not None


def test_secret_keys_are_checked_like_profile_ids() -> None:
    with pytest.raises(Exception, match="Profile id"):
        SecretStore().get("../other", SecretName.MQTT_PASSWORD)


@pytest.mark.usefixtures("no_keyring")
def test_old_file_keeps_its_password_until_a_keyring_can_take_it(copy_sample: Callable[[str, str], Path]) -> None:
    path = copy_sample("workbench-profile-v0.json", "legacy0.json")
    store = ProfileStore()
    (profile,) = store.load_all().profiles
    assert store.secrets_for(profile.id).mqtt_password == "legacy-secret"  # usable this session
    assert b"legacy-secret" in path.read_bytes()  # not lost: the file is not rewritten without a keyring
