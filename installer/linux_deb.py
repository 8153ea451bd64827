"""The Debian package: cheap to make wherever `dpkg-deb` exists, and the way Debian and Ubuntu users expect to
install (menu entry, icon, `workbench` on the PATH, keystores offered in "Open with")."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf"}
CONTROL = """Package: workbench
Version: {version}
Section: devel
Priority: optional
Architecture: {arch}
Maintainer: Workbench maintainers <maintainers@workbench.invalid>
Recommends: libxcb-cursor0, libxkbcommon-x11-0, libegl1, libfontconfig1
Installed-Size: {size_kib}
Description: Device Onboarding Workbench
 Certificates, keystores, proof of possession, an MQTT console and a local
 IoT platform for onboarding devices that authenticate with X.509 certificates.
"""


def debian_version(version: str) -> str:
    """PEP 440 → Debian: a pre-release sorts before the release ('0.3.0.dev4' → '0.3.0~dev4')."""
    for marker in (".dev", "a", "b", "rc"):
        head, found, tail = version.partition(marker)
        if found and head and head[-1].isdigit():
            return f"{head}~{marker.lstrip('.')}{tail}"
    return version


def build_deb(bundle: Path, icon_png: Path, desktop: str, dist: Path, version: str, machine: str) -> Path | None:
    """`dist/workbench_<version>_<arch>.deb` with the bundle in /opt/workbench; None without dpkg-deb."""
    tool = shutil.which("dpkg-deb")
    if tool is None:
        return None
    arch = ARCHITECTURES.get(machine, machine)
    root = dist / "deb-root"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(bundle, root / "opt" / "workbench", symlinks=True)
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "workbench").symlink_to("/opt/workbench/workbench")
    apps = root / "usr" / "share" / "applications"
    apps.mkdir(parents=True)
    (apps / "workbench.desktop").write_text(desktop.replace("Exec=workbench", "Exec=/opt/workbench/workbench"))
    icons = root / "usr" / "share" / "icons" / "hicolor" / "256x256" / "apps"
    icons.mkdir(parents=True)
    shutil.copy(icon_png, icons / "workbench.png")
    size_kib = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()) // 1024
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN" / "control").write_text(CONTROL.format(version=debian_version(version), arch=arch,
                                                            size_kib=size_kib))
    package = dist / f"workbench_{debian_version(version)}_{arch}.deb"
    # gzip: xz would take a minute of CI time for a few MB less
    subprocess.run([tool, "--build", "--root-owner-group", "-Zgzip", str(root), str(package)], check=True,
                   capture_output=True)
    shutil.rmtree(root, ignore_errors=True)
    return package
