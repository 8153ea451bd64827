"""The console's detail pane: one payload shown as text, pretty JSON, hex, base64 and parsed SmartREST lines."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from workbench.core.platform_client.smartrest import STATIC_TEMPLATES, parse_line


@dataclass(frozen=True)
class PayloadViews:
    """Every rendering of a payload; None where the payload is not that kind."""

    text: str | None
    json: str | None
    json_error: str | None
    hex: str
    base64: str
    smartrest: tuple[str, ...] | None


def hex_dump(data: bytes, width: int = 16) -> str:
    """A classic offset / hex / ASCII dump, as `xxd` prints it."""
    lines = []
    for offset in range(0, len(data), width):
        chunk = data[offset:offset + width]
        hex_part = " ".join(f"{b:02x}" for b in chunk)
        ascii_part = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hex_part:<{width * 3 - 1}}  {ascii_part}")
    return "\n".join(lines)


def describe_smartrest(line: str) -> str | None:
    """'200,c8y_Temperature,T,21,C' → 'Create custom measurement: fragment=c8y_Temperature, ...' or None."""
    fields = parse_line(line)
    if not fields or not fields[0].isdigit():
        return None
    code = fields[0]
    if code == "71" and len(fields) > 1:
        return "71 Device token: a JWT for 'Authorization: Bearer'"
    if code in ("40", "41", "42", "43", "45", "50") and len(fields) > 1:
        return f"{code} Error for template {fields[1]}: {','.join(fields[2:])}"
    known = STATIC_TEMPLATES.get(code)
    if known is None:
        return f"{code} (template not known to the helper): {', '.join(fields[1:])}"
    name, names = known
    pairs = [f"{label}={value}" for label, value in zip(names, fields[1:], strict=False)]
    pairs += fields[1 + len(names):]
    return f"{code} {name}: {', '.join(pairs)}"


def payload_views(payload: bytes, topic: str = "") -> PayloadViews:
    """Render a payload every useful way; SmartREST only for the platform's `s/...` topics or digit-led lines."""
    try:
        text: str | None = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    pretty: str | None = None
    json_error: str | None = None
    if text is not None and text.strip()[:1] in ("{", "["):
        try:
            pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError as exc:
            json_error = f"Not valid JSON: {exc}"
    smartrest: tuple[str, ...] | None = None
    if text is not None and (topic.startswith("s/") or text[:1].isdigit()):
        described = [describe_smartrest(line) for line in text.splitlines() if line.strip()]
        if described and all(d is not None for d in described):
            smartrest = tuple(d for d in described if d is not None)
    return PayloadViews(text, pretty, json_error, hex_dump(payload), base64.b64encode(payload).decode(), smartrest)
