"""Flatten one XML profile element into named leaf values, and read them as text, numbers and booleans."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..report import FieldRecorder
from .safe_xml import local_name

_GROUP_PREFIXES = {"proxy": "proxy", "lastwill": "lwt", "lwt": "lwt", "will": "lwt"}


class LeafValues:
    """The leaves of one element keyed by tolerant name; tracks which were used so the rest can be reported."""

    def __init__(self, element: ET.Element, recorder: FieldRecorder, lists: frozenset[str]) -> None:
        self._values: dict[str, tuple[str, str]] = {}  # key -> (path as written, text)
        self._used: set[str] = set()
        self._recorder = recorder
        self.list_sizes: dict[str, tuple[str, int]] = {}
        self._walk(element, [], lists)

    def _walk(self, element: ET.Element, path: list[str], lists: frozenset[str]) -> None:
        for child in element:
            name = child.tag.rsplit("}", 1)[-1]
            key = local_name(child.tag)
            if key in lists:
                self.list_sizes[key] = ("/".join([*path, name]), len(list(child)))
                continue
            if len(child):
                self._walk(child, [*path, name], lists)
                continue
            text = (child.text or "").strip()
            if not text:
                continue
            prefix = next((p for group, p in _GROUP_PREFIXES.items()
                           if any(group in local_name(part) for part in path)), "")
            full_key = key if key.startswith(prefix) else prefix + key
            self._values.setdefault(full_key, ("/".join([*path, name]), text))

    def text(self, *keys: str) -> str | None:
        """The first present value among tolerant keys; marks it used."""
        for key in keys:
            if key in self._values:
                self._used.add(key)
                path, value = self._values[key]
                self._recorder.took(path)
                return value
        return None

    def path_of(self, key: str) -> str:
        """The field's name as the file wrote it (for reports)."""
        return self._values[key][0] if key in self._values else key

    def integer(self, *keys: str) -> int | None:
        """A whole number, or None (absent, or not a number: then reported as unmapped with a warning)."""
        raw = self.text(*keys)
        if raw is None:
            return None
        try:
            return int(raw)
        except ValueError:
            self._unread(keys, raw, "a whole number")
            return None

    def boolean(self, *keys: str) -> bool | None:
        """true/false, yes/no, 1/0; None when absent or unreadable (then reported)."""
        raw = self.text(*keys)
        if raw is None:
            return None
        lowered = raw.lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        self._unread(keys, raw, "true or false")
        return None

    def _unread(self, keys: tuple[str, ...], raw: str, wanted: str) -> None:
        """A value that could not be read: move it from imported to unmapped, with a warning."""
        path = next((self._values[k][0] for k in keys if k in self._values), keys[0])
        if path in self._recorder.imported:
            self._recorder.imported.remove(path)
        self._recorder.warn(f"{path} = '{raw}' is not {wanted}; the default was used")
        self._recorder.left(path, raw)

    def used_keys(self) -> set[str]:
        """Keys read so far."""
        return set(self._used)

    def report_unused(self) -> None:
        """Every leaf nobody read goes to the report as unmapped, with its value."""
        for key, (path, value) in self._values.items():
            if key not in self._used:
                self._recorder.left(path, value)
