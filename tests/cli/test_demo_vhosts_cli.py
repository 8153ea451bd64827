"""Hono's SNI set-up in three commands: `workbench demo-certs --virtual-host`, `embedded-broker --server-keystore`,
and the README's `openssl s_client -servername` check of each domain, run as written (keytool lists the store)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
DOMAINS = ("t100.localhost", "t200.localhost", "*.example.test")
pytestmark = pytest.mark.skipif(not (shutil.which("openssl") and shutil.which("keytool")),
                                reason="needs openssl and keytool")


@pytest.mark.parametrize(("kind", "suffix"), [("pkcs12", "p12"), ("jks", "jks")])
def test_demo_certs_virtual_hosts_serve_each_domain_as_the_readme_says(tmp_path: Path, kind: str, suffix: str,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "demo"
    (tmp_path / "pw").write_text("demo-store\n")
    args = ["demo-certs", str(folder), "--password-file", str(tmp_path / "pw"), "--vhost-store-type", kind]
    for domain in DOMAINS:
        args += ["--virtual-host", domain]
    assert run_cli(args) == 0, capsys.readouterr().err
    store = folder / "server" / f"virtualHosts.{suffix}"
    listing = subprocess.run(["keytool", "-list", "-keystore", str(store), "-storepass:env", "STOREPW"],
                             capture_output=True, text=True, env={**os.environ, "STOREPW": "demo-store"}, check=True)
    assert sorted(re.findall(r"^([\w.]+), .*PrivateKeyEntry", listing.stdout, re.M)) == [
        "t100", "t200", "wildcard.example.test"]
    readme = (folder / "README.md").read_text()
    checks = [line for line in readme.splitlines() if line.startswith("openssl s_client") and "-servername" in line]
    assert len(checks) == len(DOMAINS)

    process = subprocess.Popen([sys.executable, "-m", "embedded_broker", "--ephemeral", "--mqtt-port", "0",
                                "--mqtts-port", "0", "--https-port", "0", "--sys-interval", "0",
                                "--server-keystore", str(store), "--server-keystore-password-env", "DEMO_STORE_PW"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
                               env={**os.environ, "DEMO_STORE_PW": "demo-store"})
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("embedded-broker ports:"), line
        port = dict(p.split("=") for p in line.split(": ", 1)[1].split())["mqtts"]
        for check, domain in zip(checks, DOMAINS, strict=True):
            out = subprocess.run(["bash", "-c", check.replace("127.0.0.1:8883", f"127.0.0.1:{port}")], cwd=folder,
                                 capture_output=True, text=True, timeout=20)
            assert "Verification: OK" in out.stdout, out.stdout + out.stderr
            assert f"CN = {domain}" in out.stdout or f"CN={domain}" in out.stdout, out.stdout
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
        if process.stdout is not None:
            process.stdout.close()


def test_virtual_hosts_need_a_password_and_dns_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["demo-certs", str(tmp_path / "a"), "--no-password", "--virtual-host", "t200.localhost"]) == 2
    assert "needs a password" in capsys.readouterr().err
    (tmp_path / "pw").write_text("x\n")
    assert run_cli(["demo-certs", str(tmp_path / "b"), "--password-file", str(tmp_path / "pw"),
                    "--virtual-host", "bad_name!.localhost"]) == 2
    assert "Cannot use 'bad_name!.localhost' as a virtual host" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
