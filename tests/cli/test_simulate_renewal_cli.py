"""`workbench simulate --enroll N --renew-cert-at F` as a user runs it: a subprocess enrolls a fleet over EST with
short certificates on a real local platform, renews them while it runs, and bad renewal input is a usage error."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from tests.cli.test_simulate_cli import ROOT, _platform_args


@pytest.fixture
def background() -> Iterator[BackgroundLocalPlatform]:
    with BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)) as bg:
        yield bg


def test_an_enrolled_fleet_renews_its_certificates_while_it_runs(background: BackgroundLocalPlatform,
                                                                 tmp_path: Path) -> None:
    args, env = _platform_args(background)
    out = tmp_path / "est-fleet"
    # 60 s of validity plus the platform's minute of backdating: 50 % has passed at enrolment; 52 % is 2.4 s later
    done = subprocess.run([sys.executable, "-m", "workbench", "simulate", "--enroll", "2", "--out", str(out),
                           "--cert-validity", "60", "--renew-cert-at", "0.52", *args, "--interval", "0.2",
                           "--duration", "6", "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["totals"]["cert_renewals"] >= 2 and summary["errors"] == {}, summary
    assert summary["totals"]["connects"] >= 2 + 2, summary  # each renewal reconnects with the new certificate
    assert any("certificate renewal: 2 of 2" in note for note in summary["notes"]), summary["notes"]
    for folder in sorted(p for p in out.iterdir() if p.is_dir()):
        chain = x509.load_pem_x509_certificates((folder / "deviceCertChain.pem").read_bytes())
        assert chain[0].issuer == chain[1].subject  # the tenant CA's certificate, rewritten in place


def test_bad_renewal_input_is_a_usage_error(tmp_path: Path) -> None:
    for extra, words in ((["--enroll", "2", "--out", str(tmp_path), "--renew-cert-at", "1.5"], "not usable"),
                         (["--ids", "2", "--cert-validity", "60"], "goes with --enroll"),
                         (["--enroll", "2", "--out", str(tmp_path), "--broker", "127.0.0.1:1"], "EST")):
        done = subprocess.run([sys.executable, "-m", "workbench", "simulate", *extra, "--broker", "127.0.0.1:1"]
                              if "--broker" not in extra else [sys.executable, "-m", "workbench", "simulate", *extra],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and words in done.stderr and "Traceback" not in done.stderr, done.stderr
