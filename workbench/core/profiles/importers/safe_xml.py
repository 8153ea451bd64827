"""Parse a user's XML file with ElementTree after refusing DTDs and entity declarations (billion laughs, XXE)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from workbench.errors import ProfileError

MAX_XML_BYTES = 20_000_000  # MQTT.fx configs with long topic histories reach a few MB at most
_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _as_text(raw: bytes, source: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProfileError(f"'{source}' is not UTF-8 text", ("Choose the XML file itself, not an archive.",)) from exc


def parse_xml(raw: bytes, source: str) -> ET.Element:
    """The root element of a local XML file.

    Raises:
        ProfileError: too large, declares a DOCTYPE or ENTITY (refused before parsing), or is not well-formed XML.
    """
    if len(raw) > MAX_XML_BYTES:
        raise ProfileError(f"'{source}' is too large for a configuration file", ("Check you chose the right file.",))
    text = _as_text(raw, source)
    match = _DECLARATION.search(text)
    if match:
        raise ProfileError(
            f"'{source}' declares a {match.group(1).upper()}, which is refused",
            ("Configuration files never need DTDs or entity declarations; these can make a parser expand "
             "data without limit ('billion laughs') or read other files.",
             "Remove the <!DOCTYPE ...> / <!ENTITY ...> lines if you trust the file, or export it again."),
        )
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1)  # the text is already decoded: drop the encoding
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise ProfileError(f"'{source}' is not well-formed XML", (str(exc),)) from exc


def local_name(tag: str) -> str:
    """The element name without a namespace, lower-cased, underscores and dashes removed (for tolerant lookups)."""
    return tag.rsplit("}", 1)[-1].replace("_", "").replace("-", "").lower()
