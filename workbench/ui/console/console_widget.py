"""One connection's console: connect, subscribe, publish, and watch messages without the GUI ever blocking.

The console owns the session, its bridge and the message table, and composes the panels of this package: each panel
gets the session and a PanelContext (never the console), and the console wires their signals together.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget

from workbench.core.console.messages import MessageRing
from workbench.errors import WorkbenchError
from workbench.services.mqtt_session import MqttSession, SessionSettings, SessionState
from workbench.services.smartrest_templates import decode_lines
from workbench.ui.models.message_table import MessageTableModel
from workbench.ui.smartrest.library import TemplateLibrary
from workbench.ui.smartrest.template_editor import TemplateEditor
from workbench.ui.widgets.fit import ElidedLabel
from workbench.ui.widgets.problem_label import ProblemLabel

from .charts import ChartPanel
from .message_view import MessageView
from .panel_api import PanelContext
from .publish_panel import PublishPanel
from .session_bridge import SessionBridge
from .status_panels import HandshakePanel, SysPanel
from .subscribe_panel import SubscribePanel
from .token_panel import TokenPanel
from .topics_tab import TopicsTab


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
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_connection_bar())
        self.problem = ProblemLabel("console_problem")
        layout.addWidget(self.problem)
        context = PanelContext(settings, self.show_problem)
        self.subscribe_panel = SubscribePanel(self.session, context, profile_id)
        # the SmartREST 2.0 collections this console knows: edited beside it, offered by the publish helper,
        # decoding s/uc and s/dc lines in the detail pane
        self.templates = TemplateLibrary(self)
        self.publish_panel = PublishPanel(self.session, context, profile_id, templates=self.templates)
        self.message_view = MessageView(self.model, self.show_problem, self.subscribe_panel.muted)
        self.message_view.detail.line_decoder = lambda topic, text: decode_lines(self.templates.collections(),
                                                                                 topic, text)
        self.template_editor = TemplateEditor(self.templates, self.session, self.subscribe_panel.subscribe_to)
        self.tools = QTabWidget()
        self.token_panel: TokenPanel | None = None
        self.handshake_panel: HandshakePanel | None = None
        if settings.tls is not None:  # certificate connections to a platform get the device token panel
            self.token_panel = TokenPanel(self.session, context, self.subscribe_panel.subscribe_to, rest_url)
            self.tools.addTab(self.token_panel, "Device token")
            self.handshake_panel = HandshakePanel(settings)
            self.tools.addTab(self.handshake_panel, "TLS handshake")
        self.sys_panel = SysPanel(self.session)
        self.tools.addTab(self.sys_panel, "Broker status ($SYS)")
        self.tools.setMaximumHeight(300)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.subscribe_panel)
        top.addWidget(self.publish_panel)
        top.setSizes([380, 620])
        main = QSplitter(Qt.Orientation.Vertical)
        main.addWidget(self.tools)
        main.addWidget(top)
        self.topics = TopicsTab(self.session, context, profile_id, hold=self.model.feed.held)
        self.charts = ChartPanel(self.topics.decoder_for, self.show_problem)
        self.message_view.detail.payload_decoder = self.topics.decoder_for  # the filter's decoder: "Decoded" view
        self.views = QTabWidget()  # the messages, the topic tree and the charts share the console's main area
        self.views.setObjectName("console_views")
        self.views.addTab(self.message_view, "Messages")
        self.views.addTab(self.topics, "Topics")
        self.views.addTab(self.charts, "Charts")
        self.views.addTab(self.template_editor, "SmartREST templates")
        main.addWidget(self.views)
        main.setSizes([200, 260, 520])
        layout.addWidget(main, 1)
        self._wire()
        self._set_enabled_for(SessionState.DISCONNECTED)
        self._shortcut("Ctrl+Shift+C", self.connect_session)
        self._shortcut("Ctrl+Shift+D", self.disconnect_session)
        self._shortcut("Ctrl+Return", self.publish_panel.publish)
        self._shortcut("Ctrl+L", self.model.clear)
        self._shortcut("Ctrl+F", self.message_view.search.setFocus)

    # --- building ------------------------------------------------------------------------------------------
    def _wire(self) -> None:
        """The panels' signals: what one panel does that another (or the table) must learn."""
        subscribe = self.subscribe_panel
        subscribe.subscriptions_changed.connect(self._on_subscriptions_changed)
        subscribe.muted_changed.connect(self.message_view.refilter)
        subscribe.subscriptions_changed.connect(lambda: self.topics.set_filters(subscribe.filters()))
        subscribe.decoder_chosen.connect(self.topics.choose_decoder)  # applied and remembered in the profile there
        self.topics.decoders_changed.connect(lambda: subscribe.show_decoders(self.topics.decoders.choices))
        subscribe.show_decoders(self.topics.decoders.choices)
        self.model.feed.batch.connect(self.topics.on_batch)  # the table's batched delivery, one call per tick
        self.model.feed.batch.connect(self.charts.on_batch)
        self.publish_panel.published.connect(
            lambda topic, data, qos, retain, shown: self.model.add_message("out", topic, data, qos, retain, shown))
        self.model.counts_changed.connect(lambda *_: subscribe.show_counts(self.model.ring.per_subscription))
        if self.token_panel is not None:
            self.bridge.token_line.connect(self.token_panel.on_token_line)
        self.bridge.sys_message.connect(self.sys_panel.on_sys_message)

    def _shortcut(self, keys: str, slot: Callable[[], object]) -> None:
        shortcut = QShortcut(QKeySequence(keys), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(slot)

    def _build_connection_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        s = self.settings
        tls = "mutual TLS" if s.tls is not None else "plain TCP"
        version = {3: "3.1", 4: "3.1.1", 5: "5.0"}[s.protocol]
        # one line each, eliding with the full text as tooltip: a long host or client id never widens the page,
        # and the bar's height never depends on its width (the console's splitters cannot follow that)
        summary = ElidedLabel(f"{s.broker} as {s.client_id} · MQTT {version} · {tls}")
        summary.setObjectName("console_summary")
        about = QVBoxLayout()  # the summary, and under it any warning: the row stays as narrow as the summary
        about.setSpacing(0)
        about.addWidget(summary)
        if s.tls is not None and s.tls.verify_mode == ssl.CERT_NONE:  # the profile's "skip server verification"
            self.insecure_label = ElidedLabel("⚠ Server certificate NOT verified")
            self.insecure_label.setObjectName("insecure_tls_warning")
            self.insecure_label.setStyleSheet("QLabel { font-weight: bold; }")
            self.insecure_label.setProperty("status", "error")  # the theme's error colour, light or dark
            self.insecure_label.setToolTip("This profile skips server certificate verification: any server can pose "
                                           "as the broker. Turn it off in the profile's TLS tab.")
            about.addWidget(self.insecure_label)
        bar.addLayout(about, 10)  # most of the row: one line each on a wide window
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

    # --- commands ------------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop the session and its network thread before the widget goes away (no callbacks into dead Qt objects)."""
        self.publish_panel.stop_repeat()
        self.bridge.detach()
        self.model.feed.stop()
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
        self.problem.clear_error()
        self.session.connect()

    def disconnect_session(self) -> None:
        """Disconnect cleanly (the broker drops the will)."""
        self.publish_panel.stop_repeat()
        if self.session.state in (SessionState.CONNECTED, SessionState.CONNECTING):
            self.session.disconnect()

    def show_problem(self, error: WorkbenchError) -> None:
        """Show an error in the console's banner (the panels get this as their problem callback)."""
        self.problem.show_error(error)

    # --- reactions ---------------------------------------------------------------------------------------------
    def _on_session_state(self, state: SessionState, error: WorkbenchError | None) -> None:
        self.state_label.setText(state.value)
        if error is not None:
            self.show_problem(error)
        self._set_enabled_for(state)
        self.state_changed.emit(state)

    def _set_enabled_for(self, state: SessionState) -> None:
        connected = state is SessionState.CONNECTED
        self.connect_button.setEnabled(state in (SessionState.DISCONNECTED, SessionState.FAILED))
        self.disconnect_button.setEnabled(state in (SessionState.CONNECTED, SessionState.CONNECTING))
        self.subscribe_panel.set_connected(connected)
        self.publish_panel.set_connected(connected)
        self.template_editor.set_connected(connected)

    def _on_subscriptions_changed(self) -> None:
        self.model.colours.update(self.subscribe_panel.colours())
        self.bridge.set_subscriptions(self.subscribe_panel.filters())
