"""The Debian package: cheap to make wherever `dpkg-deb` exists, and the way Debian and Ubuntu users expect to
install (menu entry, icon, `workbench` on the PATH, keystores offered in "Open with").

Its `Depends:` are computed from the bundle: `dpkg-shlibdeps` reads every ELF file in it, skips the libraries the
bundle carries itself, and names the Debian packages (with the minimum versions their symbols files give, glibc's
among them) of the rest. The packages Qt's xcb platform plugin needs on an X11 desktop are added to that list, so
`apt install ./workbench_*.deb` pulls in what a minimal system lacks and an older system refuses the package
instead of installing something that cannot start (tests/test_deb_root.py installs it in a clean Debian root).
"""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf"}
MAINTAINER = "Workbench maintainers <maintainers@workbench.invalid>"
# Qt's xcb platform plugin (libqxcb.so → libQt6XcbQpa.so.6) links or loads these on an X11 desktop; dpkg-shlibdeps
# finds most of them in the plugin's ELF headers, and this list keeps the ones Qt opens at run time (EGL/GL, the
# cursor theme) even when a future Qt moves one from linked to loaded. The same list is in .ci/run (XCB_LIBS).
XCB_PACKAGES = ("libxcb-cursor0", "libxcb-icccm4", "libxcb-image0", "libxcb-keysyms1", "libxcb-randr0",
                "libxcb-render-util0", "libxcb-shape0", "libxcb-shm0", "libxcb-sync1", "libxcb-xfixes0",
                "libxcb-xkb1", "libxkbcommon-x11-0", "libegl1", "libgl1", "libfontconfig1", "libdbus-1-3")
CONTROL = """Package: workbench
Version: {version}
Section: devel
Priority: optional
Architecture: {arch}
Maintainer: {maintainer}
Depends: {depends}
Installed-Size: {size_kib}
Description: Device Onboarding Workbench
 Certificates, keystores, proof of possession, an MQTT console and a local
 IoT platform for onboarding devices that authenticate with X.509 certificates.
"""
# Debian's machine-readable copyright format 1.0 (Debian policy 12.5): the app's own licence by its short name (the
# text is in every Debian system's common-licenses), the bundled components by pointing to their notice file.
COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: workbench
Upstream-Contact: {maintainer}

Files: *
Copyright: The Device Onboarding Workbench authors
License: Apache-2.0

