"""The exit-code convention on every command: 0 ok, 1 a check or the work failed, 2 usage (`workbench --help`).

Each command of `build_parser()` runs once in a failing way; a command added without a row here fails
`test_every_command_has_a_failing_case`, so the convention cannot silently skip a new command.
"""

from __future__ import annotations

import argparse
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.certs import make_ca, make_pki
from workbench.cli import build_parser, exit_code, run_cli
from workbench.errors import (
    EXIT_FAILED,
    EXIT_USAGE,
    CAStoreError,
    ChainError,
    InvalidInputError,
    KeystorePasswordError,
    MqttConnectError,
    PasswordError,
    PasswordSourceError,
    PlatformRequestError,
    PolicyError,
    UnsupportedFormatError,
    WorkbenchError,
)


@dataclass
class Env:
    """Files and a refused port that the failing invocations point at."""

    tmp: Path
    ws: str
    pw: str
    wrong_pw: str
    garbage: str
    missing: str
    leaf: str
    chain: str
    other_root: str
    device_key: str
    other_key: str
    store: str
    port: int

    def url(self) -> str:
        """A platform URL on loopback where nothing listens (connection refused)."""
        return f"https://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def refused_port() -> Iterator[int]:
    """A loopback port that is bound but not listening: a connect is refused at once, and no one can take it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture
def env(tmp_path: Path, refused_port: int, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Env:
    pki = make_pki()
    files = {
        "pw": b"store-pass-1\n", "wrong": b"not-the-password\n", "garbage": b"these are my notes\n",
        "leaf.pem": pki.device_ec.cert_pem(), "chain.pem": pki.device_ec.chain_pem(),
        "other-root.pem": make_ca("Someone Else's Root").cert_pem(), "device.key": pki.device_ec.key_pem(),
        "other.key": pki.device_rsa.key_pem(),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "devices" / "device-ec-001").mkdir(parents=True)  # a device folder as `ca issue` leaves it
    (tmp_path / "devices" / "device-ec-001" / "deviceCertChain.pem").write_bytes(pki.device_ec.chain_pem())
    monkeypatch.setenv("TENANT_PW", "tenant-pass")
    e = Env(tmp_path, str(tmp_path / "ws"), str(tmp_path / "pw"), str(tmp_path / "wrong"), str(tmp_path / "garbage"),
            str(tmp_path / "missing.pem"), str(tmp_path / "leaf.pem"), str(tmp_path / "chain.pem"),
            str(tmp_path / "other-root.pem"), str(tmp_path / "device.key"), str(tmp_path / "other.key"),
            str(tmp_path / "ks.p12"), refused_port)
    assert run_cli(["keystore", "create", e.store, "--key", e.device_key, "--cert", e.chain,
                    "--store-password-file", e.pw]) == 0
    capsys.readouterr()
    return e


# command → (failing arguments after the command, expected code). 1: the work or a check failed; 2: usage.
Case = Callable[[Env], list[str]]
CASES: dict[str, tuple[Case, int]] = {
    "ca init": (lambda e: ["--workspace", e.ws, "--no-password"], EXIT_USAGE),  # no name for the CA
    "ca intermediate": (lambda e: ["--workspace", e.ws, "--ca", "Nope", "--cn", "I", "--ca-password-file", e.pw,
                                   "--no-password"], EXIT_FAILED),  # no such CA in the store
    "ca issue": (lambda e: ["--workspace", e.ws, "--ca", "Nope", "--cn", "d", "--out", str(e.tmp / "o"),
                            "--ca-password-file", e.pw, "--no-password"], EXIT_FAILED),
    "ca sign-csr": (lambda e: ["--workspace", e.ws, "--ca", "Nope", "--out", str(e.tmp / "c.pem"),
                               "--ca-password-file", e.pw, e.missing], EXIT_USAGE),  # the CSR file is missing
    "ca import": (lambda e: ["--workspace", e.ws, "--cert", e.garbage, "--key", e.garbage, "--no-password"],
                  EXIT_USAGE),  # not a certificate
    "ca revoke": (lambda e: ["--workspace", e.ws, "--ca", "Nope", "01"], EXIT_FAILED),
    "ca crl": (lambda e: ["--workspace", e.ws, "--ca", "Nope", "--out", str(e.tmp / "crl.pem"),
                          "--ca-password-file", e.pw], EXIT_FAILED),
    "ca export-openssl": (lambda e: ["--workspace", e.ws, "--ca", "Nope", "--ca-password-file", e.pw,
                                     str(e.tmp / "layout")], EXIT_FAILED),
    "ca list": (lambda e: ["--workspace", e.garbage], EXIT_FAILED),  # a file where the store folder should be
    "ca password show": (lambda e: ["--workspace", e.ws, "--ca", "Nope", "--yes"], EXIT_FAILED),
    "ca password reset": (lambda e: ["--workspace", e.ws, "--ca", "Nope", "--yes", "--ca-password-file", e.pw],
                          EXIT_FAILED),
    "cert show": (lambda e: [e.garbage], EXIT_USAGE),
    "cert verify": (lambda e: ["--ca-file", e.other_root, e.chain], EXIT_FAILED),  # the check says no
    "cert lint": (lambda e: ["--ca", e.leaf], EXIT_FAILED),  # a device certificate linted as a CA
    "cert expiring": (lambda e: ["--folder", str(e.tmp / "devices"), "--days", "100000"], EXIT_FAILED),  # it does
    "cert renew": (lambda e: ["--folder", str(e.tmp / "devices"), "--device-id", "nobody", "--workspace", e.ws],
                   EXIT_USAGE),  # --device-id names no known device
    "fleet issue": (lambda e: ["--workspace", e.ws, "--ca", "Nope", "--count", "1", "--out", str(e.tmp / "f"),
                               "--ca-password-file", e.pw, "--no-password"], EXIT_FAILED),
    "keystore list": (lambda e: [e.store, "--store-password-file", e.wrong_pw], EXIT_FAILED),  # wrong password
    "keystore create": (lambda e: [e.store, "--key", e.device_key, "--cert", e.chain, "--store-password-file", e.pw],
                        EXIT_FAILED),  # the file exists (no --force)
    "keystore import": (lambda e: [e.store, "--trusted", e.other_root, "--alias", "r", "--store-password-file",
                                   e.wrong_pw], EXIT_FAILED),
    "keystore export": (lambda e: [e.store, "--alias", "nope", "--out", str(e.tmp / "x.pem"),
                                   "--store-password-file", e.pw], EXIT_FAILED),  # no such entry
    "keystore rename": (lambda e: [e.store, "nope", "other", "--store-password-file", e.pw], EXIT_FAILED),
    "keystore delete": (lambda e: [e.store, "nope", "--store-password-file", e.pw], EXIT_FAILED),
    "keystore passwd": (lambda e: [e.store, "--store-password-file", e.wrong_pw, "--new-password-file", e.pw],
                        EXIT_FAILED),
    "keystore convert": (lambda e: [e.store, "--to", "jks", "--out", str(e.tmp / "ks.jks"), "--store-password-file",
                                    e.wrong_pw, "--new-password-file", e.pw], EXIT_FAILED),
    "truststore create": (lambda e: [e.store, "--cert", e.other_root, "--store-password-file", e.pw], EXIT_FAILED),
    "truststore add": (lambda e: [e.store, "--cert", e.other_root, "--alias", "r", "--store-password-file",
                                  e.wrong_pw], EXIT_FAILED),
    "tls fetch": (lambda e: [f"127.0.0.1:{e.port}"], EXIT_FAILED),  # refused
    "pop sign": (lambda e: ["--key", e.other_key, "--cert", e.leaf, "--code", "abc"], EXIT_FAILED),  # not its key
    "pop verify": (lambda e: ["--cert", e.leaf, "--code", "abc", "--signature", "AAAA"], EXIT_FAILED),
    "pop verification-cert": (lambda e: ["--workspace", e.ws, "--ca", "Nope", "--code", "abc", "--out",
                                         str(e.tmp / "v.pem"), "--ca-password-file", e.pw], EXIT_FAILED),
    "demo-certs": (lambda e: ["--key-type", "dsa-512", "--no-password", str(e.tmp / "demo")], EXIT_USAGE),
    "onboard": (lambda e: ["--url", e.url(), "--user", "t1/admin", "--tenant-password-env", "TENANT_PW",
                           "--ca-password-file", e.pw, "--workspace", e.ws, "--out", str(e.tmp / "on")], EXIT_FAILED),
    "profile list": (lambda e: ["unexpected"], EXIT_USAGE),  # only usage can go wrong listing an empty store
    "profile show": (lambda e: ["nope"], EXIT_FAILED),
    "profile import": (lambda e: [e.garbage], EXIT_USAGE),
    "profile export": (lambda e: ["nope", "--out", str(e.tmp / "p.json")], EXIT_FAILED),
    "mqtt pub": (lambda e: ["-h", "127.0.0.1", "-p", str(e.port), "-t", "t", "-m", "x"], EXIT_FAILED),
    "mqtt sub": (lambda e: ["-h", "127.0.0.1", "-p", str(e.port), "-t", "t"], EXIT_FAILED),
    "mqtt rr": (lambda e: ["-h", "127.0.0.1", "-p", str(e.port), "-t", "t", "-e", "r", "-n"], EXIT_FAILED),
    "est enroll": (lambda e: ["--url", e.url(), "--user", "t1/admin", "--tenant-password-env", "TENANT_PW",
                              "--device-id", "d1", "--out", str(e.tmp / "est")], EXIT_FAILED),
    "est reenroll": (lambda e: ["--url", e.url(), "--folder", str(e.tmp / "no-device")], EXIT_USAGE),
    "est cacerts": (lambda e: ["--url", e.url(), "--user", "t1/admin", "--tenant-password-env", "TENANT_PW"],
                    EXIT_FAILED),
    "simulate": (lambda e: ["--fleet", str(e.tmp / "no-fleet")], EXIT_USAGE),
    "smartrest template push": (lambda e: [e.garbage, "--url", e.url(), "--user", "t1/admin"], EXIT_USAGE),
    "smartrest template pull": (lambda e: ["x1", "--url", e.url(), "--user", "t1/admin", "--tenant-password-env",
                                           "TENANT_PW"], EXIT_FAILED),
    "smartrest template check": (lambda e: ["--file", e.missing], EXIT_USAGE),
    "completion": (lambda e: ["tcsh"], EXIT_USAGE),
    "local-platform": (lambda e: ["--ephemeral", "--create-tenant", "t200"], EXIT_USAGE),
}


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*prefix, name))
            return
    yield " ".join(prefix)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = run_cli(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_every_command_has_a_failing_case() -> None:
    assert sorted(_commands(build_parser())) == sorted(CASES)


@pytest.mark.parametrize("command", sorted(CASES))
def test_a_failing_command_exits_with_the_convention(command: str, env: Env,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    make_args, expected = CASES[command]
    code, out, err = _run([*command.split(), *make_args(env)], capsys)
    assert code == expected, err
    assert "Traceback" not in err
    # an error says what went wrong on stderr; a check that failed may report on stdout (pop verify, cert expiring)
    assert err.startswith(("error: ", "usage: ", "embedded-broker: ")) or (code == EXIT_FAILED and out.strip()), err


@pytest.mark.parametrize("command", sorted(CASES))
def test_an_unknown_option_is_usage(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run([*command.split(), "--no-such-option"], capsys)
    assert code == EXIT_USAGE and "usage:" in err


def test_the_error_tree_decides_the_code() -> None:
    usage = (InvalidInputError, UnsupportedFormatError, PasswordSourceError)
    failed = (WorkbenchError, ChainError, PolicyError, CAStoreError, PasswordError, KeystorePasswordError,
              MqttConnectError, PlatformRequestError)
    assert [exit_code(cls("x")) for cls in usage] == [EXIT_USAGE] * len(usage)
    assert [exit_code(cls("x")) for cls in failed] == [EXIT_FAILED] * len(failed)
    assert exit_code(KeyboardInterrupt()) == 130
    # an error defined elsewhere (a service's own subclass) follows its base class
    from workbench.services.local_platform import LocalPlatformError
    assert exit_code(LocalPlatformError("x")) == EXIT_FAILED


def test_a_missing_password_source_is_usage_and_a_wrong_one_failed_work(env: Env,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["keystore", "list", env.store, "--store-password-env", "UNSET_VARIABLE_FOR_TEST"], capsys)
    assert code == EXIT_USAGE and "UNSET_VARIABLE_FOR_TEST is not set" in err
    code, _, err = _run(["keystore", "list", env.store, "--store-password-file", env.wrong_pw], capsys)
    assert code == EXIT_FAILED and err.startswith("error: ")


def test_help_states_the_convention(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        run_cli(["--help"])
    assert done.value.code == 0
    help_text = capsys.readouterr().out
    for line in ("exit codes:", "a check failed", "usage:", "local-platform", "--self-test", "completion", "cli.log",
                 "--verbose", "--debug"):
        assert line in help_text, line
