"""`workbench profile list|show|import|export`: the GUI's saved connection profiles from the command line, and
MQTT.fx / MQTTX files imported with their subscriptions, saved messages and TLS switches."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from workbench.cli.common import add_json_option, add_vault_options, cli_secrets, emit, read_file_bytes
from workbench.core.profiles import ConnectionProfile, ProfileStore, profile_to_dict
from workbench.core.profiles.importers import import_any
from workbench.core.profiles.report import ImportResult
from workbench.errors import ProfileError, UnsupportedFormatError
from workbench.services.mqtt_targets import find_profile


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `profile` and its subcommands."""
    profile = subparsers.add_parser("profile", help="list, show, import and export connection profiles")
    sub = profile.add_subparsers(dest="profile_command", metavar="SUBCOMMAND", required=True)
    p = sub.add_parser("list", help="the saved profiles: name, where they connect, TLS mode")
    add_json_option(p)
    add_vault_options(p)
    p.set_defaults(handler=_list)
    p = sub.add_parser("show", help="every setting of one profile (passwords: only whether they are stored)")
    p.add_argument("name", metavar="NAME", help="profile name or id")
    add_json_option(p)
    add_vault_options(p)
    p.set_defaults(handler=_show)
    p = sub.add_parser("import", help="import MQTT.fx 1.x (mqttfx-config.xml), MQTTX (.json) or workbench exports")
    p.add_argument("file", type=Path, metavar="FILE")
    add_json_option(p)
    add_vault_options(p)
    p.set_defaults(handler=_import)
    p = sub.add_parser("export", help="write profiles to a workbench export file (without passwords)")
    p.add_argument("names", nargs="+", metavar="NAME", help="profile names or ids")
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="the JSON file to write")
    add_json_option(p)
    add_vault_options(p)
    p.set_defaults(handler=_export)


def _store(args: argparse.Namespace) -> ProfileStore:
    return ProfileStore(secrets=cli_secrets(args))


def _row(profile: ConnectionProfile) -> dict[str, Any]:
    return {"id": profile.id, "name": profile.name, "url": profile.url, "client_id": profile.client_id,
            "tls": profile.tls.mode.label, "kind": profile.kind.value}


def _list(args: argparse.Namespace) -> int:
    loaded = _store(args).load_all()
    rows = [_row(p) for p in loaded.profiles]
    problems = [str(p) for p in loaded.problems]

    def human(_result: object) -> str:
        if not rows:
            return "No profiles yet (the GUI creates the local platform's; `workbench profile import FILE`)."
        width = max(len(r["name"]) for r in rows)
        lines = [f"{r['name']:<{width}}  {r['url']}  {r['tls']}" + (f"  as {r['client_id']}" if r["client_id"] else "")
                 for r in rows]
        return "\n".join(lines + [f"problem: {p}" for p in problems])

    emit(args, {"profiles": rows, "problems": problems}, human)
    return 0


def _show(args: argparse.Namespace) -> int:
    store = _store(args)
    profile = find_profile(store, args.name)
    data = profile_to_dict(profile)
    stored = [name.value for name in store.secrets_for(profile.id).present()]
    result = {"profile": data, "url": profile.url, "secrets_stored": stored, "warnings": profile.warnings(),
              "missing": profile.missing()}

    def human(_result: object) -> str:
        lines = [f"{profile.name}  ({profile.url})", f"id: {profile.id}"]
        lines += _flatten(data, "")
        lines.append(f"passwords stored: {', '.join(stored) or 'none'}")
        lines += [f"missing: {m}" for m in profile.missing()]
        lines += [f"warning: {w}" for w in profile.warnings()]
        return "\n".join(lines)

    emit(args, result, human)
    return 0


def _flatten(data: dict[str, Any], prefix: str) -> list[str]:
    lines: list[str] = []
    for key, value in data.items():
        if key in ("id", "name", "schema_version"):
            continue
        if isinstance(value, dict):
            lines += _flatten(value, f"{prefix}{key}.")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            lines += [f"{prefix}{key}: " + ", ".join(" ".join(str(v) for v in item.values()) for item in value)]
        else:
            lines.append(f"{prefix}{key}: {value}")
    return lines


def _import(args: argparse.Namespace) -> int:
    try:
        result = import_any(read_file_bytes(args.file, "profile"), args.file.name)
    except ProfileError as exc:  # the file as a whole is no export we read: the wrong file was given (exit 2)
        raise UnsupportedFormatError(exc.summary, exc.causes) from exc
    store = _store(args)
    saved = store.save_imported(result)
    out = _import_report(result, saved)

    def human(_result: object) -> str:
        lines = [f"Imported {len(saved)} profile(s) from {args.file.name}"]
        for entry in out["profiles"]:
            extras = []
            if entry["subscriptions"]:
                extras.append(f"{len(entry['subscriptions'])} subscription(s)")
            if entry["saved_messages"]:
                extras.append(f"{entry['saved_messages']} saved message(s)")
            lines.append(f"  {entry['name']}  {entry['url']}" + (f"  ({', '.join(extras)})" if extras else ""))
            lines += [f"    warning: {w}" for w in entry["warnings"]]
            if entry["unmapped"]:
                lines.append("    not mapped (set by hand if needed): " + ", ".join(entry["unmapped"]))
        lines += [f"  skipped {name}: {why}" for name, why in result.skipped]
        lines += [f"  note: {n}" for n in result.notes]
        return "\n".join(lines)

    emit(args, out, human)
    return 0 if saved or not result.skipped else 1


def _import_report(result: ImportResult, saved: list[ConnectionProfile]) -> dict[str, Any]:
    profiles = []
    for item, profile in zip(result.items, saved, strict=True):
        profiles.append({"id": profile.id, "name": profile.name, "url": profile.url,
                         "subscriptions": [s.topic_filter for s in profile.subscriptions],
                         "saved_messages": len(item.saved_messages), "warnings": list(item.report.warnings),
                         "unmapped": [name for name, _value in item.report.unmapped_fields]})
    return {"source": result.source, "profiles": profiles,
            "skipped": [{"name": n, "why": w} for n, w in result.skipped], "notes": list(result.notes)}


def _export(args: argparse.Namespace) -> int:
    store = _store(args)
    ids = [find_profile(store, name).id for name in args.names]
    done = store.export(ids, args.out)
    emit(args, {"path": str(done.path), "count": done.count, "notice": done.notice},
         f"Wrote {done.count} profile(s) to {done.path}. {done.notice}")
    return 0
