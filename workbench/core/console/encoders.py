"""Payload encoders for the publish editor and `workbench mqtt pub`: JSON typed by a person in, CBOR, MessagePack or
Protobuf (the user's .proto, or Sparkplug B) out, with the same libraries that decode them."""

from __future__ import annotations

import json
from typing import Any, Protocol

import cbor2
import msgpack
from google.protobuf import json_format
from google.protobuf.message import Message

from workbench.errors import InvalidInputError

from .decoders import SPARKPLUG_PAYLOAD_TYPE, find_message_class, message_classes, one_line


class PayloadEncoder(Protocol):
    """Turns the editor's text into the bytes to publish."""

    @property
    def name(self) -> str:
        """The encoder's label ("CBOR", "Protobuf pkg.Type")."""

    def encode(self, text: str) -> bytes:
        """The payload; raises InvalidInputError saying what is wrong with the text."""


def parse_json(text: str, target: str) -> Any:
    """The editor's JSON, or an error that says where it is broken.

    Raises:
        InvalidInputError: the text is not JSON.
    """
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidInputError(f"The payload is not JSON, so it cannot be sent as {target}",
                                (one_line(str(exc)), f"{target} is encoded from JSON: write the value as JSON.")) \
            from exc


class TextEncoder:
    """The text as UTF-8, unchanged (the editor's default)."""

    name = "Text"

    def encode(self, text: str) -> bytes:
        """UTF-8 bytes."""
        return text.encode("utf-8")


class CborEncoder:
    """JSON in, one CBOR item out (cbor2; canonical so equal values give equal bytes)."""

    name = "CBOR"

    def encode(self, text: str) -> bytes:
        """Encode the JSON value as CBOR."""
        return bytes(cbor2.dumps(parse_json(text, self.name), canonical=True))


class MsgpackEncoder:
    """JSON in, one MessagePack object out (msgpack; floats stay 64-bit)."""

    name = "MessagePack"

    def encode(self, text: str) -> bytes:
        """Encode the JSON value as MessagePack."""
        value = parse_json(text, self.name)
        try:
            return bytes(msgpack.packb(value, use_bin_type=True))
        except (OverflowError, ValueError, TypeError) as exc:  # integers beyond 64 bits
            raise InvalidInputError("The JSON cannot be sent as MessagePack", (one_line(str(exc)),)) from exc


class ProtobufEncoder:
    """JSON in (protobuf's JSON mapping: field names or their lowerCamelCase forms), one message of the type out."""

    def __init__(self, descriptor_set: bytes, message_type: str) -> None:
        self._cls: type[Message] = find_message_class(message_classes(descriptor_set), message_type)
        self.name = f"Protobuf {self._cls.DESCRIPTOR.full_name}"

    def encode(self, text: str) -> bytes:
        """Parse the JSON into the message type and serialize it.

        Raises:
            InvalidInputError: not JSON, or a field the type does not have, or a value of the wrong kind.
        """
        parse_json(text, self.name)
        message = self._cls()
        try:
            json_format.Parse(text, message)
        except json_format.ParseError as exc:
            raise InvalidInputError(f"The JSON does not fit {self._cls.DESCRIPTOR.full_name}",
                                    (one_line(str(exc)),
                                     "Use the field names of the .proto; 64-bit integers may be strings.")) from exc
        return bytes(message.SerializeToString())


def sparkplug_encoder(descriptor_set: bytes) -> ProtobufEncoder:
    """A Sparkplug B Payload from JSON such as {"timestamp": 1, "metrics": [{"name": "T", "datatype": 10, ...}]}."""
    encoder = ProtobufEncoder(descriptor_set, SPARKPLUG_PAYLOAD_TYPE)
    encoder.name = "Sparkplug B"
    return encoder
