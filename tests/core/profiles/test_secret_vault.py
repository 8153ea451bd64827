"""The secret store without a system keyring: the encrypted vault (create, unlock, wrong passphrase, 0600, nothing in
clear), the process-wide session layer (a secret given once is asked for never again; every page sees it), and the
truthful words for where a secret went."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest

from tests.support.memory_keyring import no_system_keyring
from workbench.core.profiles.model import SecretName
from workbench.core.profiles.secrets import (
    SecretSession,
    SecretStore,
    StoreKind,
    VaultRequest,
)
from workbench.core.vault import Vault
from workbench.errors import InvalidInputError, PasswordError

PASSPHRASE = "correct horse battery"


@pytest.fixture
def fail_keyring() -> Iterator[None]:
    """keyring's own `fail` backend: what a headless machine has; a fresh process-wide session around the test."""
    with no_system_keyring():
        yield


class Prompt:
    """A scripted passphrase prompt that records what it was asked."""

    def __init__(self, *answers: str | None) -> None:
        self.answers = list(answers)
        self.asked: list[VaultRequest] = []

    def __call__(self, request: VaultRequest) -> str | None:
        self.asked.append(request)
        return self.answers.pop(0)


def test_vault_round_trip_is_private_and_encrypted(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secrets.vault"
    vault = Vault.create(path, PASSPHRASE)
    vault.set("ca-1/key-password", "top-secret-value")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_bytes()
    assert b"top-secret-value" not in raw and b"ca-1" not in raw  # neither values nor names in clear
    again = Vault.unlock(path, PASSPHRASE)
    assert again.get("ca-1/key-password") == "top-secret-value"
    again.set("ca-1/key-password", "changed")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["secrets.vault"]  # atomic: no temp file left
    with pytest.raises(PasswordError, match="The vault passphrase is wrong"):
        Vault.unlock(path, "not the passphrase")
    assert Vault.unlock(path, PASSPHRASE).get("ca-1/key-password") == "changed"


def test_vault_refuses_short_passphrases_and_damaged_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="at least 8"):
        Vault.create(tmp_path / "v", "short")
    (tmp_path / "v").write_text("{not json")
    with pytest.raises(InvalidInputError, match="not a readable secret vault"):
        Vault.unlock(tmp_path / "v", PASSPHRASE)


@pytest.mark.usefixtures("fail_keyring")
def test_without_a_keyring_the_vault_is_created_once_and_unlocked_once_per_session(tmp_path: Path) -> None:
    vault_file = tmp_path / "secrets.vault"
    prompt = Prompt(PASSPHRASE)
    session = SecretSession(prompt=prompt, vault_file=vault_file)
    store = SecretStore(session=session)
    store.set("ca-abc", SecretName.KEY_PASSWORD, "generated-pw")
    assert store.kind is StoreKind.VAULT and store.kept == "kept in the encrypted vault"
    assert not store.degraded and store.take_degraded_notice() is None
    assert [r.creating for r in prompt.asked] == [True]  # the first use creates the vault
    assert store.get("ca-abc", SecretName.KEY_PASSWORD) == "generated-pw"
    assert len(prompt.asked) == 1  # asked once in the session
    assert b"generated-pw" not in vault_file.read_bytes()
    assert stat.S_IMODE(vault_file.stat().st_mode) == 0o600

    # The next session (a new run): a wrong passphrase is asked again with the reason, then the right one works.
    next_prompt = Prompt("wrong passphrase", PASSPHRASE)
    later = SecretStore(session=SecretSession(prompt=next_prompt, vault_file=vault_file))
    assert later.get("ca-abc", SecretName.KEY_PASSWORD) == "generated-pw"
    assert [(r.creating, r.error) for r in next_prompt.asked] == [(False, ""),
                                                                   (False, "The vault passphrase is wrong")]
    assert later.get("ca-abc", SecretName.KEY_PASSWORD) == "generated-pw" and len(next_prompt.asked) == 2

    # Wrong every time: a clear error, not a silent empty store.
    stubborn = SecretSession(prompt=Prompt("bad one!", "bad two!", "bad three"), vault_file=vault_file)
    with pytest.raises(PasswordError, match="The vault passphrase is wrong"):
        SecretStore(session=stubborn).get("ca-abc", SecretName.KEY_PASSWORD)


@pytest.mark.usefixtures("fail_keyring")
def test_declining_a_passphrase_keeps_secrets_for_this_session_and_says_so(tmp_path: Path) -> None:
    prompt = Prompt(None)
    store = SecretStore(session=SecretSession(prompt=prompt, vault_file=tmp_path / "secrets.vault"))
    store.set("p1", SecretName.MQTT_PASSWORD, "memory-only")
    assert store.kind is StoreKind.SESSION and store.kept == "kept for this session only"
    assert store.get("p1", SecretName.MQTT_PASSWORD) == "memory-only"
    assert len(prompt.asked) == 1  # declined once: never asked again this session
    assert not (tmp_path / "secrets.vault").exists()
    notice = store.take_degraded_notice()
    assert notice is not None and "kept for this session only" in notice.summary


@pytest.mark.usefixtures("fail_keyring")
def test_every_store_in_the_process_shares_the_session() -> None:
    """The wizard, PoP, the Certificates page and the services each make a SecretStore(): one session behind them."""
    SecretStore().set("ca-shared", SecretName.KEY_PASSWORD, "set-on-one-page")
    assert SecretStore().get("ca-shared", SecretName.KEY_PASSWORD) == "set-on-one-page"
    assert SecretStore().kept == "kept for this session only"  # no prompt installed: session only, truthfully


def test_with_a_keyring_the_vault_is_never_asked_for(tmp_path: Path) -> None:
    prompt = Prompt()
    store = SecretStore(session=SecretSession(prompt=prompt, vault_file=tmp_path / "secrets.vault"))
    store.set("p1", SecretName.MQTT_PASSWORD, "in-keyring")
    assert store.kind is StoreKind.KEYRING and store.kept == "kept in the system keyring"
    assert keyring.get_password("Device Onboarding Workbench", "p1/mqtt-password") == "in-keyring"
    assert prompt.asked == [] and not (tmp_path / "secrets.vault").exists()
