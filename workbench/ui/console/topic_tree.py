"""The console's topic tree: every topic of the connection as a tree with counts, rates, the last value, a retained
marker and the time of the last message; searchable; a retained message can be cleared (after a confirmation).

It hangs off the console's one batched delivery (MessageFeed.batch): one call per tick, never a signal per message.
The model announces only new rows; values are read live when the view paints, and the view repaints on a slow timer,
so 10,000 msg/s over 5,000 topics cost one dictionary walk per message and a repaint of the visible rows.
"""

from __future__ import annotations

import contextlib
import datetime
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.console.messages import ConsoleMessage
from workbench.core.console.topic_tree import TopicMatcher, TopicNode, TopicTree, preview, topic_filter_predicate
from workbench.errors import WorkbenchError
from workbench.ui import theme
from workbench.ui.widgets.fit import ElidedLabel

from .held_views import HeldTreeView, Hold

COLUMNS = ("Topic", "Messages", "Rate /s", "Last value", "Retained", "Last message")
ModelIndex = QModelIndex | QPersistentModelIndex
REPAINT_MS = 1000  # values (counts, rates, last values) repaint once a second; new rows at once
_ROLES = frozenset({Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.ForegroundRole,
                    Qt.ItemDataRole.TextAlignmentRole})


class TopicTreeModel(QAbstractItemModel):
    """A Qt view of a core TopicTree; rows appear as the tree grows, and are announced before the view sees them."""

    def __init__(self, tree: TopicTree, preview_of: Callable[[ConsoleMessage], str] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tree = tree
        self.preview_of = preview_of or (lambda message: preview(message.payload))
        self._shown: dict[TopicNode, int] = {}  # children announced to the view, per node
        self.now: Callable[[], float] = time.time

    # --- feeding ------------------------------------------------------------------------------------------
    def apply(self, messages: list[ConsoleMessage]) -> None:
        """Add a batch to the tree and announce its new rows (parents before their children)."""
        changes = self.tree.apply(messages)
        if changes.removed:  # the tree dropped old topics to stay bounded: rare, so a reset is fine
            self.beginResetModel()
            self._shown.clear()
            self.endResetModel()
            return
        # New nodes arrive with their new children: one insertion per *existing* parent announces a whole new
        # subtree (5,000 new devices with one topic each are one insertion, not 5,001).
        new = set(changes.added)
        parents: dict[TopicNode, None] = {}
        for node in changes.added:
            if node.parent is not None and node.parent not in new:
                parents.setdefault(node.parent, None)
        for parent in parents:
            first, last = self._shown.get(parent, 0), len(parent.order) - 1
            if last < first:
                continue
            index = QModelIndex() if parent is self.tree.root else self.createIndex(parent.row, 0, parent)
            self.beginInsertRows(index, first, last)
            self._shown[parent] = last + 1
            for row in range(first, last + 1):
                for node in parent.order[row].walk():
                    if node.order:
                        self._shown[node] = len(node.order)
            self.endInsertRows()

    def clear(self) -> None:
        """Forget every topic."""
        self.beginResetModel()
        self.tree.clear()
        self._shown.clear()
        self.endResetModel()

    def node(self, index: ModelIndex) -> TopicNode:
        """The tree node behind an index (the root for an invalid index)."""
        if not index.isValid():
            return self.tree.root
        node = index.internalPointer()
        assert isinstance(node, TopicNode)
        return node

    def index_of(self, topic: str) -> QModelIndex:
        """The index of a topic's row (invalid when the topic is not in the tree)."""
        node = self.tree.find(topic)
        if node is None:
            return QModelIndex()
        return self.createIndex(node.row, 0, node)

    # --- QAbstractItemModel ---------------------------------------------------------------------------------
    def index(self, row: int, column: int, parent: ModelIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        """Qt: the index of a child row."""
        node = self.node(parent)
        if 0 <= row < self._shown.get(node, 0) and 0 <= column < len(COLUMNS):
            return self.createIndex(row, column, node.order[row])
        return QModelIndex()

    def parent(self, index: ModelIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        """Qt: the parent row of an index."""
        if not index.isValid():
            return QModelIndex()
        parent = self.node(index).parent
        if parent is None or parent is self.tree.root:
            return QModelIndex()
        return self.createIndex(parent.row, 0, parent)

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """Qt: children announced so far."""
        if parent.isValid() and parent.column() != 0:
            return 0
        return self._shown.get(self.node(parent), 0)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        """Qt: fixed columns."""
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt: column titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Qt: read live from the node, so values never need a change signal."""
        if role not in _ROLES or not index.isValid():  # views ask for a dozen roles per cell; four are used
            return None
        node = self.node(index)
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(node, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 3 and node.last is not None:
                return self.preview_of(node.last)
            if column == 4 and node.retained:
                return "The broker keeps a retained message on this topic; new subscribers get it first."
            return node.path
        if role == Qt.ItemDataRole.ForegroundRole and column == 4 and node.retained:
            return theme.status_colour("warn")
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (1, 2):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, node: TopicNode, column: int) -> Any:
        if column == 0:
            return node.name or "(empty level)"
        if column == 1:
            return f"{node.count:,}" if node.count == node.total else f"{node.count:,} ({node.total:,})"
        if column == 2:
            rate = node.rate(self.now())
            return f"{rate:.1f}" if rate >= 0.05 else ""
        if column == 3:
            return self.preview_of(node.last) if node.last is not None else ""
        if column == 4:
            return "retained" if node.retained else ""
        if column == 5 and node.last_time:
            return datetime.datetime.fromtimestamp(node.last_time).strftime("%H:%M:%S.%f")[:-3]
        return ""


class _SearchProxy(QSortFilterProxyModel):
    """Shows the topics the search matches and the levels above them."""

    def __init__(self, source: TopicTreeModel) -> None:
        super().__init__()
        self.source = source  # attached only while a search is active: an attached proxy filters every new row
        self.setRecursiveFilteringEnabled(True)
        self.matcher: TopicMatcher = topic_filter_predicate("")

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:
        """Qt: a row is shown when its own topic matches (its parents follow by recursive filtering)."""
        model = self.sourceModel()
        assert isinstance(model, TopicTreeModel)
        parent = model.node(source_parent)
        if source_row >= len(parent.order):
            return False
        node = parent.order[source_row]
        return node.count > 0 and self.matcher(node.path)


class TopicTreePanel(QWidget):
    """The tree with its search field, counts and the "Clear retained" action.

    Signals:
        topic_selected: (str) the topic of the selected row, for the history and the charts.
    """

    topic_selected = Signal(str)

    def __init__(self, tree: TopicTree, clear_retained: Callable[[str], None],
                 show_problem: Callable[[WorkbenchError], object],
                 preview_of: Callable[[ConsoleMessage], str] | None = None,
                 hold: Hold = contextlib.nullcontext) -> None:
        super().__init__()
        self._clear_retained = clear_retained
        self._show_problem = show_problem
        self.model = TopicTreeModel(tree, preview_of, self)
        self.proxy = _SearchProxy(self.model)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setObjectName("topic_search")
        self.search.setPlaceholderText("Search topics: text, or an MQTT filter such as plant/+/temperature")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search)
        self.clear_button = QPushButton("Clear retained…")
        self.clear_button.setToolTip("Publish an empty retained message on the selected topic, so the broker "
                                     "forgets its retained message")
        self.clear_button.setEnabled(False)
        self.clear_button.clicked.connect(self._on_clear_clicked)
        row.addWidget(self.search, 1)
        row.addWidget(self.clear_button)
        layout.addLayout(row)
        self.view = HeldTreeView(hold)  # paints while paho's thread waits off the GIL
        self.view.setObjectName("topic_tree")
        self.view.setModel(self.model)
        self.view.setUniformRowHeights(True)  # the view never asks every row for its height
        self.view.setAlternatingRowColors(True)
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        for column, width in ((0, 190), (1, 80), (2, 56), (4, 64), (5, 92)):
            header.resizeSection(column, width)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.selectionModel().currentChanged.connect(self._on_current_changed)
        layout.addWidget(self.view, 1)
        self.status = ElidedLabel("No topics yet: subscribe to see them here.")  # never widens the console
        layout.addWidget(self.status)
        self._timer = QTimer(self)
        self._timer.setInterval(REPAINT_MS)
        self._timer.timeout.connect(self._refresh)
        self._timer.start()

    # --- feeding ------------------------------------------------------------------------------------------
    def on_batch(self, messages: list[ConsoleMessage]) -> None:
        """The console's batch (MessageFeed.batch): grow the tree; the timer repaints the values."""
        self.model.apply(messages)
        self._show_counts()

    def _show_counts(self) -> None:
        tree = self.model.tree
        text = f"{len(tree):,} topics, {tree.root.total:,} messages"
        if tree.dropped_topics:
            text += (f"; {tree.dropped_topics:,} least recently updated topics dropped to stay within "
                     f"{tree.max_topics:,}")
        self.status.setText(text)

    def _refresh(self) -> None:
        if not self.isVisible():
            return
        self.view.viewport().update()

    # --- reactions ----------------------------------------------------------------------------------------
    def selected_topic(self) -> str:
        """The selected topic ('' when none)."""
        index = self.view.currentIndex()
        if not index.isValid():
            return ""
        if self.view.model() is self.proxy:
            index = self.proxy.mapToSource(index)
        return self.model.node(index).path

    def select_topic(self, topic: str) -> None:
        """Select a topic's row (tests and "show in tree")."""
        index = self.model.index_of(topic)
        if self.view.model() is self.proxy:
            index = self.proxy.mapFromSource(index)
        if index.isValid():
            self.view.setCurrentIndex(index)

    def _on_current_changed(self, *_: object) -> None:
        topic = self.selected_topic()
        node = self.model.tree.find(topic) if topic else None
        self.clear_button.setEnabled(node is not None and node.retained)
        if node is not None and node.count:
            self.topic_selected.emit(topic)

    def _on_search(self, text: str) -> None:
        try:
            matcher = topic_filter_predicate(text)
        except WorkbenchError as exc:
            self.search.setToolTip(exc.summary)
            self._mark_invalid(True)
            return
        self.search.setToolTip("")
        self._mark_invalid(False)
        self.proxy.matcher = matcher
        if text.strip():
            if self.proxy.sourceModel() is None:
                self.proxy.setSourceModel(self.model)
            self.proxy.invalidate()  # Qt 6.9+: invalidateRowsFilter would do; invalidate works everywhere
            if self.view.model() is not self.proxy:
                self.view.setModel(self.proxy)
                self.view.selectionModel().currentChanged.connect(self._on_current_changed)
            self.view.expandAll()
        elif self.view.model() is not self.model:  # no search: the view reads the tree directly (cheapest)
            self.view.setModel(self.model)
            self.view.selectionModel().currentChanged.connect(self._on_current_changed)
            self.proxy.setSourceModel(None)  # type: ignore[arg-type]

    def _mark_invalid(self, invalid: bool) -> None:
        """An error border in the theme's error colour (application stylesheet) while the filter cannot be used."""
        if bool(self.search.property("invalid")) != invalid:
            self.search.setProperty("invalid", invalid)
            self.search.style().unpolish(self.search)
            self.search.style().polish(self.search)

    def _on_clear_clicked(self) -> None:
        topic = self.selected_topic()
        if not topic:
            return
        answer = QMessageBox.question(
            self, "Clear the retained message?",
            f"Publish an empty retained message on\n\n{topic}\n\nThe broker then deletes the retained message of this "
            "topic; new subscribers no longer receive it. This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.clear_retained_now(topic)

    def clear_retained_now(self, topic: str) -> bool:
        """Publish the empty retained message (after the confirmation) and drop the marker."""
        try:
            self._clear_retained(topic)
        except WorkbenchError as exc:
            self._show_problem(exc)
            return False
        self.model.tree.mark_cleared(topic)
        self.clear_button.setEnabled(False)
        self.view.viewport().update()
        return True
