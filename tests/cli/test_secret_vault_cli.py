"""The CLI on a machine without a system keyring: `onboard --local` leaves a CA whose generated password is in the
encrypted vault (or shown once), `ca issue` uses it again with the vault passphrase, and `ca password show|reset`."""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.memory_keyring import no_system_keyring
from workbench import paths
from workbench.cli import run_cli
from workbench.core.profiles.secrets import reset_default_session

PASSPHRASE = "vault passphrase 1"


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """keyring's `fail` backend and a fresh process-wide secret session (each run_cli below is "a new process"
    only after reset_default_session())."""
    monkeypatch.setenv("WB_VAULT", PASSPHRASE)
    with no_system_keyring():
        yield


def _onboard(tmp_path: Path, *extra: str) -> int:
    return run_cli(["onboard", "--local", "--ephemeral", "--device-id", "dev-vault", "--out", str(tmp_path / "out"),
                    "--workspace", str(tmp_path / "ws"), *extra])


@pytest.mark.usefixtures("no_keyring")
def test_onboard_without_keyring_keeps_the_ca_password_in_the_vault(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    ws = str(tmp_path / "ws")
    code = _onboard(tmp_path, "--vault-passphrase-env", "WB_VAULT")
    out = capsys.readouterr().out
    assert code == 0, out
    line = next(x for x in out.splitlines() if " key password: " in x)
    match = re.fullmatch(r"CA '(.+)' key password: kept in the encrypted vault (.+)", line)
    assert match, line
    ca, vault = match.group(1), Path(match.group(2))
    assert vault == paths.data_dir() / "secrets.vault"
    assert stat.S_IMODE(vault.stat().st_mode) == 0o600
    assert "saved in the keyring" not in out

    reset_default_session()  # a later run: only the vault passphrase is given, no CA password
    issue = ["ca", "issue", "--ca", ca, "--cn", "dev-again", "--out", str(tmp_path / "again"), "--workspace", ws,
             "--no-password", "--vault-passphrase-env", "WB_VAULT"]
    assert run_cli(issue) == 0, capsys.readouterr().err
    assert "Issued 'dev-again'" in capsys.readouterr().out

    reset_default_session()
    show = ["ca", "password", "show", "--ca", ca, "--yes", "--vault-passphrase-env", "WB_VAULT"]
    assert run_cli(show) == 0
    old_password = capsys.readouterr().out.strip()
    assert len(old_password) >= 16 and old_password.encode() not in vault.read_bytes()

    reset_default_session()
    reset = ["ca", "password", "reset", "--ca", ca, "--yes", "--workspace", ws, "--vault-passphrase-env", "WB_VAULT"]
    assert run_cli(reset) == 0, capsys.readouterr().err
    assert "kept in the encrypted vault" in capsys.readouterr().out
    reset_default_session()
    assert run_cli(show) == 0
    new_password = capsys.readouterr().out.strip()
    assert new_password and new_password != old_password

    reset_default_session()  # the key really is re-encrypted: the old password no longer opens it, the new one does
    with_password = ["ca", "issue", "--ca", ca, "--cn", "dev-three", "--out", str(tmp_path / "three"), "--workspace",
                     ws, "--no-password", "--ca-password-env", "WB_CA"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WB_CA", old_password)
        assert run_cli(with_password) == 1
        assert "Could not unlock the key" in capsys.readouterr().err
        mp.setenv("WB_CA", new_password)
        assert run_cli(with_password) == 0, capsys.readouterr().err

    reset_default_session()
    wrong = ["ca", "password", "show", "--ca", ca, "--yes", "--vault-passphrase-env", "WB_WRONG"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WB_WRONG", "not the vault passphrase")
        assert run_cli(wrong) == 1
    assert "The vault passphrase is wrong" in capsys.readouterr().err


@pytest.mark.usefixtures("no_keyring")
def test_onboard_without_keyring_or_vault_shows_the_generated_password_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = _onboard(tmp_path)  # no terminal and no passphrase flag: this run's memory only
    out = capsys.readouterr().out
    assert code == 0, out
    line = next(x for x in out.splitlines() if " key password: " in x)
    match = re.fullmatch(r"CA '(.+)' key password: shown once: (\S+) \(kept for this session only; .+\)", line)
    assert match, line
    ca, password = match.groups()
    reset_default_session()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WB_CA", password)  # written down from the output, the CA is usable again
        assert run_cli(["ca", "issue", "--ca", ca, "--cn", "dev-later", "--out", str(tmp_path / "later"),
                        "--workspace", str(tmp_path / "ws"), "--no-password", "--ca-password-env", "WB_CA"]) == 0
    assert not (paths.data_dir() / "secrets.vault").exists()
