"""Profiles on disk: one JSON file each under config_dir()/profiles, written atomically, secrets in the SecretStore."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from workbench.core.console.saved_messages import SavedMessages
from workbench.core.files import PRIVATE_MODE, write_atomic
from workbench.errors import ProfileError, WorkbenchError
from workbench.paths import config_dir

from .codec import LEGACY_SECRETS_KEY, migrate, profile_from_dict, profile_to_dict, schema_version_of
from .model import SCHEMA_VERSION, ConnectionProfile, ProfileSecrets, SecretName, check_profile_id, new_profile_id
from .report import ImportResult
from .secrets import SecretStore
from .transfer import export_document

log = logging.getLogger("workbench.profiles")

MAX_PROFILE_BYTES = 1_000_000  # a profile is a few KB; anything bigger is not one


@dataclass(frozen=True)
class LoadResult:
    """Every profile that could be read, plus one error per file that could not (shown, never fatal)."""

    profiles: list[ConnectionProfile]
    problems: list[ProfileError] = field(default_factory=list)


@dataclass(frozen=True)
class ExportResult:
    """Where an export went and whether it holds passwords, so the UI can say so."""

    path: Path
    count: int
    secrets_included: bool
    notice: str


def profiles_dir() -> Path:
    """The default folder: config_dir()/profiles."""
    return config_dir() / "profiles"


class ProfileStore:
    """Load, save, delete, duplicate, export and import profiles; the only code that touches profile files."""

    def __init__(self, folder: Path | None = None, secrets: SecretStore | None = None) -> None:
        self._folder = folder if folder is not None else profiles_dir()
        self._secrets = secrets if secrets is not None else SecretStore()

    @property
    def folder(self) -> Path:
        """Where the JSON files are (shown in the UI's details)."""
        return self._folder

    @property
    def secrets(self) -> SecretStore:
        """The secret store, for its degraded flag and notice."""
        return self._secrets

    def path_of(self, profile_id: str) -> Path:
        """The file of one profile."""
        check_profile_id(profile_id)
        return self._folder / f"{profile_id}.json"

    # --- reading --------------------------------------------------------------------------------------------

    def load_all(self) -> LoadResult:
        """Every profile, sorted by name; a corrupt or too-new file is reported in `problems` and skipped."""
        profiles: list[ConnectionProfile] = []
        problems: list[ProfileError] = []
        if not self._folder.is_dir():
            return LoadResult(profiles, problems)
        for path in sorted(self._folder.glob("*.json")):
            try:
                profiles.append(self._read(path))
            except ProfileError as exc:
                log.warning("skipping profile file %s: %s", path, exc.summary)
                problems.append(exc)
        profiles.sort(key=lambda p: (p.name.casefold(), p.id))
        return LoadResult(profiles, problems)

    def load(self, profile_id: str) -> ConnectionProfile:
        """One profile by id.

        Raises:
            ProfileError: no such profile, or its file is damaged (the message names the file).
        """
        path = self.path_of(profile_id)
        if not path.exists():
            raise ProfileError(f"There is no profile with id '{profile_id}'", (f"Looked for {path}.",))
        return self._read(path)

    def exists(self, profile_id: str) -> bool:
        """True when a file for this id exists."""
        return self.path_of(profile_id).exists()

    def secrets_for(self, profile_id: str) -> ProfileSecrets:
        """The passwords of one profile (for the editor and the connection layer)."""
        return self._secrets.load(profile_id)

    def _read(self, path: Path) -> ConnectionProfile:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ProfileError(f"Cannot read profile file '{path}'", (exc.strerror or str(exc),)) from exc
        if len(raw) > MAX_PROFILE_BYTES:
            raise ProfileError(f"Profile file '{path}' is too large to be a profile", ("Move it out of the folder.",))
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProfileError(f"Profile file '{path}' is not valid JSON",
                               (str(exc), "Restore it from a backup or delete it; other profiles are unaffected.")
                               ) from exc
        try:
            old_version = schema_version_of(data) if isinstance(data, dict) else None
            current = migrate(data, default_id=path.stem)
            legacy = current.pop(LEGACY_SECRETS_KEY, {})
            profile = profile_from_dict(current)
        except ProfileError as exc:
            raise ProfileError(f"Profile file '{path}': {exc.summary}", exc.causes) from exc
        if profile.id != path.stem:
            raise ProfileError(f"Profile file '{path}' holds id '{profile.id}', not '{path.stem}'",
                               ("Rename the file to match the id, or delete it.",))
        if old_version != SCHEMA_VERSION:
            for name, value in legacy.items():
                self._secrets.set(profile.id, SecretName(name), value)
            if legacy and self._secrets.degraded:
                # Rewriting now would drop the only lasting copy of the password; migrate once a keyring exists.
                log.warning("profile %s keeps its old format until a keyring can take its password", path)
            else:
                self._write(profile)  # rewritten in the current schema, without the old file's password
                log.info("migrated profile %s from schema %s to %s", path, old_version, SCHEMA_VERSION)
        return profile

    # --- writing --------------------------------------------------------------------------------------------

    def save(self, profile: ConnectionProfile, secrets: ProfileSecrets | None = None, *,
             replace_secrets: bool = False) -> Path:
        """Write a profile atomically; secrets with a value go to the secret store (None leaves them as they are,
        unless replace_secrets, which then deletes them)."""
        path = self._write(profile)
        if secrets is not None:
            self._secrets.save(profile.id, secrets, replace_all=replace_secrets)
        return path

    def _write(self, profile: ConnectionProfile) -> Path:
        data = json.dumps(profile_to_dict(profile), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
        try:
            return write_atomic(self.path_of(profile.id), data.encode("utf-8"), mode=PRIVATE_MODE)
        except WorkbenchError as exc:
            raise ProfileError(f"Cannot save profile '{profile.name}'", exc.causes) from exc

    def delete(self, profile_id: str) -> None:
        """Remove a profile's file and its secrets; a missing profile is not an error."""
        path = self.path_of(profile_id)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise ProfileError(f"Cannot delete profile file '{path}'", (exc.strerror or str(exc),)) from exc
        self._secrets.delete_all(profile_id)

    def duplicate(self, profile_id: str) -> ConnectionProfile:
        """A copy with a new id, the same secrets and the name "<name> (copy)"; saved before it is returned."""
        original = self.load(profile_id)
        copy = original.with_changes(id=new_profile_id(), name=f"{original.name} (copy)")
        self._write(copy)
        self._secrets.copy_all(original.id, copy.id)
        return copy

    # --- export / import ------------------------------------------------------------------------------------

    def export(self, profile_ids: list[str], path: Path, *, include_secrets: bool = False) -> ExportResult:
        """Write profiles to one JSON file; passwords only when asked, and then the file is private (0600)."""
        profiles = [self.load(pid) for pid in profile_ids]
        secrets = {p.id: self._secrets.load(p.id) for p in profiles} if include_secrets else None
        document = export_document(profiles, secrets)
        count = sum(len(s.present()) for s in (secrets or {}).values())
        mode = PRIVATE_MODE if include_secrets else 0o644
        try:
            written = write_atomic(path, document, mode=mode)
        except WorkbenchError as exc:
            raise ProfileError(f"Cannot export profiles to '{path}'", exc.causes) from exc
        if include_secrets:
            notice = (f"The export contains {count} password(s) in plain text; keep '{written.name}' private."
                      if count else "Passwords were asked for, but these profiles have none stored.")
        else:
            notice = "Passwords are not included; enter them again after importing."
        return ExportResult(written, len(profiles), include_secrets and count > 0, notice)

    def save_imported(self, result: ImportResult) -> list[ConnectionProfile]:
        """Store what an importer produced; an id that already exists gets a fresh one (nothing is overwritten).
        Saved messages go where the console's publish editor keeps them for the profile."""
        saved: list[ConnectionProfile] = []
        for item in result.items:
            profile = item.profile
            if self.exists(profile.id):
                profile = profile.with_changes(id=new_profile_id())
            self.save(profile, item.secrets)
            messages = SavedMessages(self.saved_messages_folder, profile.id)
            for message in item.saved_messages:
                messages.save(message)
            saved.append(profile)
        return saved

    @property
    def saved_messages_folder(self) -> Path:
        """Beside the profiles folder: config_dir()/saved-messages, where the console keeps them per profile."""
        return self._folder.parent / "saved-messages"
