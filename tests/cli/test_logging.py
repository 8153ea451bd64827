"""The log: --verbose/--debug, a rotated 0600 file in the log folder, and never a secret, even after a full
onboarding with --debug."""

from __future__ import annotations

import logging
import os
import re
import stat
from pathlib import Path

import pytest

from workbench import logs
from workbench.cli import run_cli
from workbench.core.profiles.model import SecretName
from workbench.core.profiles.secrets import SecretStore
from workbench.services.local_platform import SECRET_ID

JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _log_dir() -> Path:
    return Path(os.environ[logs.LOG_DIR_ENV])


def test_a_full_onboarding_with_debug_logs_no_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "scrub", lambda text: text)  # the code itself logs no secret, not only the filter
    admin_password = "Adm1n-pass-for-the-log-test"
    SecretStore().set(SECRET_ID, SecretName.PLATFORM_PASSWORD, admin_password)  # the platform we start takes it
    ca_password = "CA-key-pass-for-the-log-test"
    (tmp_path / "ca.pw").write_text(ca_password + "\n")
    out = tmp_path / "out"
    code = run_cli(["--debug", "onboard", "--local", "--device-id", "dev-log", "--ca-password-file",
                    str(tmp_path / "ca.pw"), "--out", str(out), "--workspace", str(tmp_path / "ws")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    keystore_password = (out / "dev-log" / "keystorePassword.txt").read_text().strip()
    log_file = _log_dir() / "cli.log"
    text = log_file.read_text()
    assert "workbench.cli: workbench " in text and ": onboard --debug --local --device-id --ca-password-file" in text
    for line in ("onboarding step ca done", "POST /tenant/tenants/t100/trusted-certificates: 201",  # what happened,
                 "Sending CONNECT", "Received PUBLISH (d0, q0, r0, m0), 's/dat'", "onboarding step token done",
                 "GET /user/currentUser: 200", "as the device token (Bearer)", "onboard: exit 0 after"):  # at DEBUG
        assert line in text, line
    for secret in (admin_password, ca_password, keystore_password):
        assert secret not in text and secret not in captured.err, secret
    assert not JWT.search(text) and not JWT.search(captured.err), "a device token reached the log"
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600


def test_verbose_and_debug_choose_what_stderr_shows(capsys: pytest.CaptureFixture[str]) -> None:
    chatty = logging.getLogger("workbench.test")

    def handler(_args: object) -> int:
        chatty.debug("a debug line")
        chatty.info("an info line")
        chatty.warning("a warning line")
        return 0

    for flags, shown, hidden in (([], ["warning: a warning line"], ["an info line", "a debug line"]),
                                 (["--verbose"], ["info: workbench.test: an info line"], ["a debug line"]),
                                 (["--debug"], ["debug: workbench.test: a debug line"], [])):
        from workbench import cli

        parser = cli.build_parser()
        assert parser.parse_args([*flags, "completion", "bash"]).command == "completion"
        with logs.logging_to("cli", verbose="--verbose" in flags, debug="--debug" in flags):
            handler(None)
        err = capsys.readouterr().err
        assert all(s in err for s in shown) and not any(h in err for h in hidden), (flags, err)
    text = (_log_dir() / "cli.log").read_text()
    assert text.count("an info line") == 3 and text.count("a debug line") == 1  # the file: INFO, DEBUG with --debug
    assert logging.getLogger().handlers == [] or all(not isinstance(h, logs.SecretFilter)
                                                     for h in logging.getLogger().handlers)


def test_global_options_go_before_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--verbose", "completion", "bash"]) == 0
    captured = capsys.readouterr()
    assert "complete" in captured.out and "info: workbench.cli: workbench " in captured.err
    with pytest.raises(SystemExit) as usage:
        run_cli(["--verbose", "--debug", "completion", "bash"])
    assert usage.value.code == 2


def test_the_file_rotates_and_stays_private(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "MAX_BYTES", 2000)
    with logs.logging_to("cli") as setup:
        assert setup.path == _log_dir() / "cli.log"
        for n in range(200):
            logging.getLogger("workbench.test").info("line %d of a log that outgrows its file", n)
    names = sorted(p.name for p in _log_dir().iterdir())
    assert names == ["cli.log", "cli.log.1", "cli.log.2", "cli.log.3"]  # BACKUP_COUNT old files, no more
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in _log_dir().iterdir())
    assert stat.S_IMODE(_log_dir().stat().st_mode) == 0o700
    assert "line 199 of" in (_log_dir() / "cli.log").read_text()


def test_known_secrets_and_tokens_are_scrubbed(capsys: pytest.CaptureFixture[str]) -> None:
    logs.keep_out_of_logs(b"s3cret-from-a-password-file")
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJkZXZpY2VfeCJ9.c2lnbmF0dXJlLXBhcnQ"
    with logs.logging_to("cli", debug=True):
        log = logging.getLogger("workbench.test")
        log.info("opened with %s", "s3cret-from-a-password-file")
        try:
            raise ValueError(f"token {token} refused")
        except ValueError:
            log.exception("failed")
    text = (_log_dir() / "cli.log").read_text()
    err = capsys.readouterr().err
    for where in (text, err):
        assert "s3cret-from-a-password-file" not in where and "opened with ***" in where
        assert "c2lnbmF0dXJlLXBhcnQ" not in where and "token <token> refused" in where


def test_a_log_folder_that_cannot_be_made_costs_a_warning_not_the_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(logs.LOG_DIR_ENV, str(blocker / "logs"))
    assert run_cli(["completion", "fish"]) == 0
    captured = capsys.readouterr()
    assert "complete --command workbench" in captured.out
    assert captured.err.startswith("warning: no log file in ")
