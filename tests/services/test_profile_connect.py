"""Profiles in every TLS mode connect to the local platform, and each kind of mistake is reported in words:
wrong keystore password, wrong alias, wrong key password, a CA that does not sign the server, a refused device."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from tests.support.certs import simple_cert as _cert
from workbench.core.keystore import build_device_keystore, build_truststore
from workbench.core.profiles import ConnectionProfile, ProfileSecrets, ProfileStore, TlsMode, TlsSettings
from workbench.core.profiles.parts import KeystoreType, MqttVersion
from workbench.errors import KeystoreError, KeystorePasswordError, MqttConnectError, PasswordError
from workbench.services.profile_connect import session_settings
from workbench.services.token_flow import DeviceConnection

PEM = serialization.Encoding.PEM



@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BackgroundLocalPlatform, Path]]:
    folder = tmp_path_factory.mktemp("profiles")
    with BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)) as lp:
        ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        ca = _cert("Profile CA", ca_key, None, ca_key)
        device = _cert("dev-profile", key, ca, ca_key)
        lp.call(lambda: lp.platform.trust.upload("t100", {"status": "ENABLED", "autoRegistrationEnabled": True,
                                                          "certInPemFormat": ca.public_bytes(PEM).decode()}))
        assert lp.local is not None and lp.local.server_ca_path is not None
        server_ca = x509.load_pem_x509_certificate(lp.local.server_ca_path.read_bytes())
        for kind, suffix in (("pkcs12", "p12"), ("jks", "jks")):
            (folder / f"device.{suffix}").write_bytes(build_device_keystore(key, (device, ca), b"ks-pass", kind))
            (folder / f"trust.{suffix}").write_bytes(build_truststore([server_ca], b"ts-pass", kind))
        (folder / "server-ca.pem").write_bytes(server_ca.public_bytes(PEM))
        (folder / "device-chain.pem").write_bytes(device.public_bytes(PEM) + ca.public_bytes(PEM))
        (folder / "device-key.pem").write_bytes(key.private_bytes(
            PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"key-pass")))
        stranger_key = ec.generate_private_key(ec.SECP256R1())
        stranger_ca = _cert("Stranger CA", stranger_key, None, stranger_key)
        (folder / "stranger-ca.pem").write_bytes(stranger_ca.public_bytes(PEM))
        other = _cert("dev-stranger", key, stranger_ca, stranger_key)
        (folder / "stranger-chain.pem").write_bytes(other.public_bytes(PEM) + stranger_ca.public_bytes(PEM))
        yield lp, folder


def _profile(lp: BackgroundLocalPlatform, tls: TlsSettings, client_id: str = "d:dev-profile") -> ConnectionProfile:
    return ConnectionProfile(name="Local platform (certificate device)", broker_host="localhost",
                             broker_port=lp.ports["mqtts"], client_id=client_id, mqtt_version=MqttVersion.V311,
                             tls=tls)


def _connect(profile: ConnectionProfile, secrets: ProfileSecrets) -> None:
    settings = session_settings(profile, secrets)
    connection = DeviceConnection(settings.host, settings.port, settings.client_id, settings.tls, timeout=10)
    try:
        connection.connect()
        assert connection.request_token().token.claims["sub"] == "device_dev-profile"
    finally:
        connection.close()


@pytest.mark.parametrize("suffix, kind", [("p12", KeystoreType.PKCS12), ("jks", KeystoreType.JKS)])
def test_keystores_mode_saved_and_connected(setup, tmp_path: Path, suffix: str, kind: KeystoreType) -> None:
    lp, folder = setup
    tls = TlsSettings(mode=TlsMode.KEYSTORES, keystore_file=str(folder / f"trust.{suffix}"),
                      trusted_keystore_type=kind,
                      client_keystore_file=str(folder / f"device.{suffix}"), client_keystore_type=kind)
    store = ProfileStore(tmp_path / "profiles")
    profile = _profile(lp, tls)
    secrets = ProfileSecrets(trusted_keystore_password="ts-pass", client_keystore_password="ks-pass",
                             client_key_pair_password="ks-pass")
    store.save(profile, secrets)
    text = store.path_of(profile.id).read_text()
    assert "ts-pass" not in text and "ks-pass" not in text  # passwords live in the keyring only
    loaded = store.load(profile.id)
    _connect(loaded, store.secrets_for(profile.id))


def test_keystore_mistakes_are_named(setup) -> None:
    lp, folder = setup
    tls = TlsSettings(mode=TlsMode.KEYSTORES, keystore_file=str(folder / "trust.p12"),
                      client_keystore_file=str(folder / "device.p12"))
    good = ProfileSecrets(trusted_keystore_password="ts-pass", client_keystore_password="ks-pass")
    with pytest.raises(KeystorePasswordError) as wrong:
        session_settings(_profile(lp, tls), ProfileSecrets(trusted_keystore_password="ts-pass",
                                                           client_keystore_password="nope"))
    assert "device.p12" in str(wrong.value)
    with pytest.raises(KeystoreError) as alias:
        session_settings(_profile(lp, TlsSettings(**{**vars(tls), "client_key_pair_alias": "nothere"})), good)
    assert "no key pair 'nothere'" in str(alias.value) and "devicekeyentry" in str(alias.value)
    with pytest.raises(Exception) as missing:
        session_settings(_profile(lp, TlsSettings(**{**vars(tls), "client_keystore_file": str(folder / "x.p12")})),
                         good)
    assert "x.p12' does not exist" in str(missing.value)


def test_self_signed_mode_with_the_key_password(setup) -> None:
    lp, folder = setup
    tls = TlsSettings(mode=TlsMode.SELF_SIGNED, ca_file=str(folder / "server-ca.pem"),
                      client_certificate_file=str(folder / "device-chain.pem"),
                      client_key_file=str(folder / "device-key.pem"))
    with pytest.raises(PasswordError):
        session_settings(_profile(lp, tls), ProfileSecrets(key_password="wrong"))
    _connect(_profile(lp, tls), ProfileSecrets(key_password="key-pass"))


def test_a_ca_file_that_does_not_sign_the_server_is_explained(setup) -> None:
    lp, folder = setup
    tls = TlsSettings(mode=TlsMode.SELF_SIGNED, ca_file=str(folder / "stranger-ca.pem"),
                      client_certificate_file=str(folder / "device-chain.pem"),
                      client_key_file=str(folder / "device-key.pem"))
    with pytest.raises(MqttConnectError) as untrusted:
        _connect(_profile(lp, tls), ProfileSecrets(key_password="key-pass"))
    assert "is not trusted" in str(untrusted.value) and "truststore or CA file" in str(untrusted.value)


def test_a_refused_client_certificate_is_explained(setup) -> None:
    lp, folder = setup
    tls = TlsSettings(mode=TlsMode.SELF_SIGNED, ca_file=str(folder / "server-ca.pem"),
                      client_certificate_file=str(folder / "stranger-chain.pem"),
                      client_key_file=str(folder / "device-key.pem"))
    with pytest.raises(MqttConnectError) as refused:
        _connect(_profile(lp, tls, "d:dev-stranger"), ProfileSecrets(key_password="key-pass"))
    text = str(refused.value)
    assert "client certificate" in text and ("CA may not be uploaded" in text or "unknown ca" in text), text


def test_a_proxy_without_pysocks_is_explained(setup) -> None:
    lp, _folder = setup
    from workbench.core.profiles.parts import ProxyKind, ProxySettings

    profile = _profile(lp, TlsSettings()).with_changes(proxy=ProxySettings(ProxyKind.SOCKS5, "proxy.example", 1080))
    try:
        import socks  # noqa: F401
    except ImportError:
        with pytest.raises(Exception) as refused:
            session_settings(profile, ProfileSecrets())
        assert "PySocks" in str(refused.value) and "socks5 proxy" in str(refused.value)
    else:
        assert session_settings(profile, ProfileSecrets()).proxy["proxy_addr"] == "proxy.example"
