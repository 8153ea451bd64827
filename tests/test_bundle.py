"""The Linux bundle: built with installer/build.py, it runs `workbench --self-test` inside itself (Qt, CA core,
keystore, the local platform as its own child process, a device over mutual TLS with a token)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# 160 MB until the runtime .proto compiler: grpc_tools (protoc, 8 MB) decodes a user's own Protobuf payloads.
MAX_MB = 170


@pytest.mark.bundle
@pytest.mark.timeout(1200)  # PyInstaller, then dpkg-shlibdeps over the bundle for the .deb: minutes on a loaded host
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the CI bundle test builds the Linux bundle")
def test_linux_bundle_builds_and_passes_its_self_test(tmp_path: Path) -> None:
    build = subprocess.run([sys.executable, str(ROOT / "installer" / "build.py"), "--dist", str(tmp_path / "dist"),
                            "--work", str(tmp_path / "build")], capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-3000:]
    bundle = tmp_path / "dist" / "workbench"
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file() and not p.is_symlink()) / 1024 / 1024
    assert size <= MAX_MB, f"the bundle is {size:.0f} MB unpacked (limit {MAX_MB} MB)"
    started = time.monotonic()
    test = subprocess.run([str(bundle / "workbench"), "--self-test"], capture_output=True, text=True, timeout=300,
                          env={"QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path),
                               "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"})
    assert test.returncode == 0, test.stdout + test.stderr
    assert "✓ local platform: started in a child process" in test.stdout and "self-test passed" in test.stdout
    assert "✓ payloads: Protobuf from a .proto compiled now" in test.stdout  # protoc, _proto, cbor2, msgpack
    print(f"bundle {size:.0f} MB, self-test {time.monotonic() - started:.1f} s")
    archive = next((tmp_path / "dist").glob("workbench-*-linux-*.tar.gz"))
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert any(n.endswith("/workbench.desktop") for n in names) and any(n.endswith("/workbench.png") for n in names)
    notice = (bundle / "THIRD-PARTY-LICENSES.txt").read_text()
    for component in ("PySide6_Essentials", "paho-mqtt", "cryptography", "pyjks", "aiohttp", "PyJWT", "keyring"):
        assert f"- {component} " in notice, component
    assert "Qt 6 libraries (LGPL-3.0-only)" in notice
    assert (bundle / "LICENSE.txt").read_text().startswith((ROOT / "LICENSE").read_text()[:200])
    internal = bundle / "_internal"
    for left_out in ("locust", "gevent", "zmq", "flask", "twofish"):  # fleet extra and BKS-only code stay out
        assert not list(internal.glob(f"{left_out}*")) and not list(internal.glob(f"_{left_out}*")), left_out
    assert list(internal.glob("grpc_tools/_proto/google/protobuf/timestamp.proto"))
    debs = list((tmp_path / "dist").glob("workbench_*.deb"))
    if shutil.which("dpkg-deb"):
        contents = subprocess.run(["dpkg-deb", "--contents", str(debs[0])], capture_output=True, text=True,
                                  check=True).stdout
        for path in ("./opt/workbench/workbench", "./usr/bin/workbench -> /opt/workbench/workbench",
                     "./usr/share/applications/workbench.desktop",
                     "./usr/share/icons/hicolor/256x256/apps/workbench.png"):
            assert path in contents, path
        assert "./usr/share/doc/workbench/copyright" in contents
        info = subprocess.run(["dpkg-deb", "--field", str(debs[0]), "Package", "Version", "Depends"],
                              capture_output=True, text=True, check=True).stdout
        assert "Package: workbench" in info
        # computed by dpkg-shlibdeps: glibc's minimum version, and Qt's xcb plugin's libraries
        assert "libc6 (>= 2." in info and "libxcb-cursor0" in info and "libegl1" in info, info
    cli = subprocess.run([str(bundle / "workbench"), "ca", "--help"], capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0 and "create a self-signed root CA" in cli.stdout
