"""The console's subscribe panel: several filters, each with QoS, a colour, mute and the MQTT 5 options, and
its message count."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from workbench.services.mqtt_session import MqttSession, SessionSettings
    from workbench.ui.models.message_table import MessageTableModel

    from .session_bridge import SessionBridge

FILTER_COLOURS = ("#1565c0", "#2e7d32", "#ad1457", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037", "#c62828")


class SubscribePanelMixin:
    """Subscriptions, for ConsoleWidget (it provides session, model, bridge and the view filter)."""

    if TYPE_CHECKING:  # what ConsoleWidget provides, declared for the type checker
        settings: SessionSettings
        session: MqttSession
        model: MessageTableModel
        bridge: SessionBridge
        subscriptions: dict[str, QTreeWidgetItem]

        def _guard(self, action: Callable[[], object]) -> bool: ...

        def _on_view_filter_changed(self) -> None: ...

    def _build_subscribe_panel(self) -> QWidget:
        panel = QWidget()
        layout = QVBoxLayout(panel)
        row = QHBoxLayout()
        self.filter_edit = QLineEdit("#")
        self.filter_edit.setPlaceholderText("topic filter, e.g. s/ds or sensors/+/temp")
        self.sub_qos = QComboBox()
        self.sub_qos.addItems(["QoS 0", "QoS 1", "QoS 2"])
        self.subscribe_button = QPushButton("Subscribe")
        self.subscribe_button.clicked.connect(self.subscribe)
        self.filter_edit.returnPressed.connect(self.subscribe)
        row.addWidget(self.filter_edit, 1)
        row.addWidget(self.sub_qos)
        row.addWidget(self.subscribe_button)
        layout.addLayout(row)
        self.no_local = QCheckBox("No local")
        self.retain_as_published = QCheckBox("Retain as published")
        self.retain_handling = QComboBox()
        self.retain_handling.addItems(["Retained: send", "Retained: if new", "Retained: never"])
        if self.settings.protocol == 5:  # MQTT 5 subscription options
            options = QHBoxLayout()
            for widget in (self.no_local, self.retain_as_published, self.retain_handling):
                options.addWidget(widget)
            layout.addLayout(options)
        self.subscription_list = QTreeWidget()
        self.subscription_list.setHeaderLabels(["Filter (tick to mute)", "QoS", "Messages"])
        self.subscription_list.itemChanged.connect(self._on_subscription_item_changed)
        self.subscription_list.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.subscription_list)
        self.unsubscribe_button = QPushButton("Unsubscribe selected")
        self.unsubscribe_button.clicked.connect(self._on_unsubscribe_clicked)
        layout.addWidget(self.unsubscribe_button)
        return panel

    def subscribe(self) -> None:
        """Subscribe the filter in the field; it appears in the list with its message count."""
        topic_filter = self.filter_edit.text().strip()
        if not topic_filter or topic_filter in self.subscriptions:
            return
        qos = self.sub_qos.currentIndex()
        if not self._guard(lambda: self.session.subscribe(
                topic_filter, qos, no_local=self.no_local.isChecked(),
                retain_as_published=self.retain_as_published.isChecked(),
                retain_handling=self.retain_handling.currentIndex())):
            return
        item = QTreeWidgetItem([topic_filter, str(qos), "0"])
        colour = QColor(FILTER_COLOURS[len(self.subscriptions) % len(FILTER_COLOURS)])
        item.setForeground(0, colour)
        item.setCheckState(0, Qt.CheckState.Unchecked)
        item.setToolTip(0, "Tick to mute: its messages are kept and counted but hidden")
        self.model.colours[topic_filter] = colour
        self.subscription_list.addTopLevelItem(item)
        self.subscriptions[topic_filter] = item
        self.bridge.set_subscriptions(list(self.subscriptions))

    def _on_unsubscribe_clicked(self) -> None:
        for item in self.subscription_list.selectedItems():
            topic_filter = item.text(0)
            if self._guard(functools.partial(self.session.unsubscribe, topic_filter)):
                self.subscription_list.takeTopLevelItem(self.subscription_list.indexOfTopLevelItem(item))
                self.subscriptions.pop(topic_filter, None)
        self.bridge.set_subscriptions(list(self.subscriptions))

    def _on_subscription_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column == 0:
            self._on_view_filter_changed()

    def muted(self) -> frozenset[str]:
        """The subscriptions whose messages are hidden."""
        return frozenset(f for f, item in self.subscriptions.items()
                         if item.checkState(0) == Qt.CheckState.Checked)
