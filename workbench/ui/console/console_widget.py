"""One connection's console: connect, subscribe, publish, and watch messages without the GUI ever blocking."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.console.export import to_csv, to_json_lines
from workbench.core.console.messages import MessageFilter, MessageRing
from workbench.core.files import write_atomic
from workbench.core.platform_client.smartrest import STATIC_TEMPLATES
from workbench.errors import WorkbenchError
from workbench.services.mqtt_session import MqttSession, SessionSettings, SessionState
from workbench.ui.dialogs.problem_dialog import problem_html
from workbench.ui.models.message_table import MessageTableModel

from .detail_pane import DetailPane
from .publish_extras import PublishProperties, SavedMessagesButton
from .session_bridge import SessionBridge
from .status_panels import HandshakePanel, SysPanel
from .token_panel import TokenPanel

FILTER_COLOURS = ("#1565c0", "#2e7d32", "#ad1457", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037", "#c62828")


class ConsoleWidget(QWidget):
    """A tab of the Connections page, bound to one MqttSession.

    Signals:
        state_changed: the SessionState, for the tab title and the status bar.
    """

    state_changed = Signal(object)

    def __init__(self, settings: SessionSettings, capacity: int = 100_000, rest_url: str = "",
                 profile_id: str = "") -> None:
        super().__init__()
        self.settings = settings
        self.profile_id = profile_id
        self.model = MessageTableModel(MessageRing(capacity), parent=self)
        self.bridge = SessionBridge(self.model, self)
        self.bridge.state_changed.connect(self._on_session_state)
        self.session = MqttSession(settings, self.bridge)
        self.subscriptions: dict[str, QTreeWidgetItem] = {}
        self._repeat_timer = QTimer(self)
        self._repeat_timer.timeout.connect(self._on_repeat_tick)
        self._repeat_left = 0
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_connection_bar())
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("QLabel { background: #fdecea; color: #611a15; padding: 6px; border-radius: 4px; }")
        self.problem.hide()
        layout.addWidget(self.problem)
        self.tools = QTabWidget()
        self.token_panel: TokenPanel | None = None
        self.handshake_panel: HandshakePanel | None = None
        if settings.tls is not None:  # certificate connections to a platform get the device token panel
            self.token_panel = TokenPanel(self, rest_url)
            self.tools.addTab(self.token_panel, "Device token")
            self.handshake_panel = HandshakePanel(self)
            self.tools.addTab(self.handshake_panel, "TLS handshake")
        self.sys_panel = SysPanel(self)
        self.tools.addTab(self.sys_panel, "Broker status ($SYS)")
        self.tools.setMaximumHeight(300)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self._build_subscribe_panel())
        top.addWidget(self._build_publish_panel())
        top.setSizes([380, 620])
        main = QSplitter(Qt.Orientation.Vertical)
        main.addWidget(self.tools)
        main.addWidget(top)
        main.addWidget(self._build_message_view())
        main.setSizes([200, 260, 520])
        layout.addWidget(main, 1)
        self.model.counts_changed.connect(self._on_counts_changed)
        self._set_enabled_for(SessionState.DISCONNECTED)
        self._shortcut("Ctrl+Shift+C", self.connect_session)
        self._shortcut("Ctrl+Shift+D", self.disconnect_session)
        self._shortcut("Ctrl+Return", self.publish)
        self._shortcut("Ctrl+L", self.model.clear)
        self._shortcut("Ctrl+F", self.search.setFocus)

    # --- building ------------------------------------------------------------------------------------------
    def _shortcut(self, keys: str, slot: object) -> None:
        shortcut = QShortcut(QKeySequence(keys), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(slot)

    def _build_connection_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        s = self.settings
        tls = "mutual TLS" if s.tls is not None else "plain TCP"
        version = {3: "3.1", 4: "3.1.1", 5: "5.0"}[s.protocol]
        bar.addWidget(QLabel(f"<b>{s.broker}</b> as <b>{s.client_id}</b> · MQTT {version} · {tls}"))
        bar.addStretch(1)
        self.state_label = QLabel("disconnected")
        bar.addWidget(self.state_label)
        self.connect_button = QPushButton("Connect")
        self.connect_button.setToolTip("Ctrl+Shift+C")
        self.connect_button.clicked.connect(self.connect_session)
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.setToolTip("Ctrl+Shift+D")
        self.disconnect_button.clicked.connect(self.disconnect_session)
        bar.addWidget(self.connect_button)
        bar.addWidget(self.disconnect_button)
        return bar

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

    def _build_publish_panel(self) -> QWidget:
        panel = QWidget()
        layout = QVBoxLayout(panel)
        row = QHBoxLayout()
        self.topic_combo = QComboBox()
        self.topic_combo.setEditable(True)
        self.topic_combo.setCurrentText("s/us")
        self.topic_combo.setMinimumWidth(200)
        self.pub_qos = QComboBox()
        self.pub_qos.addItems(["QoS 0", "QoS 1", "QoS 2"])
        self.retain_box = QCheckBox("Retain")
        templates = QPushButton("SmartREST")
        menu = QMenu(templates)
        for code, (name, fields) in STATIC_TEMPLATES.items():
            action = menu.addAction(f"{code}  {name}")
            action.setToolTip(", ".join(fields))
            action.triggered.connect(lambda _=False, c=code, f=fields: self._insert_template(c, f))
        templates.setMenu(menu)
        self.saved_button = SavedMessagesButton(self, self.profile_id)
        row.addWidget(self.topic_combo, 1)
        row.addWidget(self.pub_qos)
        row.addWidget(self.retain_box)
        row.addWidget(templates)
        row.addWidget(self.saved_button)
        layout.addLayout(row)
        self.publish_properties: PublishProperties | None = None
        if self.settings.protocol == 5:
            self.publish_properties = PublishProperties()
            layout.addWidget(self.publish_properties)
        self.payload_edit = QPlainTextEdit()
        self.payload_edit.setPlaceholderText("payload: text, JSON or SmartREST lines")
        self.payload_edit.textChanged.connect(self._on_payload_changed)
        layout.addWidget(self.payload_edit, 1)
        row = QHBoxLayout()
        self.payload_check = QLabel("")
        row.addWidget(self.payload_check, 1)
        row.addWidget(QLabel("Repeat"))
        self.repeat_count = QSpinBox()
        self.repeat_count.setRange(1, 1_000_000)
        self.repeat_interval = QSpinBox()
        self.repeat_interval.setRange(0, 3_600_000)
        self.repeat_interval.setSuffix(" ms")
        row.addWidget(self.repeat_count)
        row.addWidget(QLabel("every"))
        row.addWidget(self.repeat_interval)
        from_file = QPushButton("From file…")
        from_file.clicked.connect(self._on_from_file_clicked)
        self.publish_button = QPushButton("Publish")
        self.publish_button.setToolTip("Ctrl+Return")
        self.publish_button.clicked.connect(self.publish)
        row.addWidget(from_file)
        row.addWidget(self.publish_button)
        layout.addLayout(row)
        return panel

    def _build_message_view(self) -> QWidget:
        panel = QWidget()
        layout = QVBoxLayout(panel)
        bar = QHBoxLayout()
        self.topic_filter = QLineEdit()
        self.topic_filter.setPlaceholderText("show topics matching…")
        self.search = QLineEdit()
        self.search.setPlaceholderText("search payloads (Ctrl+F)")
        self.regex_box = QCheckBox("Regex")
        for widget in (self.topic_filter, self.search):
            widget.textChanged.connect(self._on_view_filter_changed)
        self.regex_box.toggled.connect(self._on_view_filter_changed)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self._on_pause_toggled)
        clear = QPushButton("Clear")
        clear.setToolTip("Ctrl+L")
        clear.clicked.connect(self.model.clear)
        export = QPushButton("Export…")
        export.clicked.connect(self._on_export_clicked)
        for widget in (self.topic_filter, self.search):
            bar.addWidget(widget, 1)
        for widget in (self.regex_box, self.pause_button, clear, export):
            bar.addWidget(widget)
        layout.addLayout(bar)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        # Fixed row heights and column widths: nothing is measured per inserted row at 10,000 messages/s.
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(20)
        header = self.table.horizontalHeader()
        metrics = self.table.fontMetrics()
        for column, sample in ((0, "00:00:00.000"), (1, "Dir"), (3, "QoS"), (4, "Retain"), (5, "100000")):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, metrics.horizontalAdvance(sample) + 16)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        split.addWidget(self.table)
        self.detail = DetailPane()
        split.addWidget(self.detail)
        split.setSizes([560, 440])
        layout.addWidget(split, 1)
        self.counts = QLabel("no messages yet")
        layout.addWidget(self.counts)
        self.model.rowsInserted.connect(self._on_rows_inserted)
        return panel

    # --- commands ------------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop the session and its network thread before the widget goes away (no callbacks into dead Qt objects)."""
        self._repeat_timer.stop()
        self.bridge.detach()
        if self.session.state is not SessionState.DISCONNECTED:
            self.session.disconnect()

    def closeEvent(self, event: QCloseEvent) -> None:
        """A console closed on its own (not through the page) still stops its session."""
        self.shutdown()
        super().closeEvent(event)

    def connect_session(self) -> None:
        """Connect off the GUI thread; the result arrives as a state change."""
        if self.session.state in (SessionState.CONNECTING, SessionState.CONNECTED):
            return
        self.problem.hide()
        self.session.connect()

    def disconnect_session(self) -> None:
        """Disconnect cleanly (the broker drops the will)."""
        self._repeat_timer.stop()
        if self.session.state in (SessionState.CONNECTED, SessionState.CONNECTING):
            self.session.disconnect()

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
            if self._guard(lambda f=topic_filter: self.session.unsubscribe(f)):
                self.subscription_list.takeTopLevelItem(self.subscription_list.indexOfTopLevelItem(item))
                self.subscriptions.pop(topic_filter, None)
        self.bridge.set_subscriptions(list(self.subscriptions))

    def publish(self) -> None:
        """Publish the editor's payload, once or repeated (N times, every T ms)."""
        self._repeat_left = self.repeat_count.value()
        if self._repeat_left > 1 and self.repeat_interval.value() > 0:
            self._on_repeat_tick()
            self._repeat_timer.start(self.repeat_interval.value())
            return
        for _ in range(self._repeat_left):
            if not self._publish_once():
                break

    def _on_repeat_tick(self) -> None:
        if self._repeat_left <= 0 or not self._publish_once():
            self._repeat_timer.stop()
            return
        self._repeat_left -= 1
        if self._repeat_left <= 0:
            self._repeat_timer.stop()

    def _publish_once(self, payload: bytes | None = None) -> bool:
        topic = self.topic_combo.currentText().strip()
        data = self.payload_edit.toPlainText().encode("utf-8") if payload is None else payload
        qos, retain = self.pub_qos.currentIndex(), self.retain_box.isChecked()
        props, user = self.publish_properties.properties() if self.publish_properties is not None else ({}, ())
        if not self._guard(lambda: self.session.publish(topic, data, qos, retain, props, user)):
            return False
        shown = {**props, "user_properties": list(user)} if user else props
        self.model.add_message("out", topic, data, qos, retain, shown)
        if self.topic_combo.findText(topic) < 0:
            self.topic_combo.insertItem(0, topic)  # topic history
        return True

    def _guard(self, action: object) -> bool:
        """Run a command; a WorkbenchError shows in the problem banner instead of a dialog storm."""
        try:
            action()  # type: ignore[operator]
        except WorkbenchError as exc:
            self._show_problem(exc)
            return False
        return True

    def show_problem(self, error: WorkbenchError) -> None:
        """Show an error in the console's banner (for the console's tools too)."""
        self._show_problem(error)

    def _show_problem(self, error: WorkbenchError) -> None:
        self.problem.setText(problem_html(error))
        self.problem.show()

    # --- reactions ---------------------------------------------------------------------------------------------
    def _on_session_state(self, state: SessionState, error: WorkbenchError | None) -> None:
        self.state_label.setText(state.value)
        if error is not None:
            self._show_problem(error)
        self._set_enabled_for(state)
        self.state_changed.emit(state)

    def _set_enabled_for(self, state: SessionState) -> None:
        connected = state is SessionState.CONNECTED
        self.connect_button.setEnabled(state in (SessionState.DISCONNECTED, SessionState.FAILED))
        self.disconnect_button.setEnabled(state in (SessionState.CONNECTED, SessionState.CONNECTING))
        for widget in (self.subscribe_button, self.publish_button, self.unsubscribe_button):
            widget.setEnabled(connected)

    def _on_payload_changed(self) -> None:
        text = self.payload_edit.toPlainText().strip()
        if text[:1] in ("{", "["):
            try:
                json.loads(text)
                self.payload_check.setText("✓ valid JSON")
            except ValueError as exc:
                self.payload_check.setText(f"✗ JSON: {exc}")
        else:
            self.payload_check.setText("")

    def _insert_template(self, code: str, fields: tuple[str, ...]) -> None:
        self.topic_combo.setCurrentText("s/us")
        self.payload_edit.appendPlainText(",".join([code, *(f"<{f}>" for f in fields)]))

    def _on_from_file_clicked(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Publish a file")
        if name:
            self._publish_once(Path(name).read_bytes())

    def _on_subscription_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column == 0:
            self._on_view_filter_changed()

    def muted(self) -> frozenset[str]:
        """The subscriptions whose messages are hidden."""
        return frozenset(f for f, item in self.subscriptions.items()
                         if item.checkState(0) == Qt.CheckState.Checked)

    def _on_view_filter_changed(self) -> None:
        try:
            flt = MessageFilter(self.topic_filter.text().strip(), self.search.text(), self.regex_box.isChecked(),
                                self.muted())
        except WorkbenchError as exc:
            self.counts.setText(exc.summary)
            return
        self.model.set_filter(flt)

    def _on_pause_toggled(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.model.set_paused(paused)

    def _on_counts_changed(self, shown: int, kept: int, evicted: int, pending: int) -> None:
        parts = [f"{shown:,} shown", f"{kept:,} kept"]
        if evicted:
            parts.append(f"{evicted:,} dropped (buffer full)")
        if pending:
            parts.append(f"{pending:,} new while paused")
        self.counts.setText(" · ".join(parts))
        for topic_filter, item in self.subscriptions.items():
            item.setText(2, f"{self.model.ring.per_subscription.get(topic_filter, 0):,}")

    def _on_rows_inserted(self) -> None:
        if not self.table.selectionModel().hasSelection():
            self.table.scrollToBottom()

    def _on_selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.detail.show_message(self.model.message(rows[-1].row()))

    def _on_export_clicked(self) -> None:
        name, _chosen = QFileDialog.getSaveFileName(self, "Export messages", "messages.csv",
                                                   "CSV (*.csv);;JSON Lines (*.jsonl)")
        if name:
            self.export(Path(name), selection_only=bool(self.table.selectionModel().hasSelection()))

    def export(self, path: Path, selection_only: bool = False) -> int:
        """Write the selection (or everything shown) as CSV or JSON Lines, by the file's extension."""
        if selection_only:
            messages = [self.model.message(i.row()) for i in self.table.selectionModel().selectedRows()]
        else:
            messages = self.model.visible_messages()
        data = to_json_lines(messages) if path.suffix == ".jsonl" else to_csv(messages)
        self._guard(lambda: write_atomic(path, data))
        return len(messages)
