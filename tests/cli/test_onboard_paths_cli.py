"""`workbench onboard --path platform-ca|bootstrap`: the two newer onboarding paths from the command line, against a
local platform child process and against a "tenant" URL (the local platform standing in, loopback only)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from workbench.cli import run_cli


def test_platform_ca_path_runs_the_eight_steps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["onboard", "--local", "--ephemeral", "--path", "platform-ca", "--device-id", "cli-est",
                    "--out", str(tmp_path / "out"), "--workspace", str(tmp_path / "ws")])
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    titles = ["tenant CA", "OTP", "key+CSR", "EST enroll", "keystores", "MQTT", "token", "measurement"]
    for n, (line, title) in enumerate(zip(lines[1:9], titles, strict=True), start=1):
        assert re.fullmatch(rf"✓ {n}/8 {re.escape(f'{title:<12}')} .+ \((\d+ ms|\d+\.\d s)\)", line), line
    assert "simpleenroll answered HTTP 201" in lines[4] and "as d:cli-est over mutual TLS" in lines[6]
    assert lines[9] == "onboarding rehearsal complete: device cli-est is enrolled by the tenant CA, connected and " \
                       "sent data"
    assert "key password" not in out  # no CA of our own was made
    folder = tmp_path / "out" / "cli-est"
    chain = folder / "deviceCertChain.pem"
    # the chain file holds the device certificate and the tenant CA: openssl verifies one with the other
    certs = chain.read_text().split("-----END CERTIFICATE-----")
    (tmp_path / "ca.pem").write_text(certs[1].strip() + "\n-----END CERTIFICATE-----\n")
    verified = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "ca.pem"),
                               str(folder / "deviceCert.pem")], capture_output=True, text=True, check=False)
    assert verified.returncode == 0, verified


def test_bootstrap_path_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["onboard", "--local", "--ephemeral", "--path", "bootstrap", "--device-id", "cli-boot",
                    "--out", str(tmp_path / "out"), "--workspace", str(tmp_path / "ws"), "--json"])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert code == 0 and report["ok"] is True, report
    # The platform closes the bootstrap login after the credentials; paho's note about it is a diagnostic, not an error
    assert not [line for line in err.splitlines() if line.startswith("error")], err
    assert [s["step"] for s in report["steps"]] == ["request", "bootstrap", "accept", "credentials", "mqtt", "rest",
                                                     "measurement"]
    assert report["created"]["device_user"] == {"tenant": "t100", "user": "device_cli-boot"}
    assert "ca_password" not in json.dumps(report["created"])


def test_wrong_combinations_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["onboard", "--local", "--path", "bootstrap", "--devices", "3"]) == 2
    assert "--devices goes with --path customer-ca" in capsys.readouterr().err
    assert run_cli(["onboard", "--local", "--path", "customer-ca", "--validity", "600"]) == 2
    assert "go with --path platform-ca" in capsys.readouterr().err
    assert run_cli(["onboard", "--url", "https://t1.example", "--user", "t1/admin", "--path", "bootstrap"]) == 2
    assert "needs --bootstrap-user" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_cli(["onboard", "--local", "--path", "nope"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_both_paths_against_a_tenant_url(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """--url: the requests follow the documented shapes; the local platform stands in for a tenant (loopback)."""
    from embedded_broker import BackgroundLocalPlatform, PlatformSettings
    from embedded_broker.platform.device_requests import requests_of

    with BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)) as lp:
        assert lp.local is not None and lp.local.server_ca_path is not None
        url = f"https://localhost:{lp.ports['https']}"
        monkeypatch.setenv("TENANT_PW", lp.local.admin_password or "")
        common = ["onboard", "--url", url, "--user", "t100/admin", "--tenant-password-env", "TENANT_PW",
                  "--server-ca", str(lp.local.server_ca_path), "--mqtt-host", "localhost", "--mqtt-port",
                  str(lp.ports["mqtts"]), "--out", str(tmp_path / "out"), "--workspace", str(tmp_path / "ws")]
        assert run_cli([*common, "--path", "platform-ca", "--device-id", "url-est"]) == 0
        assert "✓ 8/8 measurement" in capsys.readouterr().out
        bootstrap = lp.call(lambda: requests_of(lp.platform).bootstrap_password())  # the operator's login
        monkeypatch.setenv("BOOT_PW", bootstrap)
        assert run_cli([*common, "--path", "bootstrap", "--device-id", "url-boot", "--bootstrap-user",
                        "management/devicebootstrap", "--bootstrap-password-env", "BOOT_PW"]) == 0
        out = capsys.readouterr().out
        assert "✓ 7/7 measurement" in out and "received its credentials" in out
        monkeypatch.setenv("BOOT_PW", "wrong")
        assert run_cli([*common, "--path", "bootstrap", "--device-id", "url-boot-2", "--bootstrap-user",
                        "management/devicebootstrap", "--bootstrap-password-env", "BOOT_PW"]) == 1
        captured = capsys.readouterr()
        assert "✗ 2/7 s/ucr" in captured.out and "device_request: {'id': 'url-boot-2'" in captured.err
