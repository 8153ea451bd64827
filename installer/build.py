"""One entry point for the installers: `python installer/build.py [--target linux|windows|macos]`.

It builds the one-folder PyInstaller bundle from `installer/workbench.spec`, then wraps it for the target:
a `.tar.gz` with a `.desktop` file and icon on Linux (an AppImage too when `appimagetool` is installed, and a
`.deb` when `dpkg-deb` is).
Windows and macOS builds run on those systems; see installer/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform as host_platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NAME = "workbench"
DESKTOP = """[Desktop Entry]
Type=Application
Name=Device Onboarding Workbench
Comment=Certificates, keystores, proof of possession, an MQTT console and a local IoT platform
Exec={exec} %F
Icon=workbench
Terminal=false
Categories=Development;Network;
MimeType=application/x-pkcs12;application/x-java-keystore;
"""


def host_target() -> str:
    """linux, windows or macos: what this machine can build."""
    return {"Linux": "linux", "Windows": "windows", "Darwin": "macos"}.get(host_platform.system(), "linux")


def render_icons(out: Path) -> dict[str, Path]:
    """PNG sizes (and ICO/ICNS where Qt's image plugins can write them) from resources/icons/workbench.svg."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(ROOT / "resources" / "icons" / "workbench.svg"))
    out.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}
    for size in (16, 32, 48, 64, 128, 256, 512):
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        path = out / f"workbench-{size}.png"
        image.save(str(path))
        made[f"png{size}"] = path
        if size == 256:
            for suffix in ("ico", "icns"):
                target = out / f"workbench.{suffix}"
                if image.save(str(target)):
                    made[suffix] = target
    return made


def pyinstaller(dist: Path, work: Path, icon: Path | None, version_file: Path | None = None) -> Path:
    """Run PyInstaller on the shared spec; returns the bundle folder."""
    from workbench import __version__

    env = {**os.environ, "WORKBENCH_ROOT": str(ROOT), "WORKBENCH_BUNDLE_NAME": NAME, "WORKBENCH_VERSION": __version__}
    if icon is not None:
        env["WORKBENCH_ICON"] = str(icon)
    if version_file is not None:
        env["WORKBENCH_VERSION_FILE"] = str(version_file)
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
               "--distpath", str(dist), "--workpath", str(work), str(ROOT / "installer" / "workbench.spec")]
    subprocess.run(command, check=True, env=env, cwd=ROOT)
    return dist / NAME


def folder_size(folder: Path) -> int:
    """Bytes on disk of every file under a folder."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def wrap_linux(bundle: Path, icons: dict[str, Path], dist: Path, version: str) -> list[Path]:
    """A .tar.gz with the bundle, a .desktop file and the icon; an AppImage when appimagetool exists, and a .deb
    when dpkg-deb does."""
    shutil.copy(icons["png256"], bundle / "workbench.png")
    (bundle / "workbench.desktop").write_text(DESKTOP.format(exec="workbench"))
    machine = host_platform.machine() or "x86_64"
    archive = dist / f"workbench-{version}-linux-{machine}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(bundle, arcname=f"workbench-{version}")
    made = [archive]
    tool = shutil.which("appimagetool")
    if tool:
        appdir = dist / "Workbench.AppDir"
        shutil.rmtree(appdir, ignore_errors=True)
        shutil.copytree(bundle, appdir / "usr" / "lib" / "workbench")
        (appdir / "AppRun").write_text('#!/bin/sh\nexec "$(dirname "$0")/usr/lib/workbench/workbench" "$@"\n')
        (appdir / "AppRun").chmod(0o755)
        shutil.copy(icons["png256"], appdir / "workbench.png")
        (appdir / "workbench.desktop").write_text(DESKTOP.format(exec="workbench"))
        image = dist / f"Workbench-{version}-{machine}.AppImage"
        subprocess.run([tool, str(appdir), str(image)], check=True, env={**os.environ, "ARCH": machine})
        made.append(image)
    from installer.linux_deb import build_deb

    package = build_deb(bundle, icons["png256"], DESKTOP.format(exec="workbench"), dist, version, machine)
    if package is not None:
        made.append(package)
    return made


def wrap_windows(dist: Path, version: str) -> list[Path]:
    """The Inno Setup installer, when `iscc` (Inno Setup 6) is on the PATH."""
    iscc = shutil.which("iscc") or shutil.which("ISCC")
    if iscc is None:
        print("Inno Setup's iscc is not on the PATH: the bundle is in dist\\workbench; install Inno Setup 6 to "
              "get the setup program.", file=sys.stderr)
        return []
    subprocess.run([iscc, f"/DAppVersion={version}", str(ROOT / "installer" / "windows" / "workbench.iss")],
                   check=True)
    return [dist / f"workbench-{version}-windows-setup.exe"]


def wrap_macos(dist: Path, version: str) -> list[Path]:
    """The .dmg around Workbench.app, signed inside out first when WORKBENCH_CODESIGN_IDENTITY names a Developer ID
    (then notarise; see installer/README.md)."""
    identity = os.environ.get("WORKBENCH_CODESIGN_IDENTITY")
    if identity:
        subprocess.run(["sh", str(ROOT / "installer" / "macos" / "sign_app.sh"), identity], check=True)
    subprocess.run(["sh", str(ROOT / "installer" / "macos" / "make_dmg.sh"), version], check=True)
    return [dist / f"workbench-{version}-macos.dmg"]


def main(argv: list[str] | None = None) -> int:
    """Build for the target and print what was made, its size and how long it took."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=("linux", "windows", "macos"), default=host_target())
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build")
    args = parser.parse_args(argv)
    if args.target != host_target():
        print(f"build.py: a {args.target} bundle is built on {args.target}; this machine builds {host_target()} "
              "(PyInstaller does not cross-compile). See installer/README.md.", file=sys.stderr)
        return 2
    from workbench import __version__

    started = time.monotonic()
    icons = render_icons(args.work / "icons")
    icon = icons.get("ico") if args.target == "windows" else icons.get("icns") if args.target == "macos" else None
    from installer.version_info import write_version_file

    version_file = write_version_file(args.work, __version__) if args.target == "windows" else None
    bundle = pyinstaller(args.dist, args.work, icon, version_file)
    from installer.licences import write_notice

    write_notice(bundle)
    shutil.copy(ROOT / "LICENSE", bundle / "LICENSE.txt")  # the app's own licence (Apache-2.0), beside the notices
    if args.target == "linux":
        made = wrap_linux(bundle, icons, args.dist, __version__)
    elif args.target == "windows":
        made = wrap_windows(args.dist, __version__)
    else:
        made = wrap_macos(args.dist, __version__)
    size = folder_size(bundle) / 1024 / 1024
    print(f"bundle: {bundle} ({size:.0f} MB unpacked) in {time.monotonic() - started:.0f} s")
    for path in made:
        print(f"package: {path} ({path.stat().st_size / 1024 / 1024:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