Files: opt/workbench/_internal/*
Copyright: The authors of each bundled component, named in /opt/workbench/THIRD-PARTY-LICENSES.txt
License: bundled-components
 The Python runtime, the Qt 6 libraries (LGPL-3.0-only, dynamically linked and
 replaceable in /opt/workbench/_internal) and the Python libraries the
 application uses, each under its own licence. The name and the full licence
 text of every component are in /opt/workbench/THIRD-PARTY-LICENSES.txt.

License: Apache-2.0
 Licensed under the Apache License, Version 2.0 (the "License");
 you may not use this file except in compliance with the License.
 You may obtain a copy of the License at
 .
 https://www.apache.org/licenses/LICENSE-2.0
 .
 Unless required by applicable law or agreed to in writing, software
 distributed under the License is distributed on an "AS IS" BASIS,
 WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 See the License for the specific language governing permissions and
 limitations under the License.
 .
 On Debian systems, the complete text of the Apache License, Version 2.0
 can be found in "/usr/share/common-licenses/Apache-2.0".
"""
CHANGELOG = """workbench ({version}) unstable; urgency=medium

  * Release {version}; see the project's history for the changes.

 -- {maintainer}  Thu, 01 Jan 1970 00:00:00 +0000
"""
_MISSING_LIBRARY = re.compile(r"cannot find library (\S+) needed by (\S+)")


class DebError(RuntimeError):
    """The .deb cannot be made correctly on this machine (the message says what to install)."""


def debian_version(version: str) -> str:
    """PEP 440 → Debian: a pre-release sorts before the release ('0.3.0.dev4' → '0.3.0~dev4')."""
    for marker in (".dev", "a", "b", "rc"):
        head, found, tail = version.partition(marker)
        if found and head and head[-1].isdigit():
            return f"{head}~{marker.lstrip('.')}{tail}"
    return version


def elf_files(folder: Path) -> list[Path]:
    """Every regular ELF file under a folder (executables, libraries, Python extension modules, Qt plugins)."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as stream:
                if stream.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def merge_depends(computed: str, extra: tuple[str, ...]) -> str:
    """The computed Depends plus the extra packages it does not name already (a computed version constraint wins)."""
    items = [item.strip() for item in computed.split(",") if item.strip()]
    named = {re.split(r"[\s(|]", item, maxsplit=1)[0] for item in items}
    items += [package for package in extra if package not in named]
    return ", ".join(sorted(set(items)))


def shlib_depends(work: Path, package_root: Path) -> str:
    """`dpkg-shlibdeps` over the bundle's ELF files: the packages of the system libraries they link, versioned.

    Raises:
        DebError: a library the bundle links is not installed here, so its package cannot be named.
    """
    bundle = package_root / "opt" / "workbench"
    files = elf_files(bundle)
    # The bundle's own libraries need no package; everything else must come from one. dpkg-shlibdeps looks in the
    # package's own tree first (found by its DEBIAN folder), with -l folders and $ORIGIN taken relative to that root.
    private = sorted({"/" + path.parent.relative_to(package_root).as_posix() for path in files if ".so" in path.name})
    (package_root / "DEBIAN").mkdir(exist_ok=True)
    (work / "debian").mkdir(parents=True, exist_ok=True)
    (work / "debian" / "control").write_text(f"Source: workbench\nMaintainer: {MAINTAINER}\n\n"
                                             "Package: workbench\nArchitecture: any\n")
    command = ["dpkg-shlibdeps", "-O", "--ignore-missing-info", *(f"-l{d}" for d in private),
               *(f"-e{f}" for f in files)]
    result = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        missing = sorted({m.group(1) for m in _MISSING_LIBRARY.finditer(result.stderr)})
        if missing:
            raise DebError(f"the bundle links {', '.join(missing)}, which this machine does not have, so the .deb "
                           "cannot name the package that provides it. Install that package (`apt-file search "
                           f"{missing[0]}` names it; for Qt's xcb plugin: apt-get install {' '.join(XCB_PACKAGES)}, "
                           "as .ci/run does) or leave the library out of the bundle (DROPPED_FILES in "
                           "installer/workbench.spec), and build again.")
        raise DebError("dpkg-shlibdeps failed: " + result.stderr.strip()[-2000:])
    match = re.search(r"^shlibs:Depends=(.*)$", result.stdout, re.MULTILINE)
    return match.group(1) if match else ""


def _gzip_n(text: str, target: Path) -> None:
    """A reproducible gzip (no name, no time stamp), as Debian's doc files are."""
    target.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))


def _md5sums(root: Path) -> str:
    """DEBIAN/md5sums: one line per regular file, paths relative to /, so `dpkg --verify` can check an install."""
    lines = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and "DEBIAN" not in path.relative_to(root).parts:
            lines.append(f"{hashlib.md5(path.read_bytes()).hexdigest()}  {path.relative_to(root).as_posix()}")
    return "\n".join(lines) + "\n"


def build_deb(bundle: Path, icon_png: Path, desktop: str, dist: Path, version: str, machine: str) -> Path | None:
    """`dist/workbench_<version>_<arch>.deb` with the bundle in /opt/workbench; None without dpkg-deb/dpkg-shlibdeps.

    Raises:
        DebError: the dependencies cannot be computed here (a linked library is not installed).
    """
    tool = shutil.which("dpkg-deb")
    if tool is None:
        return None
    if shutil.which("dpkg-shlibdeps") is None:
        print("dpkg-shlibdeps (package dpkg-dev) is not installed: no .deb, since its Depends could not be "
              "computed. apt-get install dpkg-dev and build again.", file=sys.stderr)
        return None
    arch = ARCHITECTURES.get(machine, machine)
    work = dist / "deb-build"
    shutil.rmtree(work, ignore_errors=True)
    root = work / "debian" / "workbench"  # where dpkg-shlibdeps expects a package's files
    shutil.copytree(bundle, root / "opt" / "workbench", symlinks=True)
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "workbench").symlink_to("/opt/workbench/workbench")
    # the source install's platform command: workbench/__main__.py runs `local-platform` when started by this name
    (root / "usr" / "bin" / "embedded-broker").symlink_to("/opt/workbench/workbench")
    apps = root / "usr" / "share" / "applications"
    apps.mkdir(parents=True)
    (apps / "workbench.desktop").write_text(desktop.replace("Exec=workbench", "Exec=/opt/workbench/workbench"))
    icons = root / "usr" / "share" / "icons" / "hicolor" / "256x256" / "apps"
    icons.mkdir(parents=True)
    shutil.copy(icon_png, icons / "workbench.png")
    doc = root / "usr" / "share" / "doc" / "workbench"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(COPYRIGHT.format(maintainer=MAINTAINER))
    _gzip_n(CHANGELOG.format(version=debian_version(version), maintainer=MAINTAINER), doc / "changelog.gz")
    try:
        depends = merge_depends(shlib_depends(work, root), XCB_PACKAGES)
    except DebError:
        shutil.rmtree(work, ignore_errors=True)
        raise
    size_kib = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()) // 1024
    (root / "DEBIAN" / "control").write_text(CONTROL.format(version=debian_version(version), arch=arch,
                                                            maintainer=MAINTAINER, depends=depends,
                                                            size_kib=size_kib))
    (root / "DEBIAN" / "md5sums").write_text(_md5sums(root))
    for path in [root, *root.rglob("*")]:  # the modes dpkg installs, whatever the build's umask (077 leaves 0700)
        if not path.is_symlink():
            executable = path.is_dir() or path.stat().st_mode & 0o100
            path.chmod(0o755 if executable else 0o644)
    package = dist / f"workbench_{debian_version(version)}_{arch}.deb"
    # gzip: xz would take a minute of CI time for a few MB less
    subprocess.run([tool, "--build", "--root-owner-group", "-Zgzip", str(root), str(package)], check=True,
                   capture_output=True)
    shutil.rmtree(work, ignore_errors=True)
    return package
