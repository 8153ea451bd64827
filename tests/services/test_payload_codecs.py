"""The service calls the console's codec choices stand on: the message types of a user's .proto (for the picker),
the "Send as" encoding, and a profile's saved subscriptions."""

from __future__ import annotations

from pathlib import Path

import cbor2
import pytest

from workbench.core.console.decoders import DecoderKind, DecoderSpec
from workbench.core.profiles.model import ConnectionProfile
from workbench.core.profiles.parts import Subscription
from workbench.core.profiles.store import ProfileStore
from workbench.errors import InvalidInputError
from workbench.services import payload_codecs

PROTO = """
syntax = "proto3";
package plant.v1;
import "google/protobuf/timestamp.proto";
message Reading { string sensor = 1; double value = 2; google.protobuf.Timestamp at = 3; message Tag { string k = 1; } }
message Batch { repeated Reading readings = 1; }
"""


def test_message_types_of_a_proto_for_the_picker(tmp_path: Path) -> None:
    proto = tmp_path / "plant.proto"
    proto.write_text(PROTO, encoding="utf-8")
    assert payload_codecs.proto_message_types(proto) == ["plant.v1.Batch", "plant.v1.Reading", "plant.v1.Reading.Tag"]
    proto.write_text("syntax = \"proto3\";\nmessage A { strin a = 1; }\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"plant\.proto does not compile"):
        payload_codecs.proto_message_types(proto)


def test_encode_payload_is_the_send_as_of_the_editor(tmp_path: Path) -> None:
    assert cbor2.loads(payload_codecs.encode_payload(DecoderSpec(DecoderKind.CBOR), '{"t": 1.5}')) == {"t": 1.5}
    assert payload_codecs.encode_payload(DecoderSpec(DecoderKind.TEXT), "21.5") == b"21.5"
    proto = tmp_path / "plant.proto"
    proto.write_text(PROTO, encoding="utf-8")
    spec = DecoderSpec(DecoderKind.PROTOBUF, str(proto), "Reading")
    assert payload_codecs.encode_payload(spec, '{"sensor": "a"}') == b"\x0a\x01a"
    with pytest.raises(InvalidInputError, match=r"does not fit plant\.v1\.Reading"):
        payload_codecs.encode_payload(spec, '{"sensor": 1, "nope": 2}')


def test_saved_subscriptions_of_a_profile() -> None:
    store = ProfileStore()
    profile = ConnectionProfile("plant", "127.0.0.1", subscriptions=(Subscription("a/#", 1), Subscription("s/ds")))
    store.save(profile)
    assert payload_codecs.saved_subscriptions(profile.id, store) == [("a/#", 1), ("s/ds", 0)]
    assert payload_codecs.saved_subscriptions("", store) == []
    assert payload_codecs.saved_subscriptions("missing-profile", store) == []
