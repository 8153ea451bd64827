"""What can be checked here of the Windows and macOS installers: the version resource PyInstaller reads on
Windows, the Inno Setup script's associations and version, and the macOS script's portability."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
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


def test_the_project_licence_is_apache_2_and_the_windows_installer_shows_it() -> None:
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    assert "END OF TERMS AND CONDITIONS" in licence and 'license = { text = "Apache-2.0" }' in (
        ROOT / "pyproject.toml").read_text(encoding="utf-8")
    iss = (ROOT / "installer" / "windows" / "workbench.iss").read_text(encoding="utf-8")
    assert "LicenseFile=..\\..\\LICENSE\n" in iss and "THIRD-PARTY-LICENSES.txt" in iss  # the list stays, as a file


def test_the_windows_installer_is_64_bit_offers_the_cli_on_the_path_and_shows_the_self_test() -> None:
    iss = (ROOT / "installer" / "windows" / "workbench.iss").read_text(encoding="utf-8")
    assert "ArchitecturesAllowed=x64compatible\n" in iss and "ArchitecturesInstallIn64BitMode=x64compatible\n" in iss
    tasks = [line for line in iss.splitlines() if line.startswith('Name: "addtopath"')]
    assert len(tasks) == 1 and "Flags: unchecked" in tasks[0]  # offered, not ticked
    path_entries = [line for line in iss.splitlines() if "Tasks: addtopath" in line]
    assert len(path_entries) == 2 and all('ValueData: "{olddata};{app}"' in line for line in path_entries)
    assert "procedure CurUninstallStepChanged" in iss and "ChangesEnvironment=yes" in iss  # taken out again
    self_test = next(line for line in iss.splitlines() if "--self-test" in line and line.startswith("Filename"))
    assert "workbench-cli.exe" in self_test and "pause" in self_test and "runhidden" not in self_test
    # Inno Setup doubles quotes inside a quoted parameter: cmd gets /c ""<exe>" --self-test & echo. & pause"
    parameters = self_test.split('Parameters: "', 1)[1].split('"; ', 1)[0].replace('""', '"')
    assert parameters == '/c ""{app}\\workbench-cli.exe" --self-test & echo. & pause"'


def test_macos_signing_is_inside_out_with_the_hardened_runtime_and_entitlements() -> None:
    import plistlib

    entitlements = plistlib.loads((ROOT / "installer" / "macos" / "entitlements.plist").read_bytes())
    assert entitlements == {"com.apple.security.cs.allow-unsigned-executable-memory": True}
    script = (ROOT / "installer" / "macos" / "sign_app.sh").read_text(encoding="utf-8")
    commands = [line for line in script.splitlines() if "codesign" in line and not line.lstrip().startswith("#")]
    assert commands and not any("--deep" in line for line in commands)
    assert "--options runtime" in script and '--entitlements "$entitlements"' in script
    for linux_only in ("apt-get", "dpkg", "readlink -f", "sed -i "):
        assert linux_only not in script
    assert "sign_app.sh" in (ROOT / "installer" / "macos" / "make_dmg.sh").read_text(encoding="utf-8")


def test_the_ci_workflow_runs_ci_run_on_linux_and_builds_on_windows_and_macos() -> None:
    workflow = (ROOT / ".github" / "workflows" / "build.yml").read_text(encoding="utf-8")
    linux = workflow.split("\n  linux:", 1)[1].split("\n  windows:", 1)[0]
    assert "run: .ci/run" in linux and "python:3.11-bookworm" in linux  # the same script and system as here
    assert "windows-" in workflow and "macos-14" in workflow and "macos-13" in workflow
    assert workflow.count("--self-test") >= 4
    assert "\t" not in workflow


def test_deb_depends_keep_computed_versions_and_add_the_xcb_packages() -> None:
    from installer.linux_deb import XCB_PACKAGES, merge_depends

    merged = merge_depends("libc6 (>= 2.36), libxcb-cursor0 (>= 0.0.99), libgl1", ("libxcb-cursor0", "libegl1"))
    assert merged.split(", ") == ["libc6 (>= 2.36)", "libegl1", "libgl1", "libxcb-cursor0 (>= 0.0.99)"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for package in XCB_PACKAGES:  # what CI installs is what the package asks for
        assert package in ci


@pytest.mark.skipif(not (shutil.which("dpkg-deb") and shutil.which("dpkg-shlibdeps")),
                    reason="needs dpkg-deb and dpkg-shlibdeps (Debian/Ubuntu, package dpkg-dev)")
def test_a_deb_depends_on_the_system_libraries_its_bundle_does_not_carry(tmp_path: Path) -> None:
    """A fake bundle: /usr/bin/openssl as the executable, with libssl and libcrypto carried in _internal."""
    from installer.linux_deb import build_deb

    bundle = tmp_path / "workbench"
    (bundle / "_internal").mkdir(parents=True)
    shutil.copy("/usr/bin/openssl", bundle / "workbench")
    for line in subprocess.run(["ldd", "/usr/bin/openssl"], capture_output=True, text=True, check=True).stdout \
            .splitlines():
        if "libssl" in line or "libcrypto" in line:
            shutil.copy(line.split("=>")[1].split("(")[0].strip(), bundle / "_internal")
    (bundle / "THIRD-PARTY-LICENSES.txt").write_text("notices\n")
    icon = tmp_path / "icon.png"
    icon.write_bytes(b"\x89PNG\r\n\x1a\n")
    deb = build_deb(bundle, icon, "[Desktop Entry]\nExec=workbench\n", tmp_path / "dist", "1.2.0.dev3", "x86_64")
    assert deb is not None and deb.name == "workbench_1.2.0~dev3_amd64.deb"
    depends = subprocess.run(["dpkg-deb", "--field", str(deb), "Depends"], capture_output=True, text=True,
                             check=True).stdout
    assert re.search(r"\blibc6 \(>= 2\.\d+\)", depends), depends  # versioned from libc6's symbols file
    assert "libssl" not in depends, depends  # the bundle carries it
    assert "libxcb-cursor0" in depends and "libegl1" in depends
    contents = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True,
                              check=True).stdout
    assert "./usr/share/doc/workbench/copyright" in contents and "./usr/share/doc/workbench/changelog.gz" in contents
    extracted = tmp_path / "x"
    subprocess.run(["dpkg-deb", "--raw-extract", str(deb), str(extracted)], check=True)
    copyright_text = (extracted / "usr" / "share" / "doc" / "workbench" / "copyright").read_text()
    paragraphs = [p for p in copyright_text.split("\n\n") if p.strip()]
    assert paragraphs[0].startswith("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/")
    licences = {line.split(":", 1)[1].strip() for p in paragraphs for line in p.splitlines()
                if line.startswith("License:")}
    assert licences == {"Apache-2.0", "bundled-components"}  # every short name used has its text paragraph
    md5sums = (extracted / "DEBIAN" / "md5sums").read_text()
    assert "  opt/workbench/workbench\n" in md5sums and "usr/share/doc/workbench/copyright" in md5sums
    assert oct((extracted / "opt" / "workbench" / "workbench").stat().st_mode & 0o777) == "0o755"


def test_the_self_tests_payload_check_compiles_a_proto_with_a_well_known_import() -> None:
    from workbench.cli.self_test import CHECKS, SELF_TEST_PROTO

    assert 'import "google/protobuf/timestamp.proto"' in SELF_TEST_PROTO  # needs grpc_tools' _proto folder
    check = dict(CHECKS)["payloads"]
    assert check({}).startswith("Protobuf from a .proto compiled now")
