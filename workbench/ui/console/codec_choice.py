"""One combo box for choosing a payload codec: the subscribe panel picks a decoder per filter with it and the publish
editor picks what to "Send as", so both offer the same names, the same Protobuf picker and the same remembered
"Protobuf: file.proto:Type" entries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QInputDialog, QWidget

from workbench.core.console.decoders import DecoderKind, DecoderSpec
from workbench.errors import WorkbenchError
from workbench.services import payload_codecs
from workbench.ui.errors import run_action

DECODE_KINDS = (DecoderKind.AUTO, DecoderKind.TEXT, DecoderKind.JSON, DecoderKind.HEX, DecoderKind.BASE64,
                DecoderKind.CBOR, DecoderKind.MSGPACK, DecoderKind.SPARKPLUG)
ENCODE_KINDS = (DecoderKind.TEXT, DecoderKind.CBOR, DecoderKind.MSGPACK, DecoderKind.SPARKPLUG)
PICK_PROTO = "Protobuf (.proto)…"


def spec_label(spec: DecoderSpec) -> str:
    """How a choice reads in the box: "Sparkplug B", "Protobuf: reading.proto:plant.v1.Reading"."""
    if spec.kind is DecoderKind.PROTOBUF:
        return f"Protobuf: {Path(spec.proto_file).name}:{spec.message_type}"
    return spec.label


def ask_protobuf_spec(parent: QWidget, show_problem: Callable[[WorkbenchError], object]) -> DecoderSpec | None:
    """Choose a .proto file, compile it (protoc of grpcio-tools) and pick one of its message types; None if cancelled
    or the file does not compile (the problem is shown)."""
    name, _ = QFileDialog.getOpenFileName(parent, "Choose a .proto file", "", "Protocol Buffers (*.proto)")
    if not name:
        return None
    types = run_action(parent, lambda: payload_codecs.proto_message_types(name), show_problem)
    if not types:
        if types is not None:
            show_problem(WorkbenchError(f"{Path(name).name} defines no message type", ("Choose another .proto.",)))
        return None
    chosen, ok = QInputDialog.getItem(parent, "Message type", f"Message type in {Path(name).name}:", types, 0, False)
    return DecoderSpec(DecoderKind.PROTOBUF, name, chosen) if ok and chosen else None


class CodecCombo(QComboBox):
    """The codec kinds, the Protobuf specs used before and a "Protobuf (.proto)…" entry that asks for a new one.

    `pick_protobuf` asks for the file and type (a dialog; tests replace it). Signals:
        spec_chosen: the user chose a codec (a DecoderSpec); not emitted by `set_spec`.
    """

    spec_chosen = Signal(object)

    def __init__(self, kinds: Iterable[DecoderKind], show_problem: Callable[[WorkbenchError], object],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._show_problem = show_problem
        self._current = DecoderSpec()
        self.pick_protobuf: Callable[[], DecoderSpec | None] = lambda: ask_protobuf_spec(self, self._show_problem)
        for kind in kinds:
            spec = DecoderSpec(kind)
            self.addItem(spec_label(spec), spec)
        self.addItem(PICK_PROTO, None)
        self._current = self.itemData(0)
        # a long "Protobuf: file.proto:Type" never widens its panel: the box scrolls, the tooltip shows it whole
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(7)
        self.activated.connect(self._on_activated)
        self._show_tooltip()

    def spec(self) -> DecoderSpec:
        """The codec shown."""
        return self._current

    def set_spec(self, spec: DecoderSpec) -> None:
        """Show a choice (adding a Protobuf entry when it is new) without announcing it."""
        index = self._index_of(spec)
        if index < 0:
            index = self.count() - 1  # before "Protobuf (.proto)…"
            self.insertItem(index, spec_label(spec), spec)
            self.setItemData(index, f"{spec.proto_file}\n{spec.message_type}", Qt.ItemDataRole.ToolTipRole)
        self._current = spec
        self.setCurrentIndex(index)
        self._show_tooltip()

    def choose(self, spec: DecoderSpec) -> None:
        """Show a choice and announce it, as if the user picked it."""
        self.set_spec(spec)
        self.spec_chosen.emit(spec)

    def pick(self, index: int) -> None:
        """Choose the entry at `index` as a click in the list does (a menu offering the same entries uses this)."""
        self.setCurrentIndex(index)
        self._on_activated(index)

    def _index_of(self, spec: DecoderSpec) -> int:
        for index in range(self.count()):
            if self.itemData(index) == spec:
                return index
        return -1

    def _on_activated(self, index: int) -> None:
        spec = self.itemData(index)
        if spec is None:  # "Protobuf (.proto)…": ask; cancelled shows the previous choice again
            spec = self.pick_protobuf()
            if spec is None:
                self.set_spec(self._current)
                return
        if spec != self._current or spec.kind is DecoderKind.PROTOBUF:
            self.choose(spec)

    def _show_tooltip(self) -> None:
        spec = self._current
        self.setToolTip(f"{spec.proto_file}: {spec.message_type}" if spec.kind is DecoderKind.PROTOBUF
                        else spec_label(spec))
