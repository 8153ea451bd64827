"""Connection profiles.

The ConnectionProfile model, its JSON store (secrets in the keyring) and importers (MQTT.fx, MQTTX).
"""

from __future__ import annotations

from .codec import migrate, profile_from_dict, profile_to_dict
from .defaults import (
    LOCAL_PLATFORM_PROFILE_ID,
    LOCAL_SANDBOX_PROFILE_ID,
    LocalPlatformEndpoints,
    builtin_profiles,
    ensure_builtin_profiles,
)
from .importers import MQTTFX5_MESSAGE, import_mqttfx, import_mqttx, import_workbench_export
from .model import (
    SCHEMA_VERSION,
    ConnectionProfile,
    ProfileSecrets,
    SecretName,
    client_id_from_certificate,
    client_id_from_common_name,
    default_port,
    new_profile_id,
)
from .parts import (
    DEFAULT_KEY_PAIR_ALIAS,
    DEFAULT_TRUSTED_ALIAS,
    PROXY_SUPPORT_NOTE,
    KeystoreType,
    LastWill,
    Mqtt5ConnectProperties,
    MqttVersion,
    ProfileKind,
    ProxyKind,
    ProxySettings,
    Subscription,
    TlsMode,
    TlsSettings,
    TlsVersion,
    Transport,
)
from .report import ImportedProfile, ImportResult, ProfileImportReport
from .secrets import NO_KEYRING_MESSAGE, SERVICE_NAME, SecretStore
from .store import ExportResult, LoadResult, ProfileStore, profiles_dir

__all__ = [
    "DEFAULT_KEY_PAIR_ALIAS",
    "DEFAULT_TRUSTED_ALIAS",
    "LOCAL_PLATFORM_PROFILE_ID",
    "LOCAL_SANDBOX_PROFILE_ID",
    "MQTTFX5_MESSAGE",
    "NO_KEYRING_MESSAGE",
    "PROXY_SUPPORT_NOTE",
    "SCHEMA_VERSION",
    "SERVICE_NAME",
    "ConnectionProfile",
    "ExportResult",
    "ImportResult",
    "ImportedProfile",
    "KeystoreType",
    "LastWill",
    "LoadResult",
    "LocalPlatformEndpoints",
    "Mqtt5ConnectProperties",
    "MqttVersion",
    "ProfileImportReport",
    "ProfileKind",
    "ProfileSecrets",
    "ProfileStore",
    "ProxyKind",
    "ProxySettings",
    "SecretName",
    "SecretStore",
    "Subscription",
    "TlsMode",
    "TlsSettings",
    "TlsVersion",
    "Transport",
    "builtin_profiles",
    "client_id_from_certificate",
    "client_id_from_common_name",
    "default_port",
    "ensure_builtin_profiles",
    "import_mqttfx",
    "import_mqttx",
    "import_workbench_export",
    "migrate",
    "new_profile_id",
    "profile_from_dict",
    "profile_to_dict",
    "profiles_dir",
]
