"""The difference between two messages of a topic: field by field for JSON (or any payload a decoder turns into
structured data), line by line for text, and as hex lines for anything else."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from .decoders import PayloadDecoder, decode_safely
from .payload_views import hex_dump

_MISSING = object()


@dataclass(frozen=True)
class FieldChange:
    """One field of a JSON comparison; `path` is a JSON path such as `$.sensor.values[2]`."""

    path: str
    kind: str  # "added", "removed", "changed" or "same"
    before: Any = None
    after: Any = None


@dataclass(frozen=True)
class PayloadDiff:
    """Two payloads compared the best way their content allows."""

    mode: str  # "fields" (JSON or decoded structure), "text" or "hex"
    fields: tuple[FieldChange, ...] = ()
    lines: tuple[str, ...] = ()  # a unified diff for text and hex

    @property
    def changed(self) -> int:
        """How many fields or lines differ."""
        if self.mode == "fields":
            return sum(1 for change in self.fields if change.kind != "same")
        return sum(1 for line in self.lines if line[:1] in "+-" and not line.startswith(("+++", "---")))

    def summary(self) -> str:
        """One line for the header above the diff."""
        if self.mode == "fields":
            kinds = {k: sum(1 for c in self.fields if c.kind == k) for k in ("changed", "added", "removed")}
            if not any(kinds.values()):
                return "identical: every field is the same"
            return ", ".join(f"{n} {k}" for k, n in kinds.items() if n) + " (field by field)"
        if not self.changed:
            return f"identical ({self.mode})"
        return f"{self.changed} lines differ ({'text' if self.mode == 'text' else 'hex dump'}, line by line)"


def _child(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    text = str(key)
    plain = text.replace("_", "").isalnum() and not text[:1].isdigit()
    return f"{path}.{text}" if plain else f"{path}[{json.dumps(text, ensure_ascii=False)}]"


def field_changes(before: Any, after: Any, path: str = "$") -> list[FieldChange]:
    """Compare two JSON values field by field (objects by key, arrays by index; leaves by value and type)."""
    out: list[FieldChange] = []
    _compare(before, after, path, out, 0)
    return out


def _compare(a: Any, b: Any, path: str, out: list[FieldChange], depth: int) -> None:
    if depth > 64:
        out.append(FieldChange(path, "same" if a == b else "changed", a, b))
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            _compare(a.get(key, _MISSING), b.get(key, _MISSING), _child(path, key), out, depth + 1)
        return
    if isinstance(a, list) and isinstance(b, list):
        for index in range(max(len(a), len(b))):
            _compare(a[index] if index < len(a) else _MISSING, b[index] if index < len(b) else _MISSING,
                     _child(path, index), out, depth + 1)
        return
    if a is _MISSING:
        out.append(FieldChange(path, "added", None, b))
    elif b is _MISSING:
        out.append(FieldChange(path, "removed", a, None))
    elif type(a) is type(b) and a == b:
        out.append(FieldChange(path, "same", a, b))
    else:
        out.append(FieldChange(path, "changed", a, b))


def _structured(payload: bytes, decoder: PayloadDecoder | None, topic: str) -> Any:
    """The payload as JSON-like data (by the decoder, else as JSON text), or _MISSING."""
    if decoder is not None and decoder.name not in ("Auto", "Text", "Hex", "Base64"):
        decoded = decode_safely(decoder, payload, topic)
        if decoded.ok and isinstance(decoded.value, (dict, list)):
            return decoded.value
    try:
        value = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _MISSING
    return value if isinstance(value, (dict, list)) else _MISSING


def diff_payloads(before: bytes, after: bytes, decoder: PayloadDecoder | None = None, topic: str = "",
                  context: int = 3) -> PayloadDiff:
    """Compare two payloads: field by field when both are structured, else text lines, else hex lines."""
    a, b = _structured(before, decoder, topic), _structured(after, decoder, topic)
    if a is not _MISSING and b is not _MISSING:
        return PayloadDiff("fields", tuple(field_changes(a, b)))
    try:
        text_a, text_b, mode = before.decode("utf-8"), after.decode("utf-8"), "text"
    except UnicodeDecodeError:
        text_a, text_b, mode = hex_dump(before), hex_dump(after), "hex"
    lines = difflib.unified_diff(text_a.splitlines(), text_b.splitlines(), "older", "newer", lineterm="",
                                 n=context)
    return PayloadDiff(mode, lines=tuple(lines))
