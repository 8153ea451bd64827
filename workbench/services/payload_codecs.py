"""One home for turning a decoder or encoder choice into a working codec: the console, the topic tree, the charts
and `workbench mqtt pub/sub` all call this, so a .proto is compiled the same way everywhere.

Protobuf schemas are compiled at run time by the real protoc that grpcio-tools embeds (no system install, no
hand-written parser) into a FileDescriptorSet, which the protobuf runtime then loads. Sparkplug B uses the Eclipse
Tahu `sparkplug_b.proto` bundled under `resources/proto/` (EPL-2.0, see the NOTICE there).
"""

from __future__ import annotations

import tempfile
import threading
import warnings
from pathlib import Path

from workbench import paths
from workbench.core.console.decoders import (
    AutoDecoder,
    DecoderKind,
    DecoderSpec,
    PayloadDecoder,
    ProtobufDecoder,
    SparkplugDecoder,
    message_classes,
    one_line,
    simple_decoder,
)
from workbench.core.console.encoders import (
    CborEncoder,
    MsgpackEncoder,
    PayloadEncoder,
    ProtobufEncoder,
    TextEncoder,
    sparkplug_encoder,
)
from workbench.core.profiles.store import ProfileStore
from workbench.errors import InvalidInputError

SPARKPLUG_PROTO = ("proto", "sparkplug_b.proto")
ENCODER_KINDS = (DecoderKind.TEXT, DecoderKind.CBOR, DecoderKind.MSGPACK, DecoderKind.PROTOBUF,
                 DecoderKind.SPARKPLUG)

_cache: dict[tuple[str, int, int, tuple[str, ...]], bytes] = {}
_lock = threading.Lock()  # protoc's compiler state is process-wide: one compile at a time


def sparkplug_proto_path() -> Path:
    """The bundled Eclipse Tahu sparkplug_b.proto."""
    return paths.resource_path(*SPARKPLUG_PROTO)


def _well_known_types() -> str:
    """grpcio-tools ships google/protobuf/*.proto (Timestamp, Any, ...) for imports of the well-known types."""
    import grpc_tools

    return str(Path(grpc_tools.__file__).parent / "_proto")


def compile_proto(proto_file: str | Path, include_dirs: tuple[str, ...] = ()) -> bytes:
    """Compile a .proto (and what it imports) into a serialized FileDescriptorSet; cached until the file changes.

    Raises:
        InvalidInputError: the file is missing or does not compile; the causes give protoc's file:line:column.
    """
    path = Path(proto_file).expanduser()
    try:
        resolved = path.resolve(strict=True)
        stat = resolved.stat()
    except OSError as exc:
        raise InvalidInputError(f"The .proto file {path} cannot be read",
                                (exc.strerror or str(exc), "Check the path in the decoder or the --proto option.")) \
            from exc
    includes = (str(resolved.parent), *include_dirs, _well_known_types())
    key = (str(resolved), stat.st_mtime_ns, stat.st_size, includes)
    with _lock:
        if key in _cache:
            return _cache[key]
        descriptor_set = _run_protoc(resolved, includes)
        _cache[key] = descriptor_set
        return descriptor_set


def _run_protoc(proto: Path, includes: tuple[str, ...]) -> bytes:
    from grpc_tools import _protoc_compiler, protoc

    # get_protos reports errors as values (file, line, column, message); run_main would only print them.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _protoc_compiler.get_protos(proto.name.encode(), [i.encode() for i in includes])
    except _protoc_compiler.ProtocErrors as exc:
        causes = [_protoc_error(error) for error in exc.errors()][:5]
        raise InvalidInputError(f"{proto.name} does not compile", (*causes, "Fix the .proto and choose it again."))\
            from exc
    with tempfile.TemporaryDirectory(prefix="workbench-proto-") as folder:
        out = Path(folder) / "descriptor_set.pb"
        args = ["protoc", *(f"-I{i}" for i in includes), "--include_imports", f"--descriptor_set_out={out}",
                proto.name]
        code = protoc.main(args)
        if code != 0 or not out.exists():
            raise InvalidInputError(f"protoc could not compile {proto.name} (exit {code})",
                                    ("Run it by hand: python -m grpc_tools.protoc " + " ".join(args[1:]),))
        return out.read_bytes()


def _protoc_error(error: object) -> str:
    def text(value: object) -> str:
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)

    where = text(getattr(error, "filename", ""))
    line = int(getattr(error, "line", -1))
    column = int(getattr(error, "column", 0))
    message = one_line(text(getattr(error, "message", error)))
    if line < 0:
        return f"{where}: {message}"
    return f"{where}:{line + 1}:{column + 1}: {message}"  # protoc counts from 0 here, editors from 1


def sparkplug_descriptor() -> bytes:
    """The compiled sparkplug_b.proto (compiled once per run, like any .proto)."""
    return compile_proto(sparkplug_proto_path())


def build_decoder(spec: DecoderSpec) -> PayloadDecoder:
    """A decoder for a saved choice (the CLI's --decode/--proto, the console's per-subscription choice).

    Raises:
        InvalidInputError: the .proto is missing or does not compile, or has no such message type.
    """
    if spec.kind is DecoderKind.SPARKPLUG:
        return SparkplugDecoder(sparkplug_descriptor())
    if spec.kind is DecoderKind.PROTOBUF:
        return ProtobufDecoder(compile_proto(spec.proto_file), spec.message_type)
    if spec.kind is DecoderKind.AUTO:
        return AutoDecoder(SparkplugDecoder(sparkplug_descriptor()))
    return simple_decoder(spec.kind)


