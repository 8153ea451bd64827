"""The console's "Topics" tab: the topic tree beside the selected topic's history and diffs, and the payload decoder
of each subscription filter (CBOR, MessagePack, Protobuf from your .proto, Sparkplug B), remembered in the profile."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.console.decoders import DecoderKind, DecoderSpec, PayloadDecoder, decode_safely, sparkplug_topic
from workbench.core.console.messages import ConsoleMessage
from workbench.core.console.topic_tree import TopicTree, preview
from workbench.errors import WorkbenchError
from workbench.services import payload_codecs
from workbench.ui.errors import run_action

from .held_views import Hold
from .panel_api import ConsoleSession, PanelContext
from .topic_history import TopicHistoryPanel
from .topic_tree import TopicTreePanel

DECODER_CHOICES = (DecoderKind.AUTO, DecoderKind.TEXT, DecoderKind.JSON, DecoderKind.HEX, DecoderKind.BASE64,
                   DecoderKind.CBOR, DecoderKind.MSGPACK, DecoderKind.PROTOBUF, DecoderKind.SPARKPLUG)


class DecoderChooser(QWidget):
    """Filter, decoder and (for Protobuf) the .proto file and message type; Apply builds and remembers the choice."""

    def __init__(self, apply: Callable[[str, DecoderSpec | Callable[[], DecoderSpec]], object]) -> None:
        super().__init__()
        self._apply = apply
        rows = QVBoxLayout(self)  # Protobuf's file and type get their own row: the first stays narrow
        rows.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        rows.addLayout(row)
        row.addWidget(QLabel("Decode"))
        self.filter_combo = QComboBox()
        self.filter_combo.setObjectName("decoder_filter")
        self.filter_combo.setEditable(True)
        self.filter_combo.setMinimumContentsLength(6)  # a long filter scrolls inside the box
        self.filter_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.filter_combo.setToolTip("The subscription filter whose messages use this decoder")
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("decoder_kind")
        for kind in DECODER_CHOICES:
            label = "Protobuf (.proto)" if kind is DecoderKind.PROTOBUF else DecoderSpec(kind).label
            self.kind_combo.addItem(label, kind)
        self.kind_combo.currentIndexChanged.connect(self._on_kind_changed)
        self.kind_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.kind_combo.setMinimumContentsLength(8)  # "Protobuf (.proto)" elides on a narrow console
        self.proto_edit = QLineEdit()
        self.proto_edit.setObjectName("decoder_proto")
        self.proto_edit.setPlaceholderText("your .proto file")
        self.browse = QToolButton()
        self.browse.setText("…")
        self.browse.setToolTip("Choose a .proto file")
        self.browse.clicked.connect(self._on_browse)
        self.type_edit = QLineEdit()
        self.type_edit.setObjectName("decoder_type")
        self.type_edit.setPlaceholderText("message type, e.g. plant.v1.Reading")
        apply_button = QPushButton("Apply")
        apply_button.clicked.connect(self.apply)
        row.addWidget(self.filter_combo, 2)
        row.addWidget(self.kind_combo, 1)
        row.addWidget(apply_button)
        row = QHBoxLayout()
        rows.addLayout(row)
        row.addWidget(self.proto_edit, 2)
        row.addWidget(self.browse)
        row.addWidget(self.type_edit, 2)
        self._on_kind_changed()

    def set_filters(self, filters: list[str]) -> None:
        """The console's subscription filters, offered in the filter box (typing another one works too)."""
        current = self.filter_combo.currentText()
        self.filter_combo.clear()
        self.filter_combo.addItems(filters)
        self.filter_combo.setCurrentText(current or (filters[0] if filters else ""))

    def show_choice(self, topic_filter: str, spec: DecoderSpec) -> None:
        """Put a saved choice into the fields."""
        self.filter_combo.setCurrentText(topic_filter)
        self.kind_combo.setCurrentIndex(DECODER_CHOICES.index(spec.kind))
        self.proto_edit.setText(spec.proto_file)
        self.type_edit.setText(spec.message_type)

    def spec(self) -> DecoderSpec:
        """The decoder the fields describe (raises InvalidInputError for Protobuf without file or type)."""
        kind = self.kind_combo.currentData()
        assert isinstance(kind, DecoderKind)
        if kind is DecoderKind.PROTOBUF:
            return DecoderSpec(kind, self.proto_edit.text().strip(), self.type_edit.text().strip())
        return DecoderSpec(kind)

    def apply(self) -> None:
        """Build the decoder for the filter (compiling a .proto) and remember it."""
        self._apply(self.filter_combo.currentText().strip(), self.spec)  # read inside the action: errors shown

    def _on_kind_changed(self) -> None:
        protobuf = self.kind_combo.currentData() is DecoderKind.PROTOBUF
        for widget in (self.proto_edit, self.browse, self.type_edit):
            widget.setVisible(protobuf)

    def _on_browse(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Choose a .proto file", "", "Protocol Buffers (*.proto)")
        if name:
            self.proto_edit.setText(name)


class TopicsTab(QWidget):
    """Tree on the left; decoder choice and the selected topic's history and diff on the right.

    The tab holds the connection's DecoderTable (filter → decoder), which the detail pane, the charts and the
    subscribe panel's per-filter choice use too. Signals:
        decoders_changed: a choice was made, refused or loaded (see `decoders.choices`).
    """

    decoders_changed = Signal()

    def __init__(self, session: ConsoleSession, context: PanelContext, profile_id: str = "",
                 tree: TopicTree | None = None, hold: Hold = contextlib.nullcontext) -> None:
        super().__init__()
        self._session = session
        self._context = context
        self.profile_id = profile_id
        self.decoders = payload_codecs.DecoderTable()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.chooser = DecoderChooser(self.choose_decoder)
        layout.addWidget(self.chooser)
        self.tree_panel = TopicTreePanel(tree or TopicTree(), self._clear_retained, context.show_problem,
                                         self.preview_of, hold)
        self.history = TopicHistoryPanel(self.tree_panel.model.tree.history, self.decoder_for)
        self.tree_panel.topic_selected.connect(self.history.show_topic)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.tree_panel)
        split.addWidget(self.history)
        split.setSizes([560, 440])
        layout.addWidget(split, 1)
        self._load_saved()

    @property
    def tree(self) -> TopicTree:
        """The connection's topic tree."""
        return self.tree_panel.model.tree

    # --- decoders -----------------------------------------------------------------------------------------
    def _load_saved(self) -> None:
        try:
            saved = payload_codecs.saved_choices(self.profile_id)
        except WorkbenchError as exc:
            self._context.show_problem(exc)
            return
        self.decoders = payload_codecs.load_table(saved)
        for topic_filter, spec in self.decoders.choices.items():
            self.chooser.show_choice(topic_filter, spec)
        problems = {f: p for f, p in self.decoders.problems.items() if f != "*"}
        if problems:
            self._context.show_problem(WorkbenchError(
                "Some saved payload decoders cannot be used; those messages are shown as Auto",
                [f"{f}: {p}" for f, p in problems.items()]))
        self.decoders_changed.emit()

    def decoder_for(self, message: ConsoleMessage) -> PayloadDecoder:
        """The decoder of the subscription that brought the message in (Auto when none was chosen)."""
        return self.decoders.decoder_for(message.subscription)

    def preview_of(self, message: ConsoleMessage) -> str:
        """The tree's "last value": decoded for binary payloads, so a CBOR reading reads as its JSON."""
        if message.subscription in self.decoders.choices and not message.payload.isascii():
            decoded = decode_safely(self.decoder_for(message), message.payload, message.topic)
            if decoded.ok:
                return preview(" ".join(decoded.text.split()).encode("utf-8"))
        return preview(message.payload)

    def choose_decoder(self, topic_filter: str, spec: DecoderSpec | Callable[[], DecoderSpec]) -> bool:
        """Use a decoder for a filter from now on, and remember it in the profile."""
        def apply() -> bool:
            if not topic_filter:
                raise WorkbenchError("Choose the subscription filter the decoder is for", ())
            chosen = spec() if callable(spec) else spec
            self.decoders.set(topic_filter, chosen)
            payload_codecs.remember_choice(self.profile_id, topic_filter, chosen)
            return True

        done = run_action(self, apply, self._context.show_problem) is not None
        if done:
            self.chooser.show_choice(topic_filter, self.decoders.spec_for(topic_filter))
            self.history.refresh()
        self.decoders_changed.emit()  # refused too: the subscribe panel shows the choice that holds again
        return done

    def set_filters(self, filters: list[str]) -> None:
        """The console's subscriptions changed."""
        self.chooser.set_filters(filters)

    # --- feeding and commands -----------------------------------------------------------------------------
    def on_batch(self, messages: list[ConsoleMessage]) -> None:
        """The console's batch (MessageFeed.batch)."""
        self.tree_panel.on_batch(messages)
        for message in messages:  # Sparkplug births teach their decoder the aliases that later DATA messages use
            where = sparkplug_topic(message.topic)
            if where is not None and where[1] in ("NBIRTH", "DBIRTH"):
                decode_safely(self.decoder_for(message), message.payload, message.topic)

    def _clear_retained(self, topic: str) -> None:
        self._session.publish(topic, b"", 1, True)

    def proto_path(self) -> Path | None:
        """The .proto file currently typed in the chooser (None when empty)."""
        text = self.chooser.proto_edit.text().strip()
        return Path(text) if text else None
