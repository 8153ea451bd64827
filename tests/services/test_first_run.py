"""The first-run demo device: created once, reused on later starts, re-registered on a platform that forgot it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from workbench.core.profiles import ConnectionProfile, ProfileSecrets, TlsMode, TlsSettings
from workbench.core.profiles.secrets import SecretStore
from workbench.services.first_run import DEVICE_ID, prepare_demo_device
from workbench.services.local_platform import LocalPlatformInfo
from workbench.services.profile_connect import session_settings
from workbench.services.token_flow import DeviceConnection


def _info(lp: BackgroundLocalPlatform) -> LocalPlatformInfo:
    assert lp.local is not None and lp.local.server_ca_path is not None and lp.local.admin_password
    return LocalPlatformInfo(dict(lp.ports), lp.local.server_ca_path, lp.local.admin_password)


def _connects(demo, folder: Path) -> bool:
    e = demo.endpoints
    profile = ConnectionProfile(name="demo", broker_host="localhost", broker_port=e.mqtts_port, client_id=e.client_id,
                                tls=TlsSettings(mode=TlsMode.KEYSTORES, keystore_file=e.truststore_file,
                                                client_keystore_file=e.keystore_file))
    p = demo.keystore_password
    settings = session_settings(profile, ProfileSecrets(trusted_keystore_password=p, client_keystore_password=p))
    connection = DeviceConnection("localhost", e.mqtts_port, e.client_id, settings.tls)
    try:
        connection.connect()
        return connection.request_token().token.claims["sub"] == f"device_{DEVICE_ID}"
    finally:
        connection.close()


def test_demo_device_is_made_once_and_survives_a_platform_reset(tmp_path: Path) -> None:
    store, folder, workspace = SecretStore(), tmp_path / "demo", tmp_path / "ws"
    settings = PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)
    with BackgroundLocalPlatform(settings) as lp:
        first = asyncio.run(prepare_demo_device(_info(lp), store, folder, workspace))
        keystore = Path(first.endpoints.keystore_file).read_bytes()
        assert _connects(first, folder)
        again = asyncio.run(prepare_demo_device(_info(lp), store, folder, workspace))
        assert Path(again.endpoints.keystore_file).read_bytes() == keystore  # reused, not re-issued
    with BackgroundLocalPlatform(settings) as fresh:  # an ephemeral platform knows nothing of our CA
        reset = asyncio.run(prepare_demo_device(_info(fresh), store, folder, workspace))
        assert Path(reset.endpoints.keystore_file).read_bytes() == keystore
        assert _connects(reset, folder)
