"""The console's subscribe panel: several filters, each with QoS, a colour, mute and the MQTT 5 options, its message
count and its payload decoder (CBOR, MessagePack, Protobuf from your .proto, Sparkplug B...; remembered in the
profile); the profile's saved subscriptions (imported from MQTT.fx or MQTTX) are one click away."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMenu,
    QPushButton,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.console.decoders import DecoderSpec
from workbench.services import mqtt_verbs, payload_codecs
from workbench.ui import theme
from workbench.ui.errors import run_action
from workbench.ui.widgets.fit import FlowLayout

from .codec_choice import DECODE_KINDS, CodecCombo
from .panel_api import ConsoleSession, PanelContext

FILTER_COLOURS = ("#1565c0", "#2e7d32", "#ad1457", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037", "#c62828")


class SubscribePanel(QWidget):
    """Subscriptions of one session.

    Signals:
        subscriptions_changed: a filter was added or removed (see `filters()` and `colours()`).
        muted_changed: a filter was muted or unmuted (see `muted()`).
        decoder_chosen: (filter, DecoderSpec) the user picked a filter's payload decoder (the console applies and
            remembers it, then calls `show_decoders`).
    """

    subscriptions_changed = Signal()
    muted_changed = Signal()
    decoder_chosen = Signal(str, object)

    def __init__(self, session: ConsoleSession, context: PanelContext, profile_id: str = "") -> None:
        super().__init__()
        self._session = session
        self._context = context
        self.subscriptions: dict[str, QTreeWidgetItem] = {}
        self.decoder_boxes: dict[str, CodecCombo] = {}
        self._decoder_choices: dict[str, DecoderSpec] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.filter_edit = QLineEdit("#")
        self.filter_edit.setPlaceholderText("topic filter, e.g. s/ds or sensors/+/temp")
        self.sub_qos = QComboBox()
        self.sub_qos.addItems(["QoS 0", "QoS 1", "QoS 2"])
        self.subscribe_button = QPushButton("Subscribe")
        self.subscribe_button.clicked.connect(self.subscribe)
        self.filter_edit.returnPressed.connect(self.subscribe)
        # the profile's saved subscriptions: a menu (one or all) and completions in the filter field
        self.saved_subscriptions: list[tuple[str, int]] = run_action(
            self, lambda: payload_codecs.saved_subscriptions(profile_id), context.show_problem) or []
        self.saved_button = QToolButton()
        self.saved_button.setObjectName("saved_subscriptions")
        self.saved_button.setText("Saved")
        self.saved_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.saved_button.setToolTip("The profile's saved subscriptions (imported from MQTT.fx or MQTTX)")
        self.saved_button.setMenu(QMenu(self.saved_button))
        self.saved_button.setVisible(bool(self.saved_subscriptions))
        self._fill_saved_menu()
        if self.saved_subscriptions:
            self.filter_edit.setCompleter(QCompleter([f for f, _qos in self.saved_subscriptions], self.filter_edit))
        row.addWidget(self.filter_edit, 1)
        row.addWidget(self.sub_qos)
        row.addWidget(self.subscribe_button)
        row.addWidget(self.saved_button)
        layout.addLayout(row)
        self.no_local = QCheckBox("No local")
        self.retain_as_published = QCheckBox("Retain as published")
        self.retain_handling = QComboBox()
        self.retain_handling.addItems(["Retained: send", "Retained: if new", "Retained: never"])
        if context.settings.protocol == 5:  # MQTT 5 subscription options, wrapping onto a second line when narrow
            options = FlowLayout()
            options.setContentsMargins(0, 0, 0, 0)
            for widget in (self.no_local, self.retain_as_published, self.retain_handling):
                options.addWidget(widget)
            layout.addLayout(options)
        self.subscription_list = QTreeWidget()
        self.subscription_list.setHeaderLabels(["Filter (tick to mute)", "QoS", "Messages", "Decoder"])
        self.subscription_list.setRootIsDecorated(False)
        self.subscription_list.setMinimumHeight(48)
        self.subscription_list.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a long filter keeps both ends
        self.subscription_list.itemChanged.connect(self._on_subscription_item_changed)
        self.subscription_list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.subscription_list.customContextMenuRequested.connect(self._on_context_menu)
        header = self.subscription_list.header()  # the filter gets every pixel the counts do not need
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        # as wide as its boxes, at most 2/5 of the list; hidden on a narrow console (then the filter's right-click
        # menu and the Topics tab's Decode row choose)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Fixed)
        self._decoder_width = CodecCombo(DECODE_KINDS, context.show_problem).sizeHint().width()
        header.resizeSection(3, self._decoder_width)
        self.subscription_list.headerItem().setToolTip(
            3, "How the Messages, Topics and Charts tabs decode this filter's payloads (saved in the profile)")
        layout.addWidget(self.subscription_list)
        self.unsubscribe_button = QPushButton("Unsubscribe selected")
        self.unsubscribe_button.clicked.connect(self._on_unsubscribe_clicked)
        layout.addWidget(self.unsubscribe_button)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the filter readable beside the decoder boxes on a narrow console (1024x768)."""
        super().resizeEvent(event)
        room = self.subscription_list.width()
        self.subscription_list.setColumnHidden(3, room < 300)
        self.subscription_list.header().resizeSection(3, min(self._decoder_width, room * 2 // 5))

    def _guard(self, action: Callable[[], object]) -> bool:
        return run_action(self, lambda: action() or True, self._context.show_problem) is not None

    def set_connected(self, connected: bool) -> None:
        """Subscribing needs a connection."""
        self.subscribe_button.setEnabled(connected)
        self.unsubscribe_button.setEnabled(connected)

    def subscribe(self) -> None:
        """Subscribe the filter in the field; it appears in the list with its message count."""
        topic_filter = self.filter_edit.text().strip()
        if not topic_filter or topic_filter in self.subscriptions:
            return
        qos = self.sub_qos.currentIndex()
        if not self._guard(lambda: mqtt_verbs.subscribe(self._session, mqtt_verbs.SubscribeRequest(  # one home
                topic_filter, qos, no_local=self.no_local.isChecked(),
                retain_as_published=self.retain_as_published.isChecked(),
                retain_handling=self.retain_handling.currentIndex()))):
            return
        item = QTreeWidgetItem([topic_filter, str(qos), "0"])
        colour = theme.readable(FILTER_COLOURS[len(self.subscriptions) % len(FILTER_COLOURS)])  # reads on dark too
        item.setForeground(0, colour)
        item.setCheckState(0, Qt.CheckState.Unchecked)
        item.setToolTip(0, f"{topic_filter}\n\nTick to mute: its messages are kept and counted but hidden")
        self.subscription_list.addTopLevelItem(item)
        self.subscriptions[topic_filter] = item
        box = CodecCombo(DECODE_KINDS, self._context.show_problem)
        box.setObjectName(f"decoder_{topic_filter}")
        box.set_spec(self._decoder_choices.get(topic_filter, DecoderSpec()))
        box.spec_chosen.connect(lambda spec, f=topic_filter: self.decoder_chosen.emit(f, spec))
        self.decoder_boxes[topic_filter] = box
        self.subscription_list.setItemWidget(item, 3, box)
        self.subscriptions_changed.emit()

    def subscribe_to(self, topic_filter: str) -> None:
        """Subscribe a filter for another tool (the token panel's `s/dat`), unless it is subscribed already."""
        if topic_filter not in self.subscriptions:
            self.filter_edit.setText(topic_filter)
            self.subscribe()

    def _on_unsubscribe_clicked(self) -> None:
        for item in self.subscription_list.selectedItems():
            topic_filter = item.text(0)
            if self._guard(functools.partial(self._session.unsubscribe, topic_filter)):
                self.subscription_list.takeTopLevelItem(self.subscription_list.indexOfTopLevelItem(item))
                self.subscriptions.pop(topic_filter, None)
                self.decoder_boxes.pop(topic_filter, None)
        self.subscriptions_changed.emit()

    def _on_subscription_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column == 0:
            self.muted_changed.emit()

    def filters(self) -> list[str]:
        """The subscribed filters, oldest first (incoming messages are attributed to the first that matches)."""
        return list(self.subscriptions)

    def colours(self) -> dict[str, QColor]:
        """Each subscribed filter's colour, for its messages in the table."""
        return {f: item.foreground(0).color() for f, item in self.subscriptions.items()}

    def muted(self) -> frozenset[str]:
        """The subscriptions whose messages are hidden."""
        return frozenset(f for f, item in self.subscriptions.items()
                         if item.checkState(0) == Qt.CheckState.Checked)

    def show_counts(self, per_subscription: Mapping[str, int]) -> None:
        """Each filter's message count, as the table's buffer has counted them."""
        for topic_filter, item in self.subscriptions.items():
            item.setText(2, f"{per_subscription.get(topic_filter, 0):,}")

    # --- decoders and saved subscriptions -------------------------------------------------------------------
    def show_decoders(self, choices: Mapping[str, DecoderSpec]) -> None:
        """The decoders that hold (filter → choice; a filter not named uses Auto), shown in each filter's box."""
        self._decoder_choices = dict(choices)
        for topic_filter, box in self.decoder_boxes.items():
            box.set_spec(self._decoder_choices.get(topic_filter, DecoderSpec()))

    def choose_decoder(self, topic_filter: str, spec: DecoderSpec) -> None:
        """Pick a subscribed filter's decoder as the user does in its box."""
        self.decoder_boxes[topic_filter].choose(spec)

    def decoder_menu(self, topic_filter: str) -> QMenu:
        """The right-click menu of a filter: its decoder (the same choices as its box, for a narrow console)."""
        box = self.decoder_boxes[topic_filter]
        menu = QMenu(self)
        sub = menu.addMenu(f"Decoder: {box.currentText()}")
        for index in range(box.count()):
            sub.addAction(box.itemText(index)).triggered.connect(
                lambda _=False, i=index: box.pick(i))
        return menu

    def _on_context_menu(self, position: QPoint) -> None:
        item = self.subscription_list.itemAt(position)
        if item is not None and item.text(0) in self.decoder_boxes:
            self.decoder_menu(item.text(0)).exec(self.subscription_list.viewport().mapToGlobal(position))

    def subscribe_saved(self, subscriptions: list[tuple[str, int]] | None = None) -> None:
        """Subscribe the profile's saved subscriptions (all of them, or the ones given), each with its QoS."""
        for topic_filter, qos in self.saved_subscriptions if subscriptions is None else subscriptions:
            if topic_filter not in self.subscriptions:
                self.filter_edit.setText(topic_filter)
                self.sub_qos.setCurrentIndex(qos)
                self.subscribe()

    def _fill_saved_menu(self) -> None:
        menu = self.saved_button.menu()
        menu.clear()
        if not self.saved_subscriptions:
            return
        menu.addAction(f"Subscribe to all {len(self.saved_subscriptions)}").triggered.connect(
            lambda: self.subscribe_saved())
        menu.addSeparator()
        for topic_filter, qos in self.saved_subscriptions:
            menu.addAction(f"{topic_filter}  (QoS {qos})").triggered.connect(
                lambda _=False, f=topic_filter, q=qos: self.subscribe_saved([(f, q)]))
