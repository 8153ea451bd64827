"""Our own profile exchange file: a versioned JSON document, passwords only when the user asked for them."""

from __future__ import annotations

import datetime
import json
from typing import Any

from workbench.errors import ProfileError

from .codec import LEGACY_SECRETS_KEY, migrate, profile_from_dict, profile_to_dict
from .model import SCHEMA_VERSION, ConnectionProfile, ProfileSecrets, SecretName
from .report import FieldRecorder, ImportedProfile, ImportResult

EXPORT_FORMAT = "device-onboarding-workbench/profiles"
EXPORT_SOURCE = "Workbench profile export"


def export_document(profiles: list[ConnectionProfile], secrets: dict[str, ProfileSecrets] | None) -> bytes:
    """The bytes of an export file; `secrets` None means none are written (and the file says so)."""
    entries: list[dict[str, Any]] = []
    for profile in profiles:
        entry: dict[str, Any] = {"profile": profile_to_dict(profile)}
        if secrets is not None:
            entry["secrets"] = {name.value: value for name, value in secrets[profile.id].items() if value is not None}
        entries.append(entry)
    document = {
        "format": EXPORT_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "exported_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "secrets_included": secrets is not None,
        "profiles": entries,
    }
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def is_workbench_export(data: object) -> bool:
    """True for a document written by export_document (used to pick the importer)."""
    return isinstance(data, dict) and data.get("format") == EXPORT_FORMAT


def import_workbench_export(raw: bytes, source: str = EXPORT_SOURCE) -> ImportResult:
    """Read an export file; each profile is migrated as a stored file would be, secrets kept apart.

    Raises:
        ProfileError: not JSON, not our export format, or a profile in it is invalid (named by position).
    """
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProfileError(f"'{source}' is not valid JSON", (str(exc),)) from exc
    if not is_workbench_export(data):
        raise ProfileError(f"'{source}' is not a workbench profile export",
                           ("Choose a file made with 'Export profiles', or use the MQTT.fx / MQTTX importers.",))
    entries = data.get("profiles")
    if not isinstance(entries, list):
        raise ProfileError(f"'{source}' has no list of profiles", ("The file is damaged.",))
    items: list[ImportedProfile] = []
    for index, entry in enumerate(entries, start=1):
        where = f"profile {index} in '{source}'"
        if not isinstance(entry, dict) or not isinstance(entry.get("profile"), dict):
            raise ProfileError(f"{where} is not an object with a 'profile'", ("The file is damaged.",))
        try:
            current = migrate(entry["profile"])
            legacy: dict[str, str] = current.pop(LEGACY_SECRETS_KEY, {})
            profile = profile_from_dict(current)
            secret_values = dict(legacy)
            secret_values.update(_secret_values(entry.get("secrets", {})))
        except ProfileError as exc:
            raise ProfileError(f"{where}: {exc.summary}", exc.causes) from exc
        recorder = FieldRecorder(profile.name)
        recorder.took(*profile_to_dict(profile).keys())
        secrets = ProfileSecrets.from_mapping({SecretName(k): v for k, v in secret_values.items()})
        if secrets.present():
            recorder.warn(f"{len(secrets.present())} password(s) from the file were put in the secret store")
        items.append(ImportedProfile(profile, secrets, recorder.report()))
    notes = () if data.get("secrets_included") else ("The file has no passwords; enter them after importing.",)
    return ImportResult(source, tuple(items), notes=notes)


def _secret_values(raw: object) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ProfileError("'secrets' is not an object", ("The file is damaged.",))
    known = {name.value for name in SecretName}
    out: dict[str, str] = {}
    for key, value in raw.items():
        if key not in known or not isinstance(value, str):
            raise ProfileError(f"secret {key!r} is unknown or not text",
                               (f"Known secrets: {', '.join(sorted(known))}.",))
        out[key] = value
    return out
