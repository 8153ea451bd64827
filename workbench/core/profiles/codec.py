"""Profile ⇄ JSON-ready dict, strictly typed both ways, plus the schema migration chain for older files."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from enum import Enum
from typing import Any

from workbench.errors import ProfileError

from .model import SCHEMA_VERSION, ConnectionProfile, SecretName, new_profile_id

LEGACY_SECRETS_KEY = "_legacy_secrets"  # secrets found in an old file, for the store to move into the keyring


def profile_to_dict(profile: ConnectionProfile) -> dict[str, Any]:
    """The JSON form of a profile (enums as their values, tuples as lists); never contains a secret."""
    out = _to_json(profile)
    assert isinstance(out, dict)
    return out


def profile_from_dict(data: object) -> ConnectionProfile:
    """Rebuild a current-schema profile, refusing unknown keys and wrong types with the field's name.

    Raises:
        ProfileError: not an object, a field is missing, unknown, of the wrong type, or invalid.
    """
    if not isinstance(data, dict):
        raise ProfileError("A profile must be a JSON object", ("The file is not a workbench profile.",))
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ProfileError(f"Profile schema version {data.get('schema_version')!r} is not {SCHEMA_VERSION}",
                           ("Load it through migrate() first.",))
    value = _from_json(ConnectionProfile, data, "profile")
    assert isinstance(value, ConnectionProfile)
    return value


def _to_json(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_to_json(item) for item in value]
    return value


def _from_json(hint: Any, value: object, where: str) -> object:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return None if value is None else _from_json(args[0], value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise _type_error(where, "a list", value)
        item_hint = typing.get_args(hint)[0]
        if origin is tuple and len(typing.get_args(hint)) == 2 and typing.get_args(hint)[1] is str:
            item_hint = str  # tuple[str, str]: a pair
        return tuple(_from_json(item_hint, item, f"{where}[{i}]") for i, item in enumerate(value))
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(value)
        except ValueError:
            allowed = ", ".join(repr(member.value) for member in hint)
            raise ProfileError(f"{where} is {value!r}", (f"Use one of {allowed}.",)) from None
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass_from_json(hint, value, where)
    if hint is bool and not isinstance(value, bool):
        raise _type_error(where, "true or false", value)
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise _type_error(where, "a whole number", value)
    if hint is str and not isinstance(value, str):
        raise _type_error(where, "text", value)
    return value


def _dataclass_from_json(cls: type, value: object, where: str) -> object:
    if not isinstance(value, dict):
        raise _type_error(where, "an object", value)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(value) - names)
    if unknown:
        raise ProfileError(f"{where} has unknown field(s) {', '.join(unknown)}",
                           ("The file was written by a newer or different program, or edited by hand.",))
    kwargs = {name: _from_json(hints[name], item, f"{where}.{name}") for name, item in value.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        missing = sorted(f.name for f in dataclasses.fields(cls) if f.name not in value
                         and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        raise ProfileError(f"{where} is missing {', '.join(missing) or 'a field'}", (str(exc),)) from exc


def _type_error(where: str, wanted: str, value: object) -> ProfileError:
    return ProfileError(f"{where} should be {wanted}, not {value!r}", ("The file was edited by hand or is damaged.",))


# --- migrations -----------------------------------------------------------------------------------------------
# v0 (early drafts, no "schema_version"): flat keys host/port/client_id/username/password/tls(bool)/ca_file;
#     the password sat in the file.
# v1: the current nesting, but "tls.tls_version" held one version (MQTT.fx's single choice) and there was no
#     kind, REST URL or MQTT 5 block.
# v2: min/max TLS versions, kind, rest_base_url, mqtt5.


def _v0_to_v1(data: dict[str, Any], default_id: str) -> dict[str, Any]:
    tls_on = bool(data.get("tls", False))
    out: dict[str, Any] = {
        "schema_version": 1,
        "id": data.get("id") or default_id,
        "name": data.get("name") or data.get("host") or "Imported profile",
        "broker_host": data.get("host", ""),
        "broker_port": data.get("port", 8883 if tls_on else 1883),
        "client_id": data.get("client_id", ""),
        "username": data.get("username", ""),
        "tls": {"mode": ("ca-certificate-file" if data.get("ca_file") else "ca-signed-server") if tls_on else "none",
                "ca_file": data.get("ca_file", ""), "tls_version": "1.2"},
    }
    if data.get("password"):
        out[LEGACY_SECRETS_KEY] = {SecretName.MQTT_PASSWORD.value: data["password"]}
    return out


def _v1_to_v2(data: dict[str, Any], default_id: str) -> dict[str, Any]:
    out = dict(data)
    if not isinstance(out.get("tls") or {}, dict):
        raise ProfileError("profile.tls should be an object", ("The file was edited by hand or is damaged.",))
    tls = dict(out.get("tls") or {})
    version = tls.pop("tls_version", "1.2")
    tls["min_version"] = version
    tls["max_version"] = version
    out["tls"] = tls
    out.setdefault("kind", "generic")
    out.setdefault("rest_base_url", "")
    out["schema_version"] = 2
    return out


_MIGRATIONS: dict[int, Callable[[dict[str, Any], str], dict[str, Any]]] = {0: _v0_to_v1, 1: _v1_to_v2}


def schema_version_of(data: dict[str, Any]) -> int:
    """The version a stored dict claims (0 when it predates versioning)."""
    version = data.get("schema_version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ProfileError(f"schema_version {version!r} is not a number", ("The file is damaged.",))
    return version


def migrate(data: object, *, default_id: str | None = None) -> dict[str, Any]:
    """Bring a stored dict up to the current schema, one step at a time; newer versions are refused.

    Secrets found in old files are moved under LEGACY_SECRETS_KEY for the caller to store and drop.

    Raises:
        ProfileError: not an object, or a schema version this program does not know.
    """
    if not isinstance(data, dict):
        raise ProfileError("A profile must be a JSON object", ("The file is not a workbench profile.",))
    current = dict(data)
    version = schema_version_of(current)
    if version > SCHEMA_VERSION:
        raise ProfileError(f"Profile schema version {version} is newer than this program's {SCHEMA_VERSION}",
                           ("Update the workbench, or export the profile again from the newer version.",))
    if version < 0:
        raise ProfileError(f"Profile schema version {version} is not valid", ("The file is damaged.",))
    legacy: dict[str, str] = {}
    fallback_id = default_id or new_profile_id()
    while version < SCHEMA_VERSION:
        current = _MIGRATIONS[version](current, fallback_id)
        legacy.update(current.pop(LEGACY_SECRETS_KEY, {}))
        version = schema_version_of(current)
    if legacy:
        current[LEGACY_SECRETS_KEY] = legacy
    return current
