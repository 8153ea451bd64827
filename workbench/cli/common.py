"""Shared CLI plumbing: password sources that never take a plain argument value, and human or --json output."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from workbench.core.profiles.secrets import SecretStore, VaultRequest
from workbench.errors import InvalidInputError, PasswordError, PasswordSourceError
from workbench.logs import keep_out_of_logs


def add_password_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup, name: str = "password",
                         what: str = "the key") -> None:
    """Offer --NAME-file and --NAME-env (and a prompt otherwise); a password is never a plain argument value."""
    flag = name.replace("_", "-")
    group = parser.add_mutually_exclusive_group()
    group.add_argument(f"--{flag}-file", dest=f"{name}_file", metavar="FILE",
                       help=f"read the password for {what} from the first line of FILE")
    group.add_argument(f"--{flag}-env", dest=f"{name}_env", metavar="VAR",
                       help=f"read the password for {what} from environment variable VAR")
    if name == "password":
        group.add_argument("--no-password", dest="no_password", action="store_true",
                           help="store the private key unencrypted (not recommended)")


def read_password(args: argparse.Namespace, name: str = "password", *, prompt: str = "Password: ",
                  confirm: bool = False, required: bool = True) -> bytes | None:
    """Get a password from --NAME-file, --NAME-env or an interactive prompt, in that order.

    Every password read is kept out of the log (`workbench.logs.keep_out_of_logs`).

    Raises:
        PasswordSourceError: no source gave a password and none may be prompted for (no terminal): exit code 2.
    """
    password = _read_password(args, name, prompt=prompt, confirm=confirm, required=required)
    if password:
        keep_out_of_logs(password)
    return password


def _read_password(args: argparse.Namespace, name: str, *, prompt: str, confirm: bool,
                   required: bool) -> bytes | None:
    file_value = getattr(args, f"{name}_file", None)
    env_value = getattr(args, f"{name}_env", None)
    if name == "password" and getattr(args, "no_password", False):
        return None
    if file_value:
        path = Path(file_value)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise PasswordSourceError(f"Cannot read the password file '{path}'",
                                      (exc.strerror or str(exc),)) from exc
        if not lines or not lines[0]:
            raise PasswordSourceError(f"The password file '{path}' is empty",
                                      ("Put the password on its first line.",))
        return lines[0].encode()
    if env_value:
        value = os.environ.get(env_value)
        if not value:
            raise PasswordSourceError(f"Environment variable {env_value} is not set or empty",
                                      (f"export {env_value}=... before running the command.",))
        return value.encode()
    if not sys.stdin.isatty():
        if not required:
            return None
        flag = name.replace("_", "-")
        raise PasswordSourceError("A password is needed but there is no terminal to ask on",
                                  (f"Pass --{flag}-file FILE or --{flag}-env VAR.",))
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("Repeat: ") != first:
        raise PasswordSourceError("The two passwords differ", ("Type the same password twice.",))
    if not first and required:
        raise PasswordSourceError("An empty password is not allowed here", ("Type a password.",))
    return first.encode() if first else None


def add_vault_options(parser: argparse.ArgumentParser) -> None:
    """--vault-passphrase-file/-env: the passphrase of the encrypted vault used when the machine has no keyring."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--vault-passphrase-file", dest="vault_passphrase_file", metavar="FILE",
                       help="without a system keyring: read the secret vault's passphrase from the first line of FILE "
                            "(a new vault is created with it)")
    group.add_argument("--vault-passphrase-env", dest="vault_passphrase_env", metavar="VAR",
                       help="without a system keyring: read the secret vault's passphrase from environment variable "
                            "VAR")


def cli_secrets(args: argparse.Namespace) -> SecretStore:
    """The process's secret store, with the vault passphrase asked the CLI way (flag, else a terminal prompt; no
    terminal and no flag: secrets are kept for this run only)."""
    store = SecretStore()
    store.session.set_vault_prompt(lambda request: _vault_passphrase(args, request))
    return store


def _vault_passphrase(args: argparse.Namespace, request: VaultRequest) -> str | None:
    """Answer the secret store's question for the vault passphrase."""
    if getattr(args, "vault_passphrase_file", None) or getattr(args, "vault_passphrase_env", None):
        if request.error:
            raise PasswordError(request.error, (f"The vault is {request.path}.",
                                                "Check the passphrase given with --vault-passphrase-file/-env."))
        passphrase = read_password(args, "vault_passphrase")
        assert passphrase is not None  # required: read_password raises rather than return None
        return passphrase.decode()
    if not sys.stdin.isatty():
        return None
    if request.error:
        print(f"error: {request.error}", file=sys.stderr)
    if request.creating:
        print(f"No system keyring: passwords can be kept in an encrypted vault ({request.path}).", file=sys.stderr)
        first = getpass.getpass("New vault passphrase (empty: keep passwords for this session only): ")
        if first and getpass.getpass("Repeat the vault passphrase: ") != first:
            raise PasswordSourceError("The two passphrases differ", ("Type the same passphrase twice.",))
    else:
        first = getpass.getpass(f"Passphrase of the secret vault {request.path} (empty: this session only): ")
    return first or None


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """Every command can answer scripts in JSON."""
    parser.add_argument("--json", action="store_true", help="print a machine-readable JSON result")


def emit(args: argparse.Namespace, result: Any, human: Callable[[Any], str] | str) -> None:
    """Print a result as JSON for scripts (--json), or as text for people."""
    if getattr(args, "json", False):
        print(json.dumps(result, indent=2, default=str))
    else:
        print(human(result) if callable(human) else human)


def read_file_bytes(path: str | Path, what: str) -> bytes:
    """Read an input file, turning OS errors into a message that names the file and what it should be.

    Raises:
        InvalidInputError: the file cannot be read.
    """
    p = Path(path)
    try:
        return p.read_bytes()
    except FileNotFoundError as exc:
        raise InvalidInputError(f"{what} file '{p}' does not exist", ("Check the path.",)) from exc
    except OSError as exc:
        raise InvalidInputError(f"Cannot read {what} file '{p}'", (exc.strerror or str(exc),)) from exc


def show_notes(notes: Sequence[str]) -> None:
    """What a repair of an interrupted run did, as notes on stderr (stdout stays the command's answer)."""
    for line in notes:
        print(f"note: {line}", file=sys.stderr)
