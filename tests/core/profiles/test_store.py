from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import keyring
import pytest

from workbench.core.profiles import (
    SERVICE_NAME,
    ConnectionProfile,
    KeystoreType,
    LastWill,
    LocalPlatformEndpoints,
    Mqtt5ConnectProperties,
    MqttVersion,
    ProfileKind,
    ProfileSecrets,
    ProfileStore,
    ProxyKind,
    ProxySettings,
    SecretName,
    TlsMode,
    TlsSettings,
    TlsVersion,
    ensure_builtin_profiles,
    import_workbench_export,
)
from workbench.errors import ProfileError
from workbench.paths import config_dir

SECRETS = ProfileSecrets(mqtt_password="mqtt-pw-1", trusted_keystore_password="trust-pw-2",
                         client_keystore_password="store-pw-3", client_key_pair_password="pair-pw-4",
                         proxy_password="proxy-pw-5")


def keystore_profile(**changes: object) -> ConnectionProfile:
    profile = ConnectionProfile(
        name="Tenant device", broker_host="tenant.example.com", broker_port=8883, client_id="d:device-1",
        kind=ProfileKind.TENANT, username="tenant/user", mqtt_version=MqttVersion.V5,
        tls=TlsSettings(mode=TlsMode.KEYSTORES, keystore_file="/certs/deviceTruststore.jks",
                        trusted_keystore_type=KeystoreType.JKS, client_keystore_file="/certs/deviceKeystore.p12",
                        min_version=TlsVersion.V13, sni_override="tenant.example.com"),
        last_will=LastWill("devices/1/state", "gone", 1, True),
        proxy=ProxySettings(ProxyKind.HTTP, "proxy.example.com", 3128, "proxy-user"),
        mqtt5=Mqtt5ConnectProperties(session_expiry_s=60, receive_maximum=20, user_properties=(("a", "b"),)),
        rest_base_url="https://tenant.example.com",
    )
    return profile.with_changes(**changes) if changes else profile


def test_create_edit_save_load_round_trip(store: ProfileStore) -> None:
    profile = keystore_profile()
    path = store.save(profile, SECRETS)
    assert path == config_dir() / "profiles" / f"{profile.id}.json"
    assert store.load(profile.id) == profile
    edited = profile.with_changes(keep_alive_s=30, tls=TlsSettings(mode=TlsMode.CA_SIGNED_SERVER))
    store.save(edited)
    assert store.load_all().profiles == [edited]
    assert store.secrets_for(profile.id).mqtt_password == "mqtt-pw-1"  # None secrets left untouched


def test_passwords_go_to_the_keyring_and_never_into_the_json(store: ProfileStore) -> None:
    profile = keystore_profile()
    path = store.save(profile, SECRETS)
    raw = path.read_bytes()
    for value in filter(None, (v for _, v in SECRETS.items())):
        assert value.encode() not in raw
    assert b"password" not in raw.lower()
    assert keyring.get_password(SERVICE_NAME, f"{profile.id}/mqtt-password") == "mqtt-pw-1"
    assert keyring.get_password(SERVICE_NAME, f"{profile.id}/client-keystore-password") == "store-pw-3"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(raw)["schema_version"] == 2


def test_replace_secrets_deletes_the_cleared_ones(store: ProfileStore) -> None:
    profile = keystore_profile()
    store.save(profile, SECRETS)
    store.save(profile, ProfileSecrets(mqtt_password="new"), replace_secrets=True)
    assert store.secrets_for(profile.id).present() == [SecretName.MQTT_PASSWORD]


def test_delete_removes_file_and_secrets(store: ProfileStore) -> None:
    profile = keystore_profile()
    path = store.save(profile, SECRETS)
    store.delete(profile.id)
    assert not path.exists()
    assert store.secrets_for(profile.id).present() == []
    store.delete(profile.id)  # twice is fine
    with pytest.raises(ProfileError, match="no profile with id"):
        store.load(profile.id)


def test_duplicate_gets_new_id_name_and_the_same_secrets(store: ProfileStore) -> None:
    original = keystore_profile()
    store.save(original, SECRETS)
    copy = store.duplicate(original.id)
    assert copy.id != original.id
    assert copy.name == "Tenant device (copy)"
    assert copy.with_changes(id=original.id, name=original.name) == original
    assert store.secrets_for(copy.id) == store.secrets_for(original.id)
    assert len(store.load_all().profiles) == 2


def test_export_without_secrets_then_import(store: ProfileStore, tmp_path: Path) -> None:
    profile = keystore_profile()
    store.save(profile, SECRETS)
    result = store.export([profile.id], tmp_path / "out.json")
    raw = result.path.read_bytes()
    assert not result.secrets_included
    assert b"mqtt-pw-1" not in raw
    assert "not included" in result.notice
    imported = import_workbench_export(raw, "out.json")
    assert imported.notes
    saved = store.save_imported(imported)
    assert saved[0].id != profile.id  # the original still exists: nothing is overwritten
    assert saved[0].with_changes(id=profile.id) == profile
    assert store.secrets_for(saved[0].id).present() == []


