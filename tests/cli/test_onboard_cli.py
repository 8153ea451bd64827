"""`workbench onboard --local`: the whole guide against a local platform child process, line by line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from workbench.cli import run_cli
from workbench.core.keystore import load_keystore


def test_onboard_local_runs_the_eight_steps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["onboard", "--local", "--ephemeral", "--device-id", "dev-onboard", "--out", str(tmp_path / "out"),
                    "--workspace", str(tmp_path / "ws")])
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("local platform started for this run: https://localhost:")
    titles = ["CA", "upload", "PoP", "device", "MQTT", "token", "REST", "measurement"]
    for n, (line, title) in enumerate(zip(lines[1:9], titles, strict=True), start=1):
        assert re.fullmatch(rf"✓ {n}/8 {title:<12} .+ \((\d+ ms|\d+\.\d s)\)", line), line
    assert "created CA 'Onboarding Rehearsal CA" in lines[1]
    assert "auto-registration on" in lines[2] and "proof of possession Complete" in lines[3]
    assert "connected to localhost:" in lines[5] and "as d:dev-onboard over mutual TLS" in lines[5]
    assert "token for device_dev-onboard" in lines[6] and "verified with the platform's JWKS" in lines[6]
    assert "GET /user/currentUser with the token: device_dev-onboard" in lines[7]
    assert "sent 200,c8y_Temperature,T,21.5,C; read back measurement" in lines[8]
    assert lines[9] == "onboarding rehearsal complete: device dev-onboard is registered, connected and sent data"
    assert re.fullmatch(r"CA 'Onboarding Rehearsal CA .+' key password: kept in the system keyring", lines[10])
    folder = tmp_path / "out" / "dev-onboard"
    password = (folder / "keystorePassword.txt").read_text().strip().encode()
    store = load_keystore((folder / "deviceKeystore.p12").read_bytes(), password)
    assert [e.alias for e in store.key_entries()] == ["devicekeyentry"]
    assert (folder / "keystorePassword.txt").stat().st_mode & 0o777 == 0o600


def test_onboard_fleet_variant_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["onboard", "--local", "--ephemeral", "--devices", "3", "--keystore-type", "jks", "--device-id",
                    "dev-fleet", "--out", str(tmp_path / "out"), "--workspace", str(tmp_path / "ws"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["ok"] is True
    assert [s["step"] for s in report["steps"]] == ["ca", "upload", "pop", "devices", "register", "fleet", "mqtt",
                                                     "token", "rest", "measurement"]
    assert "auto-registration off" in report["steps"][1]["message"]
    assert report["steps"][4]["message"].startswith("bulk registration: 3 of 3 devices registered")
    assert len(report["fleet"]) == 2 and all("connected, token until" in row for row in report["fleet"])
    assert (tmp_path / "out" / "bulk-registration.csv").read_text().startswith("ID;AUTH_TYPE;CREDENTIALS")
    assert (tmp_path / "out" / "dev-fleet-002" / "deviceKeystore.jks").exists()


def test_onboard_needs_a_target(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run_cli(["onboard"])
    assert "--local" in capsys.readouterr().err
    assert run_cli(["onboard", "--url", "https://tenant.example", "--json"]) == 2
    assert "--url needs --user" in capsys.readouterr().err


def test_onboard_url_runs_the_tenant_path(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """--url/--user is the real-tenant path; the local platform stands in for the tenant (loopback only)."""
    from embedded_broker import BackgroundLocalPlatform, PlatformSettings
    from workbench.core.profiles.model import SecretName
    from workbench.core.profiles.secrets import SecretStore
    from workbench.services.platform_http import tenant_secret_id

    with BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)) as lp:
        assert lp.local is not None and lp.local.server_ca_path is not None
        url = f"https://localhost:{lp.ports['https']}"
        common = ["onboard", "--url", url, "--user", "t100/admin", "--server-ca", str(lp.local.server_ca_path),
                  "--mqtt-host", "localhost", "--mqtt-port", str(lp.ports["mqtts"]), "--out", str(tmp_path / "out"),
                  "--workspace", str(tmp_path / "ws")]
        monkeypatch.setenv("TENANT_PW", lp.local.admin_password or "")
        assert run_cli([*common, "--tenant-password-env", "TENANT_PW", "--device-id", "dev-url"]) == 0
        out = capsys.readouterr().out
        assert "✓ 8/8 measurement" in out and "verified with the platform's JWKS" not in out
        # the keyring path: no prompt, no file
        SecretStore().set(tenant_secret_id(url, "t100/admin"), SecretName.PLATFORM_PASSWORD,
                          lp.local.admin_password or "")
        assert run_cli([*common, "--device-id", "dev-url-2", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["ok"] is True
        monkeypatch.setenv("TENANT_PW", "wrong")
        assert run_cli([*common, "--tenant-password-env", "TENANT_PW", "--device-id", "dev-url-3"]) == 1
        captured = capsys.readouterr()
        assert "✗ 2/8 upload" in captured.out and "t100/admin (Basic)" in captured.out
        assert "ca: {'name': 'Onboarding Rehearsal CA" in captured.err
