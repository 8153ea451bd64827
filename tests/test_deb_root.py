"""The .deb installs and starts on a clean Debian: a minimal bookworm root from debootstrap, `apt-get install` of the
package there (its Depends resolved from Debian's mirror, nothing recommended), then `workbench --self-test` inside.

Slow (minutes the first time) and it needs root (chroot, mount), debootstrap and deb.debian.org: it runs only with
WORKBENCH_DEB_TEST=1 (`.ci/run` installs debootstrap then). The finished root and the packages apt fetched are kept
in ~/.cache/workbench-debroot (or $WORKBENCH_DEBROOT_CACHE), so a second run takes about a minute plus the build.
WORKBENCH_DEB=<path> installs an already built .deb instead of building the bundle first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"  # Debian's own mirror: the package registry the Depends resolve from
CACHE = Path(os.environ.get("WORKBENCH_DEBROOT_CACHE") or Path.home() / ".cache" / "workbench-debroot")
CHROOT_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
              "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.debroot,
    pytest.mark.timeout(2400),  # build, first debootstrap, apt: minutes, not the suite's 180 s
    pytest.mark.skipif(os.environ.get("WORKBENCH_DEB_TEST") != "1",
                       reason="installs the .deb in a debootstrapped Debian root (minutes, root, deb.debian.org): "
                              "set WORKBENCH_DEB_TEST=1"),
    pytest.mark.skipif(not sys.platform.startswith("linux") or os.geteuid() != 0,
                       reason="chroot and mount need root on Linux"),
]


def run(command: list[str], timeout: float = 900, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a command and fail the test with its output when it fails."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env or CHROOT_ENV,
                            check=False)
    assert result.returncode == 0, f"{' '.join(command)} → {result.returncode}\n{result.stdout[-3000:]}" \
                                   f"\n{result.stderr[-3000:]}"
    return result


def architecture() -> str:
    """The Debian architecture of this machine (amd64, arm64)."""
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


def clean_root(target: Path) -> str:
    """A minbase Debian root in `target`, from the cached tarball or (first run) from debootstrap; says which."""
    tarball = CACHE / f"{SUITE}-minbase-{architecture()}.tar"
    target.mkdir()
    if tarball.exists():
        run(["tar", "--numeric-owner", "-xf", str(tarball), "-C", str(target)])
        return f"from the cache {tarball}"
    if shutil.which("debootstrap") is None:
        pytest.fail("debootstrap is missing: apt-get install debootstrap (.ci/run does with WORKBENCH_DEB_TEST=1)")
    run(["debootstrap", "--variant=minbase", SUITE, str(target), MIRROR], timeout=1800,
        env={**os.environ, **CHROOT_ENV})
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = CACHE / f".{tarball.name}.partial"
    run(["tar", "--numeric-owner", "-cf", str(partial), "-C", str(target), "."])
    partial.replace(tarball)  # a run killed half way leaves no broken cache behind
    return f"debootstrapped and cached in {tarball}"


@pytest.fixture
def deb(tmp_path: Path) -> Path:
    """The package under test: $WORKBENCH_DEB, or built now with installer/build.py."""
    given = os.environ.get("WORKBENCH_DEB")
    if given:
        return Path(given)
    if shutil.which("dpkg-deb") is None or shutil.which("dpkg-shlibdeps") is None:
        pytest.fail("building the .deb needs dpkg-deb and dpkg-shlibdeps (apt-get install dpkg-dev)")
    build = subprocess.run([sys.executable, str(ROOT / "installer" / "build.py"), "--dist", str(tmp_path / "dist"),
                            "--work", str(tmp_path / "build")], capture_output=True, text=True, timeout=1200,
                           check=False)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-3000:]
    return next((tmp_path / "dist").glob("workbench_*.deb"))


@pytest.fixture
def debian_root(tmp_path: Path) -> Iterator[Path]:
    """A clean Debian root with /proc mounted; unmounted and removed afterwards."""
    root = tmp_path / "debian-root"
    started = time.monotonic()
    how = clean_root(root)
    print(f"clean {SUITE} root {how} in {time.monotonic() - started:.0f} s")
    hosts = root / "etc" / "hosts"
    if not hosts.exists():  # debootstrap writes none; Debian's installer (and every container runtime) writes this
        hosts.write_text("127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n")
    proc = root / "proc"
    run(["mount", "-t", "proc", "proc", str(proc)])
    try:
        yield root
    finally:
        subprocess.run(["umount", "--lazy", str(proc)], check=False)
        if not os.path.ismount(proc):  # never delete through a mount point
            shutil.rmtree(root, ignore_errors=True)


def test_the_deb_installs_with_its_depends_and_self_tests_in_a_clean_debian(deb: Path, debian_root: Path) -> None:
    depends = run(["dpkg-deb", "--field", str(deb), "Depends"], env=None).stdout
    assert "libc6 (>= 2." in depends and "libxcb-cursor0" in depends, depends
    archives = debian_root / "var" / "cache" / "apt" / "archives"
    cached = CACHE / "archives"
    for package in cached.glob("*.deb") if cached.is_dir() else ():
        shutil.copy(package, archives)  # apt checks them against the index and downloads only what is missing
    shutil.copy(deb, debian_root / "tmp" / "workbench.deb")
    started = time.monotonic()
    run(["chroot", str(debian_root), "apt-get", "update", "-q"])
    install = run(["chroot", str(debian_root), "apt-get", "install", "-y", "-q", "--no-install-recommends",
                   "/tmp/workbench.deb"])
    installed = time.monotonic() - started
    cached.mkdir(parents=True, exist_ok=True)
    for package in archives.glob("*.deb"):
        if not (cached / package.name).exists():
            shutil.copy(package, cached)
    assert "Setting up workbench" in install.stdout, install.stdout[-3000:]
    run(["chroot", str(debian_root), "dpkg", "--verify", "workbench"])  # every file as DEBIAN/md5sums says
    copyright_file = debian_root / "usr" / "share" / "doc" / "workbench" / "copyright"
    assert copyright_file.read_text().startswith("Format: https://www.debian.org/doc/packaging-manuals/copyright")
    started = time.monotonic()
    test = subprocess.run(["chroot", str(debian_root), "workbench", "--self-test"], capture_output=True, text=True,
                          timeout=600, check=False,
                          env={**CHROOT_ENV, "QT_QPA_PLATFORM": "offscreen",
                               "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"})
    assert test.returncode == 0, test.stdout + test.stderr
    assert "self-test passed" in test.stdout and "✓ payloads:" in test.stdout, test.stdout
    print(f"apt-get install with Depends {installed:.0f} s, self-test in the clean root "
          f"{time.monotonic() - started:.0f} s")
    print(test.stdout)