def test_export_with_secrets_says_so_and_is_private(store: ProfileStore, tmp_path: Path) -> None:
    profile = keystore_profile()
    store.save(profile, SECRETS)
    result = store.export([profile.id], tmp_path / "with-secrets.json", include_secrets=True)
    assert result.secrets_included
    assert "5 password(s) in plain text" in result.notice
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    other = ProfileStore(tmp_path / "elsewhere")
    store.delete(profile.id)
    saved = other.save_imported(import_workbench_export(result.path.read_bytes()))
    assert saved[0] == profile  # the id was free, so it is kept
    assert other.secrets_for(profile.id) == SECRETS
    assert b"mqtt-pw-1" not in other.path_of(profile.id).read_bytes()


def test_import_refuses_foreign_json() -> None:
    with pytest.raises(ProfileError, match="not a workbench profile export"):
        import_workbench_export(b'{"profiles": []}', "x.json")
    with pytest.raises(ProfileError, match="not valid JSON"):
        import_workbench_export(b"{nope", "x.json")


def test_corrupt_and_unknown_files_are_reported_and_skipped(store: ProfileStore) -> None:
    good = keystore_profile()
    store.save(good)
    folder = store.folder
    (folder / "broken.json").write_text("{ not json")
    (folder / "future.json").write_text(json.dumps({"schema_version": 99, "id": "future"}))
    (folder / "wrongtype.json").write_text(json.dumps({"schema_version": 2, "id": "wrongtype", "name": "x",
                                                       "broker_host": "h", "broker_port": "1883"}))
    (folder / "extra.json").write_text(json.dumps({"schema_version": 2, "id": "extra", "name": "x",
                                                   "broker_host": "h", "colour": "red"}))
    result = store.load_all()
    assert result.profiles == [good]
    messages = {str(p) for p in result.problems}
    assert len(messages) == 4
    assert any("broken.json" in m and "not valid JSON" in m for m in messages)
    assert any("future.json" in m and "newer than this program" in m for m in messages)
    assert any("wrongtype.json" in m and "profile.broker_port should be a whole number" in m for m in messages)
    assert any("extra.json" in m and "unknown field(s) colour" in m for m in messages)
    with pytest.raises(ProfileError, match=r"broken\.json"):
        store.load("broken")


def test_migrates_v0_and_moves_its_password_to_the_keyring(
        store: ProfileStore, copy_sample: Callable[[str, str], Path]) -> None:
    path = copy_sample("workbench-profile-v0.json", "legacy0.json")
    (profile,) = store.load_all().profiles
    assert profile.id == "legacy0"
    assert profile.tls.mode is TlsMode.CA_FILE
    assert profile.tls.ca_file == "/home/user/certs/ca.pem"
    assert (profile.broker_port, profile.username) == (8883, "legacy-user")
    assert store.secrets_for("legacy0").mqtt_password == "legacy-secret"
    rewritten = path.read_bytes()
    assert b"legacy-secret" not in rewritten
    assert json.loads(rewritten)["schema_version"] == 2
    assert store.load("legacy0") == profile


def test_migrates_v1_single_tls_version(store: ProfileStore, copy_sample: Callable[[str, str], Path]) -> None:
    copy_sample("workbench-profile-v1.json", "profile-v1-sample.json")
    profile = store.load("profile-v1-sample")
    assert (profile.tls.min_version, profile.tls.max_version) == (TlsVersion.V13, TlsVersion.V13)
    assert profile.tls.client_keystore_type is KeystoreType.JKS
    assert profile.kind is ProfileKind.GENERIC


def test_file_name_must_match_the_id(store: ProfileStore, copy_sample: Callable[[str, str], Path]) -> None:
    copy_sample("workbench-profile-v1.json", "renamed.json")
    (problem,) = store.load_all().problems
    assert "holds id 'profile-v1-sample'" in str(problem)


def test_builtin_profiles_are_created_once(store: ProfileStore) -> None:
    endpoints = LocalPlatformEndpoints(mqtts_port=48883, sandbox_port=41883, truststore_file="/d/trust.p12",
                                       keystore_file="/d/device.p12", client_id="d:demo-device",
                                       rest_base_url="http://127.0.0.1:48111")
    created = ensure_builtin_profiles(store, endpoints, truststore_password="t", keystore_password="k")
    assert [p.name for p in created] == ["Local platform (certificate device)", "Local sandbox"]
    platform, sandbox = created
    assert platform.tls.mode is TlsMode.KEYSTORES and platform.broker_port == 48883
    assert platform.missing() == [] and platform.warnings() == []
    assert sandbox.broker_port == 41883 and not sandbox.uses_tls and sandbox.warnings() == []
    assert store.secrets_for(platform.id).client_keystore_password == "k"
    store.save(sandbox.with_changes(keep_alive_s=5))
    assert ensure_builtin_profiles(store, endpoints) == []
    assert store.load(sandbox.id).keep_alive_s == 5


def test_builtin_platform_profile_before_onboarding_lists_what_is_missing(store: ProfileStore) -> None:
    (platform, _) = ensure_builtin_profiles(store, LocalPlatformEndpoints(mqtts_port=8883, sandbox_port=1883))
    assert platform.missing() == ["Keystore file (the truststore)", "Client keystore"]
