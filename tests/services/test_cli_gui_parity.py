"""The CLI (`workbench ca issue`) and the GUI's service call give the same device folder for the same request."""

from pathlib import Path

import pytest

from workbench.cli import run_cli
from workbench.core.pki.keys import KeySpec
from workbench.core.pki.profiles import device_profile, server_profile
from workbench.errors import WorkbenchError
from workbench.services import certificates
from workbench.services.ca_passwords import CAPasswords

CA = "Parity Root"


CA_PASSWORD = "parity-ca-pass"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    (tmp_path / "ca.pw").write_text(CA_PASSWORD + "\n")
    assert run_cli(["ca", "init", "--cn", CA, "--key-type", "ec-p256", "--password-file", str(tmp_path / "ca.pw"),
                    "--workspace", str(folder)]) == 0
    return folder


def _cli(workspace: Path, cn: str, out: Path, *extra: str) -> int:
    return run_cli(["ca", "issue", "--ca", CA, "--cn", cn, "--out", str(out), "--no-password", "--ca-password-file",
                    str(workspace.parent / "ca.pw"), "--key-type", "ec-p256", "--workspace", str(workspace), *extra])


def _gui(workspace: Path, cn: str, out: Path, server: bool = False) -> certificates.Issued:
    """What the certificate wizard runs on its worker (certificate_wizard.job)."""
    profile = server_profile((cn,), ()) if server else device_profile()
    request = certificates.NewLeaf(CA, cn, profile, KeySpec.EC_P256, None, out)
    return certificates.issue_leaf(workspace, request, CAPasswords.given(CA_PASSWORD.encode(), remember=True))


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _modes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir()}


@pytest.mark.parametrize(("server", "prefix"), [(False, "device"), (True, "server")])
def test_same_files_and_modes(workspace: Path, tmp_path: Path, server: bool, prefix: str) -> None:
    cli_out, gui_out = tmp_path / "cli", tmp_path / "gui"
    assert _cli(workspace, "broker.local" if server else "dev-1", cli_out, *(["--server"] if server else [])) == 0
    _gui(workspace, "broker.local" if server else "dev-2", gui_out, server)
    expected = [f"{prefix}Cert.pem", f"{prefix}CertChain.pem", f"{prefix}Key.pem"]
    assert _names(cli_out) == _names(gui_out) == expected
    assert _modes(cli_out) == _modes(gui_out)
    assert _modes(cli_out)[f"{prefix}Key.pem"] == 0o600


@pytest.mark.parametrize("server", [False, True])
def test_same_refusal_to_overwrite(workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   server: bool) -> None:
    flag = ["--server"] if server else []
    out = tmp_path / "out"
    assert _cli(workspace, "first.local", out, *flag) == 0
    key_before = next(out.glob("*Key.pem")).read_bytes()
    capsys.readouterr()
    assert _cli(workspace, "second.local", out, *flag) == 2
    cli_error = capsys.readouterr().err
    with pytest.raises(WorkbenchError) as gui_error:
        _gui(workspace, "third.local", out, server)
    assert "already holds" in cli_error and "an existing key is never overwritten" in cli_error
    assert gui_error.value.summary in cli_error
    assert next(out.glob("*Key.pem")).read_bytes() == key_before  # the first key survives both attempts
    listed = certificates.listing(workspace)[1]
    assert [r.cn for r in listed] == ["first.local"]  # refused before anything was signed


def test_device_and_server_share_a_folder(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "both"
    assert _cli(workspace, "dev-1", out) == 0
    _gui(workspace, "broker.local", out, server=True)
    assert _names(out) == ["deviceCert.pem", "deviceCertChain.pem", "deviceKey.pem",
                           "serverCert.pem", "serverCertChain.pem", "serverKey.pem"]


@pytest.mark.parametrize("cn", ["dev:1", "", "x" * 65])
def test_same_cn_handling(workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], cn: str) -> None:
    capsys.readouterr()
    code = _cli(workspace, cn, tmp_path / "cli")
    cli_error = capsys.readouterr().err
    with pytest.raises(WorkbenchError) as gui_error:
        _gui(workspace, cn, tmp_path / "gui")
    assert f"error: {gui_error.value.summary}" in cli_error
    assert code == gui_error.value.exit_code  # 1 for a policy refusal, 2 for an unusable value (the CLI's rule)
    assert not (tmp_path / "cli").exists() or not any((tmp_path / "cli").iterdir())
    assert not (tmp_path / "gui").exists() or not any((tmp_path / "gui").iterdir())


def test_cn_with_separators_is_taken_literally(workspace: Path, tmp_path: Path) -> None:
    assert _cli(workspace, "a,b+c=d", tmp_path / "cli") == 0
    issued = _gui(workspace, "a,b+c=d", tmp_path / "gui")
    cns = [r.cn for r in certificates.listing(workspace)[1]]
    assert cns == ["a,b+c=d", "a,b+c=d"] and issued.record.cn == "a,b+c=d"
