"""First-run profiles for the bundled local platform, so a new user can connect within a minute."""

from __future__ import annotations

from dataclasses import dataclass

from .model import ConnectionProfile, ProfileSecrets
from .parts import KeystoreType, ProfileKind, TlsMode, TlsSettings
from .store import ProfileStore

LOCAL_PLATFORM_PROFILE_ID = "builtin-local-platform-certificate"
LOCAL_SANDBOX_PROFILE_ID = "builtin-local-sandbox"
LOCAL_PLATFORM_PROFILE_NAME = "Local platform (certificate device)"  # also how `workbench mqtt --profile` finds it


@dataclass(frozen=True)
class LocalPlatformEndpoints:
    """What the app knows about the running local platform; the profiles are built from it.

    Attributes:
        truststore_file / keystore_file: the device's truststore and keystore (may be empty until the
            onboarding flow created them; the profile then lists them as missing).
        client_id: usually `d:<CN>` of the demo device certificate; empty until one exists.
    """

    mqtts_port: int
    sandbox_port: int
    host: str = "127.0.0.1"
    truststore_file: str = ""
    keystore_file: str = ""
    keystore_type: KeystoreType = KeystoreType.PKCS12
    client_id: str = ""
    rest_base_url: str = ""
    tls_server_name: str = ""


def builtin_profiles(endpoints: LocalPlatformEndpoints) -> list[ConnectionProfile]:
    """The two ready-made profiles: the platform with a certificate device (keystores), and the plain sandbox."""
    platform = ConnectionProfile(
        id=LOCAL_PLATFORM_PROFILE_ID,
        name=LOCAL_PLATFORM_PROFILE_NAME,
        kind=ProfileKind.LOCAL_PLATFORM,
        broker_host=endpoints.host,
        broker_port=endpoints.mqtts_port,
        client_id=endpoints.client_id,
        clean_session=True,
        tls=TlsSettings(
            mode=TlsMode.KEYSTORES,
            keystore_file=endpoints.truststore_file,
            trusted_keystore_type=endpoints.keystore_type,
            client_keystore_file=endpoints.keystore_file,
            client_keystore_type=endpoints.keystore_type,
            sni_override=endpoints.tls_server_name,
        ),
        rest_base_url=endpoints.rest_base_url,
    )
    if not endpoints.sandbox_port:  # a platform started without the sandbox listener
        return [platform]
    sandbox = ConnectionProfile(
        id=LOCAL_SANDBOX_PROFILE_ID,
        name="Local sandbox",
        kind=ProfileKind.SANDBOX,
        broker_host=endpoints.host,
        broker_port=endpoints.sandbox_port,
        client_id="workbench-sandbox",
    )
    return [platform, sandbox]


def ensure_builtin_profiles(store: ProfileStore, endpoints: LocalPlatformEndpoints, *,
                            truststore_password: str | None = None,
                            keystore_password: str | None = None) -> list[ConnectionProfile]:
    """Create the built-in profiles that do not exist yet (a user's edits are never overwritten); return the new."""
    created: list[ConnectionProfile] = []
    for profile in builtin_profiles(endpoints):
        if store.exists(profile.id):
            continue
        secrets = None
        if profile.kind is ProfileKind.LOCAL_PLATFORM:
            secrets = ProfileSecrets(trusted_keystore_password=truststore_password,
                                     client_keystore_password=keystore_password,
                                     client_key_pair_password=keystore_password)
        store.save(profile, secrets)
        created.append(profile)
    return created


def point_builtin_at_demo(store: ProfileStore, endpoints: LocalPlatformEndpoints, keystore_password: str) -> bool:
    """Point the built-in certificate-device profile at the demo device and the platform's current port; a profile
    the user aimed at another keystore is kept as it is. True when the profile was (re)written."""
    (platform, *_rest) = builtin_profiles(endpoints)
    current = store.load(platform.id) if store.exists(platform.id) else None
    untouched = current is None or bool(current.missing()) or current.tls.client_keystore_file in (
        "", endpoints.keystore_file)
    if not untouched:
        return False
    if current is not None:  # keep what the user set beyond the demo's files and the platform's address
        platform = current.with_changes(broker_host=platform.broker_host, broker_port=platform.broker_port,
                                        client_id=platform.client_id, tls=platform.tls,
                                        rest_base_url=platform.rest_base_url)
    store.save(platform, ProfileSecrets(trusted_keystore_password=keystore_password,
                                        client_keystore_password=keystore_password,
                                        client_key_pair_password=keystore_password))
    return True