def build_encoder(spec: DecoderSpec) -> PayloadEncoder:
    """An encoder for the publish editor: text as is, or JSON to CBOR, MessagePack, Protobuf or Sparkplug B.

    Raises:
        InvalidInputError: an encoding the editor does not offer, or a .proto that does not compile.
    """
    if spec.kind in (DecoderKind.TEXT, DecoderKind.AUTO):
        return TextEncoder()
    if spec.kind is DecoderKind.CBOR:
        return CborEncoder()
    if spec.kind is DecoderKind.MSGPACK:
        return MsgpackEncoder()
    if spec.kind is DecoderKind.PROTOBUF:
        return ProtobufEncoder(compile_proto(spec.proto_file), spec.message_type)
    if spec.kind is DecoderKind.SPARKPLUG:
        return sparkplug_encoder(sparkplug_descriptor())
    raise InvalidInputError(f"Payloads cannot be encoded as {spec.label}",
                            ("Choose Text, CBOR, MessagePack, Protobuf or Sparkplug B.",))


def proto_message_types(proto_file: str | Path) -> list[str]:
    """The message types a .proto (and what it imports from its own folder) defines, by full name, for a picker.

    Raises:
        InvalidInputError: the file is missing or does not compile.
    """
    return sorted(name for name in message_classes(compile_proto(proto_file)) if not name.startswith("google."))


def encode_payload(spec: DecoderSpec, text: str) -> bytes:
    """The publish editor's text as the bytes to send ("Send as"): one home for every front end that encodes.

    Raises:
        InvalidInputError: the text does not fit the encoding (not JSON, a field the message type lacks, ...).
    """
    return build_encoder(spec).encode(text)


def saved_subscriptions(profile_id: str, store: ProfileStore | None = None) -> list[tuple[str, int]]:
    """A profile's saved subscriptions as (filter, QoS), for the console's subscribe panel; none without a profile."""
    if not profile_id:
        return []
    store = store or ProfileStore()
    if not store.exists(profile_id):
        return []
    return [(s.topic_filter, s.qos) for s in store.load(profile_id).subscriptions]


class DecoderTable:
    """The decoders of one connection, chosen per subscription filter; a filter without a choice gets Auto.

    Built decoders are kept (a Sparkplug decoder remembers aliases from births); a choice that cannot be built
    (a .proto deleted since) is reported once by `problems` and that filter falls back to Auto.
    """

    def __init__(self, choices: dict[str, DecoderSpec] | None = None) -> None:
        self._choices: dict[str, DecoderSpec] = {}
        self._built: dict[str, PayloadDecoder] = {}
        self._auto: PayloadDecoder | None = None
        self.problems: dict[str, str] = {}
        for topic_filter, spec in (choices or {}).items():
            self.set(topic_filter, spec)

    @property
    def choices(self) -> dict[str, DecoderSpec]:
        """Filter → decoder choice (what the profile saves)."""
        return dict(self._choices)

    def set(self, topic_filter: str, spec: DecoderSpec) -> None:
        """Choose a decoder for a subscription filter (Auto removes the choice).

        Raises:
            InvalidInputError: the decoder cannot be built (the choice is not kept).
        """
        if spec.kind is DecoderKind.AUTO:
            self._choices.pop(topic_filter, None)
            self._built.pop(topic_filter, None)
            return
        decoder = build_decoder(spec)
        self._choices[topic_filter] = spec
        self._built[topic_filter] = decoder
        self.problems.pop(topic_filter, None)

    def spec_for(self, topic_filter: str) -> DecoderSpec:
        """The choice for a filter (Auto when none)."""
        return self._choices.get(topic_filter, DecoderSpec())

    def decoder_for(self, topic_filter: str) -> PayloadDecoder:
        """The decoder for messages that came in through a filter."""
        decoder = self._built.get(topic_filter)
        if decoder is not None:
            return decoder
        if self._auto is None:
            try:
                self._auto = build_decoder(DecoderSpec())
            except InvalidInputError as exc:  # the bundled .proto is missing: Auto without Sparkplug
                self.problems["*"] = exc.summary
                self._auto = simple_decoder(DecoderKind.AUTO)
        return self._auto


def load_table(choices: dict[str, str]) -> DecoderTable:
    """A DecoderTable from a profile's saved texts; a choice that no longer builds is kept out and reported."""
    table = DecoderTable()
    for topic_filter, text in choices.items():
        try:
            table.set(topic_filter, DecoderSpec.parse(text))
        except InvalidInputError as exc:
            table.problems[topic_filter] = exc.summary
    return table


def saved_choices(profile_id: str, store: ProfileStore | None = None) -> dict[str, str]:
    """The decoders a profile remembers (filter → decoder text); none for a quick connection or a missing profile."""
    if not profile_id:
        return {}
    store = store or ProfileStore()
    if not store.exists(profile_id):
        return {}
    return dict(store.load(profile_id).payload_decoders)


def remember_choice(profile_id: str, topic_filter: str, spec: DecoderSpec, store: ProfileStore | None = None) -> bool:
    """Save a filter's decoder in the profile (Auto forgets it); False when there is no profile to save it in.

    Raises:
        ProfileError: the profile cannot be read or written.
    """
    if not profile_id:
        return False
    store = store or ProfileStore()
    if not store.exists(profile_id):
        return False
    profile = store.load(profile_id)
    pairs = [(f, d) for f, d in profile.payload_decoders if f != topic_filter]
    if spec.kind is not DecoderKind.AUTO:
        pairs.append((topic_filter, spec.to_text()))
    store.save(profile.with_changes(payload_decoders=tuple(pairs)))
    return True
