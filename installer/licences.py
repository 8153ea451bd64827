"""The licence notice of every third-party component the bundle carries, collected from installed metadata.

It walks the project's runtime requirements (not the test or bundle extras), writes each distribution's name,
version and licence, and appends the licence files the distribution ships; Qt and Python are named as well.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

PROJECT = "device-onboarding-workbench"
_LICENCE_FILE = re.compile(r"(^|/)(LICEN[CS]E|COPYING|NOTICE|AUTHORS)[^/]*$", re.IGNORECASE)
EXTRA_NOTES = {
    "pyside6-essentials": "with the Qt 6 libraries (LGPL-3.0-only), dynamically linked and replaceable in the "
                          "bundle folder",
    "qtawesome": "the bundle carries its Material Design Icons 6 font only: Apache-2.0, "
                 "https://github.com/Templarian/MaterialDesign-Webfont/blob/master/LICENSE",
}


def _name(requirement: str) -> tuple[str, str]:
    """The distribution name and its environment marker of a Requires-Dist line."""
    name = re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0]
    marker = requirement.split(";", 1)[1] if ";" in requirement else ""
    return name, marker


def runtime_distributions(root: str = PROJECT) -> list[metadata.Distribution]:
    """The project's runtime dependencies, recursively, without optional extras."""
    seen: dict[str, metadata.Distribution] = {}
    pending = [root]
    while pending:
        name = pending.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        key = (dist.metadata["Name"] or name).lower().replace("_", "-")
        if key in seen:
            continue
        seen[key] = dist
        for requirement in dist.requires or []:
            child, marker = _name(requirement)
            if "extra ==" in marker:
                continue
            pending.append(child)
    return sorted((d for k, d in seen.items() if k != root), key=lambda d: d.metadata["Name"].lower())


def licence_of(dist: metadata.Distribution) -> str:
    """The licence as the distribution declares it (expression, field or classifiers)."""
    meta = dist.metadata
    expression = meta.get("License-Expression")
    if expression:
        return expression
    field = (meta.get("License") or "").strip()
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License")]
    if field and len(field) < 80:
        return field
    return ", ".join(classifiers) or (field.splitlines()[0] if field else "see the licence text below")


def notice() -> str:
    """The whole THIRD-PARTY-LICENSES text."""
    parts = ["Device Onboarding Workbench bundles the following third-party components.\n",
             "Python (PSF License Agreement): https://docs.python.org/3/license.html\n"]
    texts = []
    for dist in runtime_distributions():
        name, version = dist.metadata["Name"], dist.version
        line = f"- {name} {version}: {licence_of(dist)}"
        note = EXTRA_NOTES.get(name.lower().replace("_", "-"))
        if note:
            line += f" ({note})"
        parts.append(line)
        for file in dist.files or []:
            if _LICENCE_FILE.search(str(file)):
                try:
                    text = Path(file.locate()).read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                texts.append(f"\n===== {name} {version}: {file.name} =====\n\n{text.strip()}\n")
    return "\n".join(parts) + "\n" + "".join(texts)


def write_notice(folder: Path) -> Path:
    """Write THIRD-PARTY-LICENSES.txt into the bundle folder."""
    path = folder / "THIRD-PARTY-LICENSES.txt"
    path.write_text(notice(), encoding="utf-8")
    return path
