"""What an import produced and what it could not map, so the user checks facts instead of trusting guesses."""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.core.console.saved_messages import SavedMessage

from .model import ConnectionProfile, ProfileSecrets


@dataclass(frozen=True)
class ProfileImportReport:
    """Per imported profile: fields taken over, fields left behind (with their values) and warnings."""

    source_name: str
    imported_fields: tuple[str, ...] = ()
    unmapped_fields: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for the import dialog's list."""
        text = f"{self.source_name}: {len(self.imported_fields)} field(s) imported"
        if self.unmapped_fields:
            text += f", {len(self.unmapped_fields)} not mapped"
        if self.warnings:
            text += f", {len(self.warnings)} warning(s)"
        return text


@dataclass(frozen=True)
class ImportedProfile:
    """One profile from a foreign file, its passwords (for the secret store, never the JSON) and its report."""

    profile: ConnectionProfile
    secrets: ProfileSecrets
    report: ProfileImportReport
    saved_messages: tuple[SavedMessage, ...] = ()  # the publish editor's saved messages (MQTT.fx, MQTTX)


@dataclass(frozen=True)
class ImportResult:
    """Everything one file gave: profiles to save, plus entries that could not become a profile at all."""

    source: str
    items: tuple[ImportedProfile, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()  # (entry name, why it was skipped)
    notes: tuple[str, ...] = field(default=())

    @property
    def reports(self) -> list[ProfileImportReport]:
        """The per-profile reports, in file order."""
        return [item.report for item in self.items]


class FieldRecorder:
    """Collects imported/unmapped fields and warnings while an importer walks one entry."""

    def __init__(self, source_name: str) -> None:
        self.source_name = source_name
        self.imported: list[str] = []
        self.unmapped: list[tuple[str, str]] = []
        self.warnings: list[str] = []

    def took(self, *names: str) -> None:
        """Record source fields that were mapped."""
        self.imported.extend(n for n in names if n not in self.imported)

    def left(self, name: str, value: object) -> None:
        """Record a source field that has a value but no place in our profile (password values are hidden)."""
        secret = any(word in name.lower() for word in ("password", "passwd", "secret", "passphrase"))
        self.unmapped.append((name, "(hidden)" if secret else _short(value)))

    def warn(self, text: str) -> None:
        """Record something the user should check."""
        self.warnings.append(text)

    def report(self) -> ProfileImportReport:
        """Freeze what was recorded."""
        return ProfileImportReport(self.source_name, tuple(self.imported), tuple(self.unmapped), tuple(self.warnings))


def _short(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 200 else text[:197] + "..."
