"""Payload decoders (CBOR, MessagePack, Protobuf, Sparkplug B, text, JSON, hex, base64) that never raise.

Each decoder reuses a well-kept library: cbor2, msgpack and Google's protobuf runtime over a FileDescriptorSet that
the real protoc produced (see `workbench/services/payload_codecs.py`). A payload that does not decode comes back as
its raw form with a one-line reason, so the console, the topic tree and `workbench mqtt sub` never show an error for
somebody else's bytes.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import io
import json
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

import cbor2
import msgpack
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.unknown_fields import UnknownFieldSet

from workbench.errors import InvalidInputError

from .payload_views import hex_dump

SPARKPLUG_PAYLOAD_TYPE = "org.eclipse.tahu.protobuf.Payload"
SPARKPLUG_DATATYPE_ENUM = "org.eclipse.tahu.protobuf.DataType"
_MAX_REASON = 160  # a reason is one line: long library messages are cut
_MAX_ALIAS_NODES = 1000  # Sparkplug edge nodes whose alias tables are remembered (least recently used go first)


class DecoderKind(Enum):
    """How a subscription's payloads are shown; the value is the word used in profiles and on the command line."""

    AUTO = "auto"
    TEXT = "text"
    JSON = "json"
    HEX = "hex"
    BASE64 = "base64"
    CBOR = "cbor"
    MSGPACK = "msgpack"
    PROTOBUF = "protobuf"
    SPARKPLUG = "sparkplug"


@dataclass(frozen=True)
class DecoderSpec:
    """A decoder as saved in a profile: a kind, and for Protobuf the user's .proto file and message type."""

    kind: DecoderKind = DecoderKind.AUTO
    proto_file: str = ""
    message_type: str = ""

    def __post_init__(self) -> None:
        if self.kind is DecoderKind.PROTOBUF and not (self.proto_file and self.message_type):
            raise InvalidInputError("A Protobuf decoder needs a .proto file and a message type",
                                    ("Write it as 'protobuf:<file.proto>:<package.Message>'.",))

    def to_text(self) -> str:
        """'cbor', 'sparkplug' or 'protobuf:/path/to/file.proto:pkg.Message' (what profiles store)."""
        if self.kind is DecoderKind.PROTOBUF:
            return f"protobuf:{self.proto_file}:{self.message_type}"
        return str(self.kind.value)

    @property
    def label(self) -> str:
        """A short name for menus and column headers."""
        if self.kind is DecoderKind.PROTOBUF:
            return f"Protobuf {self.message_type}"
        return {DecoderKind.AUTO: "Auto", DecoderKind.JSON: "JSON", DecoderKind.CBOR: "CBOR",
                DecoderKind.MSGPACK: "MessagePack", DecoderKind.SPARKPLUG: "Sparkplug B"}.get(
                    self.kind, str(self.kind.value).capitalize())

    @classmethod
    def parse(cls, text: str) -> DecoderSpec:
        """Read 'cbor', 'sparkplug', 'protobuf:file.proto:pkg.Type' (the file may contain ':', as C:\\ does).

        Raises:
            InvalidInputError: an unknown decoder name, or a Protobuf spec without file or type.
        """
        word, _, rest = text.strip().partition(":")
        try:
            kind = DecoderKind(word.lower())
        except ValueError:
            names = ", ".join(k.value for k in DecoderKind)
            raise InvalidInputError(f"'{word}' is not a payload decoder", (f"Use one of: {names}.",)) from None
        if kind is not DecoderKind.PROTOBUF:
            return cls(kind)
        proto_file, _, message_type = rest.rpartition(":")
        return cls(kind, proto_file, message_type)


@dataclass(frozen=True)
class SparkplugMetric:
    """One Sparkplug B metric as shown: its name (or the name its alias stands for), alias, datatype, time, value."""

    name: str
    alias: int | None
    datatype: str
    timestamp: int | None  # milliseconds since the epoch, as Sparkplug sends it
    value: Any
    name_from_alias: bool = False  # the name was not in the message: it comes from the birth certificate


@dataclass(frozen=True)
class Decoded:
    """What a decoder made of a payload; when `ok` is False, `text` is the raw payload and `reason` says why."""

    decoder: str
    ok: bool
    text: str
    value: Any = None  # a JSON-like value (dicts, lists, str, int, float, bool, None) for diffs and charts
    reason: str = ""
    metrics: tuple[SparkplugMetric, ...] = field(default=())


