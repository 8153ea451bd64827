"""The console's subscribe panel: several filters, each with QoS, a colour, mute and the MQTT 5 options, and
its message count."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

from PySide6.QtCore import Qt, Signal
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

from workbench.ui.errors import run_action

from .panel_api import ConsoleSession, PanelContext

FILTER_COLOURS = ("#1565c0", "#2e7d32", "#ad1457", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037", "#c62828")


class SubscribePanel(QWidget):
    """Subscriptions of one session.

    Signals:
        subscriptions_changed: a filter was added or removed (see `filters()` and `colours()`).
        muted_changed: a filter was muted or unmuted (see `muted()`).
    """

    subscriptions_changed = Signal()
    muted_changed = Signal()

    def __init__(self, session: ConsoleSession, context: PanelContext) -> None:
        super().__init__()
        self._session = session
        self._context = context
        self.subscriptions: dict[str, QTreeWidgetItem] = {}
        layout = QVBoxLayout(self)
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
        if context.settings.protocol == 5:  # MQTT 5 subscription options
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
        if not self._guard(lambda: self._session.subscribe(
                topic_filter, qos, no_local=self.no_local.isChecked(),
                retain_as_published=self.retain_as_published.isChecked(),
                retain_handling=self.retain_handling.currentIndex())):
            return
        item = QTreeWidgetItem([topic_filter, str(qos), "0"])
        colour = QColor(FILTER_COLOURS[len(self.subscriptions) % len(FILTER_COLOURS)])
        item.setForeground(0, colour)
        item.setCheckState(0, Qt.CheckState.Unchecked)
        item.setToolTip(0, "Tick to mute: its messages are kept and counted but hidden")
        self.subscription_list.addTopLevelItem(item)
        self.subscriptions[topic_filter] = item
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
