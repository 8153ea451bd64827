"""The onboarding steps against an in-process local platform, and every error path the platform's refusals drive."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from embedded_broker import BackgroundLocalPlatform
from tests.services.onboarding_support import Clock, run_onboarding
from workbench.core.platform_client import requests as api
from workbench.core.tls import server_context
from workbench.errors import MqttConnectError, PlatformRequestError
from workbench.services import pop as pop_module
from workbench.services.onboarding import Onboarding, StepResult
from workbench.services.platform_http import PlatformHttp
from workbench.services.token_flow import DeviceConnection


def test_all_steps_pass(platform: BackgroundLocalPlatform, tmp_path: Path) -> None:
    flow, results = run_onboarding(platform, tmp_path)
    assert [r.step for r in results if r.ok] == ["ca", "upload", "pop", "device", "mqtt", "token", "rest",
                                                  "measurement"], results[-1]
    assert flow.report.ok and flow.report.created["trusted_certificate"]["tenant"] == "t100"


def test_wrong_pop_signature_names_the_key(platform: BackgroundLocalPlatform, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    real = pop_module.sign_code  # the PoP sequence lives in services/pop.py, shared with the PoP page
    monkeypatch.setattr(pop_module, "sign_code", lambda key, code: real(other, code))
    flow, results = run_onboarding(platform, tmp_path)
    failed = results[-1]
    assert (failed.step, failed.ok) == ("pop", False), failed
    assert failed.message == "the signature does not match the certificate's key"
    assert any("key of CA 'Onboarding Rehearsal CA" in c for c in failed.causes)
    assert any("usage not granted" in c for c in failed.causes)
    assert set(flow.report.created) == {"ca", "trusted_certificate"}  # the report says what exists


def test_auto_registration_off_is_refused_with_connack_5(platform: BackgroundLocalPlatform, tmp_path: Path) -> None:
    def refuse_registration(flow: Onboarding, result: StepResult) -> None:
        if result.step == "pop":
            platform.call(lambda: platform.platform.trust.update("t100", flow.fingerprint,
                                                                 {"autoRegistrationEnabled": False}))

    _flow, results = run_onboarding(platform, tmp_path, on_step=refuse_registration)
    failed = results[-1]
    assert (failed.step, failed.ok) == ("mqtt", False)
    assert "not authori" in (failed.message + " ".join(failed.causes)).lower()
    events = platform.call(lambda: platform.platform.events.recent("refused"))
    assert "auto-registration is off" in events[-1]["message"]


def test_cn_mismatch_is_refused(platform: BackgroundLocalPlatform, tmp_path: Path) -> None:
    def change_client_id(flow: Onboarding, result: StepResult) -> None:
        if result.step == "device":
            flow.o.device_id = "somebody-else"

    _flow, results = run_onboarding(platform, tmp_path, on_step=change_client_id)
    assert (results[-1].step, results[-1].ok) == ("mqtt", False)
    events = platform.call(lambda: platform.platform.events.recent("refused"))
    assert "client id 'somebody-else' does not match certificate CN 'dev-svc'" in events[-1]["message"]


def test_token_reuse_before_half_life_and_401_after_expiry(platform: BackgroundLocalPlatform, tmp_path: Path,
                                                          clock: Clock) -> None:
    flow, _results = run_onboarding(platform, tmp_path)
    assert flow.identity is not None and flow.token is not None
    from workbench.core.tls import client_context

    context = client_context(trust=list(flow.o.server_trust), identity=flow.identity)
    connection = DeviceConnection("localhost", platform.ports["mqtts"], "d:dev-svc", context)
    try:
        connection.connect()
        again = connection.request_token()
        assert again.token.raw == flow.token.raw  # before half-life: the same token
        assert again.token.refresh_at == flow.token.issued_at + dt.timedelta(seconds=1800)
        clock.now += 3601

        async def current_user() -> Any:
            trust = server_context(flow.o.server_trust)
            async with PlatformHttp(f"https://localhost:{platform.ports['https']}", trust=trust) as http:
                return await http.json(api.current_user(), bearer=flow.token.raw)

        with pytest.raises(PlatformRequestError) as expired:
            asyncio.run(current_user())
        text = str(expired.value)
        assert "401" in text or "expired" in text.lower()
        assert "the device token (Bearer)" in text
    finally:
        connection.close()


def test_connect_failure_names_the_broker(tmp_path: Path) -> None:
    connection = DeviceConnection("127.0.0.1", 1, "d:nobody", None, timeout=5)
    with pytest.raises(MqttConnectError) as refused:
        connection.connect()
    assert "127.0.0.1:1" in str(refused.value)