class PayloadDecoder(Protocol):
    """Anything that turns a payload (and its topic, for Sparkplug's alias tables) into a Decoded; never raises."""

    @property
    def name(self) -> str:
        """The decoder's label."""

    def decode(self, payload: bytes, topic: str = "") -> Decoded:
        """Decode, or return the raw payload with a one-line reason."""


# --- helpers -------------------------------------------------------------------------------------------------
def one_line(text: str) -> str:
    """A library's message as one short line (reasons never span lines)."""
    line = " ".join(str(text).split())
    return line if len(line) <= _MAX_REASON else line[:_MAX_REASON - 1] + "…"


def raw_text(payload: bytes) -> str:
    """The payload as UTF-8 text when it is text, else as a hex dump: what a failed decode shows."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return hex_dump(payload)


def failed(decoder: str, payload: bytes, reason: str) -> Decoded:
    """The raw payload with the reason it is not what the decoder expected."""
    return Decoded(decoder, False, raw_text(payload), None, one_line(reason))


def jsonable(value: Any, depth: int = 0) -> Any:
    """A decoded CBOR/MessagePack value as JSON-like data: bytes as hex, tags and extensions spelled out."""
    if depth > 64:
        return "…"
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {k if isinstance(k, str) else json.dumps(jsonable(k, depth + 1)): jsonable(v, depth + 1)
                for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v, depth + 1) for v in value]
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, cbor2.CBORTag):
        return {"tag": value.tag, "value": jsonable(value.value, depth + 1)}
    if isinstance(value, msgpack.ExtType):
        return {"ext": value.code, "data": "0x" + value.data.hex()}
    return str(value)


def pretty(value: Any) -> str:
    """Indented JSON text of a JSON-like value (the decoded view)."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def _iso_ms(milliseconds: int | None) -> str:
    if milliseconds is None:
        return "-"
    try:
        when = datetime.datetime.fromtimestamp(milliseconds / 1000, datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return str(milliseconds)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- the simple decoders ---------------------------------------------------------------------------------------
class TextDecoder:
    """UTF-8 text; bytes that are not UTF-8 are shown as hex with the position of the first bad byte."""

    name = "Text"

    def decode(self, payload: bytes, topic: str = "") -> Decoded:
        """The payload as text."""
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            return failed(self.name, payload, f"Not UTF-8 text: byte {exc.start} is 0x{payload[exc.start]:02x}")
        return Decoded(self.name, True, text, text)


class JsonDecoder:
    """JSON, pretty-printed."""

    name = "JSON"

    def decode(self, payload: bytes, topic: str = "") -> Decoded:
        """Parse and indent."""
        try:
            value = json.loads(payload.decode("utf-8"))
        except UnicodeDecodeError as exc:
            return failed(self.name, payload, f"Not JSON: byte {exc.start} is not UTF-8")
        except ValueError as exc:
            return failed(self.name, payload, f"Not JSON: {exc}")
        except RecursionError:
            return failed(self.name, payload, "Not shown as JSON: nested too deeply")
        return Decoded(self.name, True, pretty(value), value)


class HexDecoder:
    """An offset / hex / ASCII dump."""

    name = "Hex"

    def decode(self, payload: bytes, topic: str = "") -> Decoded:
        """Always works."""
        return Decoded(self.name, True, hex_dump(payload), payload.hex())


class Base64Decoder:
    """The payload encoded as base64 (to copy binary payloads into tickets and scripts)."""

    name = "Base64"

    def decode(self, payload: bytes, topic: str = "") -> Decoded:
        """Always works."""
        text = base64.b64encode(payload).decode()
        return Decoded(self.name, True, text, text)


class CborDecoder:
    """CBOR (RFC 8949) through cbor2; one data item, nothing after it."""

    name = "CBOR"

    def decode(self, payload: bytes, topic: str = "") -> Decoded:
        """Decode one CBOR item."""
        if not payload:
            return failed(self.name, payload, "Not CBOR: the payload is empty")
        stream = io.BytesIO(payload)
        try:
            value = cbor2.CBORDecoder(stream).decode()
        except RecursionError:
            return failed(self.name, payload, "Not shown as CBOR: nested too deeply")
        except Exception as exc:
            return failed(self.name, payload, f"Not CBOR: {exc}")
        if stream.tell() < len(payload):  # one CBOR message is one data item: more bytes mean it is something else
            extra = len(payload) - stream.tell()
            return failed(self.name, payload, f"Not one CBOR item: {extra} bytes follow the first item")
        data = jsonable(value)
        return Decoded(self.name, True, pretty(data), data)


class MsgpackDecoder:
    """MessagePack through msgpack (its default limits bound memory by the payload's size)."""

    name = "MessagePack"

    def decode(self, payload: bytes, topic: str = "") -> Decoded:
        """Decode one MessagePack object."""
        if not payload:
            return failed(self.name, payload, "Not MessagePack: the payload is empty")
        try:
            value = msgpack.unpackb(payload, raw=False, strict_map_key=False)
        except msgpack.ExtraData as exc:
            return failed(self.name, payload, f"Not one MessagePack object: {len(exc.extra)} bytes follow it")
        except RecursionError:
            return failed(self.name, payload, "Not shown as MessagePack: nested too deeply")
        except Exception as exc:
            return failed(self.name, payload, f"Not MessagePack: {type(exc).__name__}: {exc}")
        data = jsonable(value)
        return Decoded(self.name, True, pretty(data), data)


# --- Protobuf ------------------------------------------------------------------------------------------------
def message_classes(descriptor_set: bytes) -> dict[str, type[Message]]:
    """Every message type of a serialized FileDescriptorSet (as protoc --descriptor_set_out writes it), by full name.

    Raises:
        InvalidInputError: the bytes are not a descriptor set the protobuf runtime accepts.
    """
    files = descriptor_pb2.FileDescriptorSet()
    try:
        files.ParseFromString(descriptor_set)
        pool = descriptor_pool.DescriptorPool()
        for file_proto in files.file:
            pool.Add(file_proto)
        classes: dict[str, type[Message]] = {}
        for file_proto in files.file:
            file_descriptor = pool.FindFileByName(file_proto.name)
            pending = list(file_descriptor.message_types_by_name.values())
            while pending:
                descriptor = pending.pop()
                classes[descriptor.full_name] = message_factory.GetMessageClass(descriptor)
                pending.extend(descriptor.nested_types)
    except Exception as exc:
        raise InvalidInputError("The compiled .proto could not be loaded", (one_line(str(exc)),)) from exc
    return classes


def find_message_class(classes: dict[str, type[Message]], message_type: str) -> type[Message]:
    """A message class by full name ('pkg.Reading') or, when unambiguous, by its short name ('Reading').

    Raises:
        InvalidInputError: no such message type (the message lists the ones there are).
    """
    if message_type in classes:
        return classes[message_type]
    short = [name for name in classes if name.rsplit(".", 1)[-1] == message_type]
    if len(short) == 1:
        return classes[short[0]]
    known = ", ".join(sorted(classes)) or "none"
    raise InvalidInputError(f"The .proto defines no message type '{message_type}'",
                            (f"Message types in it: {known}.",))


def message_value(message: Message, depth: int = 0) -> Any:
    """A decoded message as JSON-like data: numbers stay numbers (for charts), enums by name, bytes as hex."""
    if depth > 64:
        return "…"
    out: dict[str, Any] = {}
    for fd, value in message.ListFields():
        if fd.is_repeated and fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            out[fd.name] = {str(k): _field_value(fd.message_type.fields_by_name["value"], v, depth)
                            for k, v in value.items()}
        elif fd.is_repeated:
            out[fd.name] = [_field_value(fd, v, depth) for v in value]
        else:
            out[fd.name] = _field_value(fd, value, depth)
    unknown = len(UnknownFieldSet(message))
    if unknown:
        out["(unknown fields)"] = unknown
    return out


def _field_value(fd: FieldDescriptor, value: Any, depth: int) -> Any:
    if fd.type == FieldDescriptor.TYPE_MESSAGE:
        return message_value(value, depth + 1)
    if fd.type == FieldDescriptor.TYPE_ENUM:
        enum_value = fd.enum_type.values_by_number.get(value) if fd.enum_type is not None else None
        return enum_value.name if enum_value is not None else value
    if fd.type == FieldDescriptor.TYPE_BYTES:
        return "0x" + bytes(value).hex()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def parse_message(cls: type[Message], payload: bytes) -> tuple[Message | None, str]:
    """Parse a payload as one message; (None, reason) when the bytes are not that message."""
    message = cls()
    try:
        message.ParseFromString(payload)
    except Exception as exc:
        detail = str(exc).rsplit(": ", 1)[-1] or type(exc).__name__  # drop the runtime's repeated type name
        return None, f"Not a {cls.DESCRIPTOR.full_name}: {detail}"
    return message, ""


class ProtobufDecoder:
    """The user's own message type, from a FileDescriptorSet compiled by protoc at run time."""

    def __init__(self, descriptor_set: bytes, message_type: str) -> None:
        self._cls = find_message_class(message_classes(descriptor_set), message_type)
        self.name = f"Protobuf {self._cls.DESCRIPTOR.full_name}"

    @property
    def descriptor(self) -> Descriptor:
        """The message type's descriptor (the encoder uses it too)."""
        return self._cls.DESCRIPTOR

    def decode(self, payload: bytes, topic: str = "") -> Decoded:
        """Parse one message of the type."""
        message, reason = parse_message(self._cls, payload)
        if message is None:
            return failed(self.name, payload, reason)
        value = message_value(message)
        return Decoded(self.name, True, pretty(value), value)


# --- Sparkplug B ---------------------------------------------------------------------------------------------
_VALUE_FIELDS = ("int_value", "long_value", "float_value", "double_value", "boolean_value", "string_value",
                 "bytes_value", "dataset_value", "template_value", "extension_value")


def sparkplug_topic(topic: str) -> tuple[str, str, str, str] | None:
    """(group, message type, edge node, device) of a 'spBv1.0/group/NDATA/edge[/device]' topic, else None."""
    parts = topic.split("/")
    if len(parts) in (4, 5) and parts[0] == "spBv1.0":
        return parts[1], parts[2], parts[3], parts[4] if len(parts) == 5 else ""
    return None


class SparkplugDecoder:
    """Sparkplug B payloads with the bundled Eclipse Tahu sparkplug_b.proto: metrics with names, aliases, types, times.

    Birth certificates (NBIRTH, DBIRTH) map aliases to names; later NDATA/DDATA messages that carry only aliases
    are shown with those names. The alias tables are kept for the newest 1,000 edge nodes, so memory stays bounded.
    """

    name = "Sparkplug B"

    def __init__(self, descriptor_set: bytes) -> None:
        classes = message_classes(descriptor_set)
        self._cls = find_message_class(classes, SPARKPLUG_PAYLOAD_TYPE)
        pool = self._cls.DESCRIPTOR.file.pool
        datatype = pool.FindEnumTypeByName(SPARKPLUG_DATATYPE_ENUM)
        self._datatypes = {v.number: v.name for v in datatype.values}
        self._aliases: OrderedDict[tuple[str, str], dict[int, str]] = OrderedDict()

    @property
    def payload_class(self) -> type[Message]:
        """The Payload message class (tests and the encoder build Sparkplug payloads with it)."""
        return self._cls

    def decode(self, payload: bytes, topic: str = "") -> Decoded:
        """Decode a Sparkplug B payload; remember aliases from births on this topic's edge node."""
        message, reason = parse_message(self._cls, payload)
        if message is None:
            return failed(self.name, payload, reason)
        where = sparkplug_topic(topic)
        node = (where[0], where[2]) if where else ("", "")
        known = self._aliases_for(node, where[1] if where else "")
        metrics = []
        for m in message.metrics:
            alias = m.alias if m.HasField("alias") else None
            name = m.name if m.HasField("name") else ""
            from_alias = False
            if name and alias is not None and known is not None:
                known[alias] = name
            elif not name and alias is not None:
                remembered = self._lookup(node, alias)
                name, from_alias = (remembered, True) if remembered else ("", False)
            which = m.WhichOneof("value")
            value: Any = None if m.is_null or which is None else getattr(m, which)
            if isinstance(value, Message):
                value = message_value(value)
            elif isinstance(value, bytes):
                value = "0x" + value.hex()
            datatype = self._datatypes.get(m.datatype, str(m.datatype)) if m.HasField("datatype") else ""
            timestamp = m.timestamp if m.HasField("timestamp") else None
            metrics.append(SparkplugMetric(name, alias, datatype, timestamp, value, from_alias))
        header = {
            "timestamp": message.timestamp if message.HasField("timestamp") else None,
            "seq": message.seq if message.HasField("seq") else None,
        }
        value = {**header, "metrics": [{"name": m.name, "alias": m.alias, "datatype": m.datatype,
                                        "timestamp": m.timestamp, "value": m.value} for m in metrics]}
        if message.HasField("uuid"):
            value["uuid"] = message.uuid
        return Decoded(self.name, True, self._table(header, metrics, where), value, metrics=tuple(metrics))

    def _aliases_for(self, node: tuple[str, str], message_type: str) -> dict[int, str] | None:
        """The alias table a birth fills (a new NBIRTH starts the edge node's table afresh)."""
        if message_type not in ("NBIRTH", "DBIRTH"):
            return None
        if message_type == "NBIRTH" or node not in self._aliases:
            self._aliases[node] = {}
        self._aliases.move_to_end(node)
        while len(self._aliases) > _MAX_ALIAS_NODES:
            self._aliases.popitem(last=False)
        return self._aliases[node]

    def _lookup(self, node: tuple[str, str], alias: int) -> str:
        table = self._aliases.get(node)
        return table.get(alias, "") if table else ""

    def _table(self, header: dict[str, Any], metrics: list[SparkplugMetric],
               where: tuple[str, str, str, str] | None) -> str:
        lines = []
        if where:
            group, kind, edge, device = where
            lines.append(f"Sparkplug B {kind} from {group}/{edge}{'/' + device if device else ''}")
        lines.append(f"timestamp {_iso_ms(header['timestamp'])}, seq {header['seq']}, {len(metrics)} metrics")
        rows = [("name", "alias", "datatype", "timestamp", "value")]
        for m in metrics:
            name = f"{m.name} (from alias)" if m.name_from_alias else m.name or "-"
            shown = json.dumps(m.value, ensure_ascii=False) if isinstance(m.value, (dict, list)) else str(m.value)
            rows.append((name, "-" if m.alias is None else str(m.alias), m.datatype or "-", _iso_ms(m.timestamp),
                         "null" if m.value is None else shown))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])
        return "\n".join(lines)


