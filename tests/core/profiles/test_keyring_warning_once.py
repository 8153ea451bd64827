"""Without a keyring, where secrets go is said once per process: one line, however many sessions find it out."""

from __future__ import annotations

import logging
from pathlib import Path

import keyring.backends.fail
import pytest

from workbench.core.profiles import secrets as secrets_module
from workbench.core.profiles.secrets import SecretSession, StoreKind


def test_one_warning_for_many_sessions(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(secrets_module, "_warned", set(), raising=False)
    caplog.set_level(logging.WARNING, logger="workbench.profiles")
    for _ in range(4):  # the GUI's session, a reset one, the platform's and the CLI's: four used to warn 2 lines each
        session = SecretSession(backend=keyring.backends.fail.Keyring())
        assert session.kind is StoreKind.SESSION
        session.set("a/b", "value")
    lines = [r.getMessage() for r in caplog.records if r.name == "workbench.profiles"]
    assert lines == ["no system keyring (the keyring backend is 'fail') and no secret vault (no passphrase prompt); "
                     "secrets are kept for this session only"]


def test_the_vault_case_says_where_secrets_go(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
                                              tmp_path: Path) -> None:
    monkeypatch.setattr(secrets_module, "_warned", set(), raising=False)
    caplog.set_level(logging.WARNING, logger="workbench.profiles")
    vault = tmp_path / "secrets.vault"
    session = SecretSession(backend=keyring.backends.fail.Keyring(), prompt=lambda request: "a-long-passphrase",
                            vault_file=vault)
    assert session.kind is StoreKind.VAULT
    lines = [r.getMessage() for r in caplog.records if r.name == "workbench.profiles"]
    assert lines == [f"no system keyring (the keyring backend is 'fail'); secrets are kept in the encrypted vault "
                     f"{vault}"]
