"""What can be checked here of the Windows and macOS installers: the version resource PyInstaller reads on
Windows, the Inno Setup script's associations and version, and the macOS script's portability."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from installer.version_info import version_file_text, version_tuple, write_version_file
from workbench import __version__

ROOT = Path(__file__).resolve().parents[1]


def test_version_tuple() -> None:
    assert version_tuple("1.2.3") == (1, 2, 3, 0)
    assert version_tuple("0.3.0.dev4+g1234") == (0, 3, 0, 0)
    with pytest.raises(ValueError, match="65535"):
        version_tuple("1.70000")


def test_version_resource_is_the_expression_pyinstaller_evaluates(tmp_path: Path) -> None:
    text = version_file_text(__version__)
    call = ast.parse(text, mode="eval").body  # PyInstaller eval()s this text with its versioninfo classes
    assert isinstance(call, ast.Call) and call.func.id == "VSVersionInfo"  # type: ignore[attr-defined]
    strings = {n.args[0].value: n.args[1].value for n in ast.walk(call)  # type: ignore[attr-defined]
               if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "StringStruct"}
    assert strings["ProductVersion"] == __version__ and strings["OriginalFilename"] == "workbench.exe"
    assert f"filevers={version_tuple(__version__)}" in text
    assert write_version_file(tmp_path, __version__).read_text(encoding="utf-8") == text


def test_inno_setup_script_offers_the_keystore_associations() -> None:
    iss = (ROOT / "installer" / "windows" / "workbench.iss").read_text(encoding="utf-8")
    for suffix in (".p12", ".pfx", ".jks"):
        assert suffix in iss
    assert "Tasks:" in iss and "unchecked" in iss.lower()  # offered, not forced
    assert "{#AppVersion}" in iss or "AppVersion" in iss


def test_macos_script_has_no_linux_only_steps() -> None:
    script = (ROOT / "installer" / "macos" / "make_dmg.sh").read_text(encoding="utf-8")
    assert "hdiutil" in script
    for linux_only in ("apt-get", "dpkg", "readlink -f", "sed -i "):
        assert linux_only not in script


def test_debian_versions_sort_pre_releases_first() -> None:
    from installer.linux_deb import debian_version

    assert debian_version("1.2.3") == "1.2.3"
    assert debian_version("0.3.0.dev4") == "0.3.0~dev4"
    assert debian_version("1.0rc1") == "1.0~rc1"


def test_the_frozen_gui_starts_the_platform_with_its_console_twin_on_windows(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from workbench.services.local_platform import platform_command

    gui = tmp_path / "workbench.exe"
    gui.touch()
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(gui))
    monkeypatch.setattr(sys, "platform", "win32")
    assert platform_command() == [str(gui), "local-platform"]  # no twin: the executable itself
    (tmp_path / "workbench-cli.exe").touch()
    assert platform_command() == [str(tmp_path / "workbench-cli.exe"), "local-platform"]
    monkeypatch.setattr(sys, "platform", "linux")
    assert platform_command() == [str(gui), "local-platform"]


def test_the_spec_builds_a_windowed_gui_and_a_console_twin_on_windows() -> None:
    spec = (ROOT / "installer" / "workbench.spec").read_text(encoding="utf-8")
    assert "console=not WINDOWS" in spec and 'name=f"{NAME}-cli", console=True' in spec
