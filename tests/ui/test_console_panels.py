"""Each console panel works on its own, given a session and a PanelContext (no console, no broker), and the
console package has no import circle: the panels never import the console that composes them."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

import workbench.ui.console as console_package
from workbench.core.console.saved_messages import SavedMessage
from workbench.errors import WorkbenchError
from workbench.services.mqtt_session import SessionSettings, SessionState
from workbench.ui.console.panel_api import PanelContext
from workbench.ui.console.publish_panel import PublishPanel
from workbench.ui.console.status_panels import SysPanel
from workbench.ui.console.subscribe_panel import SubscribePanel
from workbench.ui.console.token_panel import TokenPanel


class StubSession:
    """Records what a panel sends; fails every command with a WorkbenchError while `refuse` is set."""

    def __init__(self, state: SessionState = SessionState.CONNECTED) -> None:
        self.state = state
        self.refuse = False
        self.sent: list[tuple[Any, ...]] = []

    def _record(self, *call: Any) -> int:
        if self.refuse:
            raise WorkbenchError("Cannot do that", ("stub refused",))
        self.sent.append(call)
        return len(self.sent)

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False,
                properties: dict[str, Any] | None = None, user_properties: tuple[tuple[str, str], ...] = ()) -> int:
        return self._record("publish", topic, payload, qos, retain, properties or {}, user_properties)

    def subscribe(self, topic_filter: str, qos: int = 0, *, no_local: bool = False,
                  retain_as_published: bool = False, retain_handling: int = 0) -> int:
        return self._record("subscribe", topic_filter, qos, no_local, retain_as_published, retain_handling)

    def unsubscribe(self, topic_filter: str) -> None:
        self._record("unsubscribe", topic_filter)


def _context(problems: list[WorkbenchError], protocol: int = 5) -> PanelContext:
    return PanelContext(SessionSettings("127.0.0.1", 1883, "stub", protocol=protocol), problems.append)


def test_publish_panel_alone_sends_reports_and_keeps_saved_messages(qtbot: QtBot, tmp_path: Path) -> None:
    session, problems = StubSession(), []
    panel = PublishPanel(session, _context(problems), "profile-alone", saved_folder=tmp_path)
    qtbot.addWidget(panel)
    published: list[tuple[Any, ...]] = []
    panel.published.connect(lambda *args: published.append(args))
    panel.topic_combo.setCurrentText("t/1")
    panel.payload_edit.setPlainText('{"v": 1}')
    assert panel.payload_check.text() == "✓ valid JSON"
    assert panel.publish_properties is not None
    panel.publish_properties.user_properties.setText("site=lab")
    panel.repeat_count.setValue(2)
    panel.publish()
    assert session.sent == [("publish", "t/1", b'{"v": 1}', 0, False, {}, (("site", "lab"),))] * 2
    assert published[0] == ("t/1", b'{"v": 1}', 0, False, {"user_properties": [("site", "lab")]})
    assert len(published) == 2 and panel.topic_combo.findText("t/1") >= 0 and not problems
    session.refuse = True
    panel.publish()
    assert len(published) == 2 and problems[-1].summary == "Cannot do that"
    assert panel.saved_button.save_current("greeting") == SavedMessage("greeting", "t/1", '{"v": 1}', 0, False)
    panel.payload_edit.setPlainText("")
    panel.saved_button.load_message(panel.saved_button.store.load()[0])
    assert panel.payload_edit.toPlainText() == '{"v": 1}'
    panel.set_connected(False)
    assert not panel.publish_button.isEnabled()


def test_subscribe_panel_alone_subscribes_mutes_counts_and_unsubscribes(qtbot: QtBot) -> None:
    session, problems = StubSession(), []
    panel = SubscribePanel(session, _context(problems))
    qtbot.addWidget(panel)
    changed: list[list[str]] = []
    panel.subscriptions_changed.connect(lambda: changed.append(panel.filters()))
    panel.filter_edit.setText("a/#")
    panel.no_local.setChecked(True)
    panel.subscribe()
    panel.subscribe_to("s/dat")
    panel.subscribe_to("s/dat")  # once only
    assert session.sent == [("subscribe", "a/#", 0, True, False, 0), ("subscribe", "s/dat", 0, True, False, 0)]
    assert changed == [["a/#"], ["a/#", "s/dat"]]
    assert panel.colours()["a/#"] != panel.colours()["s/dat"]
    with qtbot.waitSignal(panel.muted_changed, timeout=1000):
        panel.subscriptions["a/#"].setCheckState(0, Qt.CheckState.Checked)
    assert panel.muted() == frozenset({"a/#"})
    panel.show_counts({"a/#": 1234})
    assert panel.subscriptions["a/#"].text(2) == "1,234" and panel.subscriptions["s/dat"].text(2) == "0"
    panel.subscriptions["a/#"].setSelected(True)
    panel.unsubscribe_button.click()
    assert panel.filters() == ["s/dat"] and session.sent[-1] == ("unsubscribe", "a/#")
    session.refuse = True
    panel.filter_edit.setText("b/#")
    panel.subscribe()
    assert panel.filters() == ["s/dat"] and problems[-1].causes == ("stub refused",)


def test_token_and_sys_panels_alone(qtbot: QtBot) -> None:
    session, problems, asked = StubSession(SessionState.DISCONNECTED), [], []
    token = TokenPanel(session, _context(problems, protocol=4), asked.append, "https://localhost:1")
    qtbot.addWidget(token)
    token.request()
    assert token.countdown.text() == "connect first" and not asked and not session.sent
    session.state = SessionState.CONNECTED
    token.request()
    assert asked == ["s/dat"] and session.sent == [("publish", "s/uat", b"", 0, False, {}, ())]
    token.on_token_line("71,not-a-jwt")
    assert token.token is None and token.claims.toPlainText()  # explained, not trusted
    sys_panel = SysPanel(session)
    qtbot.addWidget(sys_panel)
    sys_panel.watch()
    assert session.sent[-1] == ("subscribe", "$SYS/#", 0, False, False, 0)
    sys_panel.on_sys_message("$SYS/broker/version", "stub 1.0")
    assert sys_panel.value("$SYS/broker/version") == "stub 1.0"


def test_console_package_has_no_import_circle() -> None:
    folder = Path(console_package.__file__).parent
    imports: dict[str, set[str]] = {}
    for path in folder.glob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):  # TYPE_CHECKING imports count too
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                names.add(node.module.split(".")[0])
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("workbench.ui.console."):
                names.add((node.module or "").rsplit(".", 1)[1])
        imports[path.stem] = names
    assert not any("console_widget" in names for stem, names in imports.items() if stem != "console_widget")
    done: set[str] = set()

    def visit(stem: str, path: tuple[str, ...]) -> None:
        assert stem not in path, f"import circle: {' -> '.join((*path, stem))}"
        if stem not in done:
            for imported in imports.get(stem, ()):
                visit(imported, (*path, stem))
            done.add(stem)

    for stem in imports:
        visit(stem, ())