# --- automatic choice ------------------------------------------------------------------------------------------
class AutoDecoder:
    """No decoder chosen: JSON when it parses, else text, else a hex dump (never a failure)."""

    name = "Auto"

    def __init__(self, sparkplug: SparkplugDecoder | None = None) -> None:
        self._sparkplug = sparkplug

    def decode(self, payload: bytes, topic: str = "") -> Decoded:
        """The most readable form; Sparkplug topics are decoded as Sparkplug when its decoder is at hand."""
        if self._sparkplug is not None and topic.startswith("spBv1.0/") and "/STATE/" not in f"{topic}/":
            decoded = self._sparkplug.decode(payload, topic)
            if decoded.ok:
                return decoded
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            return Decoded("Hex", True, hex_dump(payload), payload.hex())
        if text.strip()[:1] in ("{", "[") or _is_number(text):
            decoded = JsonDecoder().decode(payload)
            if decoded.ok:
                return decoded
        return Decoded("Text", True, text, text)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def simple_decoder(kind: DecoderKind) -> PayloadDecoder:
    """The decoders that need no compiled .proto (Protobuf and Sparkplug come from services.payload_codecs)."""
    table: dict[DecoderKind, PayloadDecoder] = {
        DecoderKind.AUTO: AutoDecoder(), DecoderKind.TEXT: TextDecoder(), DecoderKind.JSON: JsonDecoder(),
        DecoderKind.HEX: HexDecoder(), DecoderKind.BASE64: Base64Decoder(), DecoderKind.CBOR: CborDecoder(),
        DecoderKind.MSGPACK: MsgpackDecoder(),
    }
    if kind not in table:
        raise InvalidInputError(f"The {kind.value} decoder needs a compiled .proto", ())
    return table[kind]


def decode_safely(decoder: PayloadDecoder, payload: bytes, topic: str = "") -> Decoded:
    """Run a decoder with a last guard: whatever a library does with foreign bytes, the user sees raw + a reason."""
    try:
        return decoder.decode(payload, topic)
    except Exception as exc:
        return failed(decoder.name, payload, f"Not decoded: {type(exc).__name__}: {exc}")


def check_base64(text: str) -> bytes:
    """Decode base64 typed by a user (the publish editor's 'from base64').

    Raises:
        InvalidInputError: the text is not base64.
    """
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInputError("The text is not base64", (one_line(str(exc)),)) from exc
