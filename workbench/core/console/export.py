"""Export console messages to CSV and JSON Lines, for bug reports and for analysis elsewhere."""

from __future__ import annotations

import base64
import csv
import datetime
import io
import json
from collections.abc import Iterable

from .messages import ConsoleMessage


def _payload_text(payload: bytes) -> tuple[str, str]:
    """Payload as UTF-8 text when it is text, else base64; with the encoding used."""
    try:
        return payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(payload).decode(), "base64"


def _iso(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).isoformat(timespec="milliseconds")


def to_csv(messages: Iterable[ConsoleMessage]) -> bytes:
    """A CSV with one row per message: time, direction, topic, QoS, retain, size, encoding, payload."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["time", "direction", "topic", "qos", "retain", "size", "encoding", "payload"])
    for m in messages:
        text, encoding = _payload_text(m.payload)
        writer.writerow([_iso(m.timestamp), m.direction, m.topic, m.qos, int(m.retain), len(m.payload),
                         encoding, text])
    return buffer.getvalue().encode("utf-8")


def to_json_lines(messages: Iterable[ConsoleMessage]) -> bytes:
    """One JSON object per line, with properties, so nothing is lost."""
    lines = []
    for m in messages:
        text, encoding = _payload_text(m.payload)
        record = {"time": _iso(m.timestamp), "direction": m.direction, "topic": m.topic, "qos": m.qos,
                  "retain": m.retain, "size": len(m.payload), "encoding": encoding, "payload": text}
        if m.properties:
            record["properties"] = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in m.properties.items()}
        lines.append(json.dumps(record, ensure_ascii=False))
    return ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")
