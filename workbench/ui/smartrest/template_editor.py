"""The SmartREST 2.0 template editor beside the console: create or import a collection (also the cloud's JSON export),
edit its request and response templates, publish it with `s/ut/<X-ID>` on the console's connection or over REST,
and check device lines live (what each becomes, as the local platform would store it).

The editor holds no template rules: every parse, check and REST call is in `services/smartrest_templates.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from embedded_broker import (
    TEMPLATE_MANDATORY_VALUES,
    SmartRestSyntaxError,
    TemplateCollection,
    encode_smartrest_line,
    parse_smartrest_line,
)
from workbench.core.files import write_atomic
from workbench.core.tls import server_context, trust_from_pem
from workbench.errors import InvalidInputError, WorkbenchError
from workbench.services import smartrest_templates as templates
from workbench.services.platform_http import PlatformCredentials, PlatformHttp
from workbench.ui.console.panel_api import ConsoleSession
from workbench.ui.errors import run_action, spawn
from workbench.ui.widgets.fit import ElidedLabel
from workbench.ui.widgets.problem_label import MessageLine

from .library import TemplateLibrary

REQUEST_COLUMNS = ("Msg ID", "Method", "API", "Response", "Mandatory values", "Custom values (path,type,value,…)")
RESPONSE_COLUMNS = ("Msg ID", "Base", "Condition", "Patterns")
_MONO = QFontDatabase.SystemFont.FixedFont


def _cell(text: str, tip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setToolTip(tip or text)
    return item


def _fields(text: str, what: str) -> list[str]:
    """A cell's comma-separated values as the platform cuts them (quotes for commas inside a value)."""
    if not text:
        return []
    try:
        return parse_smartrest_line(text)
    except SmartRestSyntaxError as exc:
        raise InvalidInputError(f"{what}: {exc}", ("Close the quote, or drop it.",)) from None


class LiveCheck(QWidget):
    """Paste device lines; see which template each matches and the JSON the platform stores (or its error line)."""

    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel("<b>Live check</b>")  # short: the editor stays narrow enough for a console at 1024 px
        title.setToolTip("Paste device lines as they go to s/uc/<X-ID>: each shows the template it matches and the "
                         "JSON the platform stores, or the error line it answers on s/e")
        layout.addWidget(title)
        self.lines_edit = QPlainTextEdit()
        self.lines_edit.setObjectName("live_check_lines")
        self.lines_edit.setPlaceholderText("paste device lines, e.g.\n901,,21.5\n902,Door opened,,open")
        self.lines_edit.setFont(QFontDatabase.systemFont(_MONO))
        self.lines_edit.setMaximumHeight(110)
        # small minimums (they scroll inside): the editor is a tab of the console's views, which must fit 1280x800
        self.lines_edit.setMinimumHeight(40)
        layout.addWidget(self.lines_edit)
        self.result = QPlainTextEdit()
        self.result.setObjectName("live_check_result")
        self.result.setReadOnly(True)
        self.result.setFont(QFontDatabase.systemFont(_MONO))
        self.result.setPlaceholderText("What each line becomes: the measurement, event or alarm JSON, or the s/e line")
        self.result.setMinimumHeight(40)
        layout.addWidget(self.result, 1)
        self._collection: TemplateCollection | None = None
        self.checks: list[templates.LineCheck] = []
        self.lines_edit.textChanged.connect(self.refresh)

    def set_collection(self, collection: TemplateCollection | None) -> None:
        """Check against this collection from now on (the editor's current one)."""
        self._collection = collection
        self.refresh()

    def refresh(self) -> None:
        """Check the pasted lines again."""
        text = self.lines_edit.toPlainText()
        if self._collection is None:
            self.checks = []
            self.result.setPlainText("(no valid collection yet)" if text.strip() else "")
            return
        self.checks = templates.check_lines(self._collection, text)
        out: list[str] = []
        for check in self.checks:
            out.append(check.line)
            out.append("  " + check.summary())
            if check.document is not None:
                out.extend("  " + row for row in json.dumps(check.document, indent=2).splitlines())
        self.result.setPlainText("\n".join(out))


class TemplateEditor(QWidget):
    """One collection at a time: X-ID, request and response templates, creation lines, publish, live check.

    Signals:
        collection_changed: the editor's collection (valid after an edit), or None while it is not valid.
    """

    collection_changed = Signal(object)

    def __init__(self, library: TemplateLibrary, session: ConsoleSession | None = None,
                 subscribe_to: Callable[[str], object] | None = None) -> None:
        super().__init__()
        self.setObjectName("template_editor")
        self.library = library
        self._session = session
        self._subscribe_to = subscribe_to
        self.collection: TemplateCollection | None = None
        self._syncing = False
        self._trust_pem: Path | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(self._build_top_row())
        layout.addLayout(self._build_rest_row())
        self.status = MessageLine("template_status")
        layout.addWidget(self.status)
        self.tabs = QTabWidget()
        self.requests = self._table(REQUEST_COLUMNS, "request_templates")
        self.responses = self._table(RESPONSE_COLUMNS, "response_templates")
        self.lines_edit = QPlainTextEdit()
        self.lines_edit.setObjectName("creation_lines")
        self.lines_edit.setMinimumHeight(48)
        self.lines_edit.setFont(QFontDatabase.systemFont(_MONO))
        self.lines_edit.setPlaceholderText("10,<msgId>,<method>,<api>,<response>,<values…>\n"
                                           "11,<msgId>,<base>,<condition>,<pattern>,…")
        self.tabs.addTab(self._with_buttons(self.requests, "request"), "Request templates (10)")
        self.tabs.addTab(self._with_buttons(self.responses, "response"), "Response templates (11)")
        self.tabs.addTab(self.lines_edit, "Creation lines (s/ut)")
        self.live = LiveCheck()
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.tabs)
        split.addWidget(self.live)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([720, 480])
        layout.addWidget(split, 1)
        self._lines_timer = QTimer(self)
        self._lines_timer.setSingleShot(True)
        self._lines_timer.setInterval(300)
        self._lines_timer.timeout.connect(self._on_lines_edited)
        self.lines_edit.textChanged.connect(self._on_lines_text_changed)
        self.requests.itemChanged.connect(self._on_table_edited)
        self.responses.itemChanged.connect(self._on_table_edited)
        self.xid_edit.editingFinished.connect(self._on_table_edited)
        self.set_connected(False)

    # --- building ----------------------------------------------------------------------------------------------
    def _build_top_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("X-ID"))
        self.xid_edit = QLineEdit()
        self.xid_edit.setObjectName("template_xid")
        self.xid_edit.setPlaceholderText("collection X-ID, e.g. myDevice-v1")
        self.xid_edit.setToolTip("The collection's X-ID: devices publish on s/uc/<X-ID> and receive on s/dc/<X-ID>")
        row.addWidget(self.xid_edit, 1)
        for text, tip, slot in (
                ("New", "Start an empty collection", self.new_collection),
                ("Import…", "Open the cloud's JSON export, a template fragment or 10,…/11,… creation lines",
                 self._on_import_clicked),
                ("Export…", "Save as the cloud's JSON export (.json) or as creation lines (.csv, .txt)",
                 self._on_export_clicked)):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            row.addWidget(button)
        self.publish_button = QPushButton("Publish on s/ut")
        self.publish_button.setObjectName("publish_s_ut")
        self.publish_button.setToolTip("Publish the creation lines on s/ut/<X-ID> over this console's connection; "
                                       "the answer comes on s/dt (20 created, 41 on s/e when refused)")
        self.publish_button.clicked.connect(self.publish_mqtt)
        row.addWidget(self.publish_button)
        return row

    def _build_rest_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("REST"))
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("https://<tenant>.cumulocity.com")
        self.user_edit = QLineEdit()
        self.user_edit.setPlaceholderText("t123/admin")
        self.password_edit = QLineEdit()
        self.password_edit.setPlaceholderText("password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        row.addWidget(self.url_edit, 3)
        row.addWidget(self.user_edit, 1)
        row.addWidget(self.password_edit, 1)
        local = QToolButton()
        local.setText("Local platform")
        local.setToolTip("Fill in the running local platform's URL and admin login")
        local.clicked.connect(self._on_local_clicked)
        self.push_button = QToolButton()
        self.push_button.setText("Push")
        self.push_button.setToolTip("Create the collection as a managed object (replace it when the X-ID exists)")
        self.push_button.clicked.connect(self.push_rest)
        self.pull_button = QToolButton()
        self.pull_button.setText("Pull")
        self.pull_button.setToolTip("Read the collection of this X-ID from the platform")
        self.pull_button.clicked.connect(self.pull_rest)
        for widget in (local, self.push_button, self.pull_button):
            row.addWidget(widget)
        return row

    def _table(self, columns: tuple[str, ...], name: str) -> QTableWidget:
        table = QTableWidget(0, len(columns))
        table.setObjectName(name)
        table.setHorizontalHeaderLabels(list(columns))
        header = table.horizontalHeader()
        for column in range(len(columns) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((64, 64, 104, 72, 150)[:len(columns) - 1]):
            table.setColumnWidth(column, width)
        table.verticalHeader().setVisible(False)
        table.setMinimumHeight(48)  # a header and a row at the least; it scrolls inside
        return table

    def _with_buttons(self, table: QTableWidget, kind: str) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(table, 1)
        row = QHBoxLayout()
        add = QToolButton()
        add.setText("+ Add")
        add.setToolTip(f"Add a {kind} template")
        add.clicked.connect(lambda: self.add_row(table))
        remove = QToolButton()
        remove.setText("− Remove")
        remove.setToolTip(f"Remove the selected {kind} templates")
        remove.clicked.connect(lambda: self._remove_rows(table))
        row.addWidget(add)
        row.addWidget(remove)
        hint = ElidedLabel("Values as on the creation line: comma separated, quotes around a value with a comma"
                           if kind == "request" else "Patterns: JSON paths read from the operation, comma separated")
        row.addWidget(hint, 1)
        column.addLayout(row)
        return box

    # --- state -------------------------------------------------------------------------------------------------
    def set_connected(self, connected: bool) -> None:
        """Publishing on s/ut needs the console's connection."""
        self.publish_button.setEnabled(connected and self._session is not None)

    def set_rest_target(self, url: str, user: str, password: str, trust_pem: Path | None = None) -> None:
        """Where Push and Pull go (the Local platform button fills the running one's)."""
        self.url_edit.setText(url)
        self.user_edit.setText(user)
        self.password_edit.setText(password)
        self._trust_pem = trust_pem

    def new_collection(self) -> None:
        """An empty collection under the X-ID field's name (one empty request row to start from)."""
        self._syncing = True
        try:
            self.requests.setRowCount(0)
            self.responses.setRowCount(0)
        finally:
            self._syncing = False
        self.add_row(self.requests)

    def set_collection(self, collection: TemplateCollection) -> None:
        """Show a collection in every view and make it the current one."""
        self._syncing = True
        try:
            self.xid_edit.setText(collection.xid)
            self.requests.setRowCount(0)
            for t in collection.requests.values():
                names = TEMPLATE_MANDATORY_VALUES.get((t.method, t.api), ())
                self._append(self.requests, [
                    _cell(t.msg_id), _cell(t.method), _cell(t.api), _cell("true" if t.response else "false"),
                    _cell(encode_smartrest_line([v for _n, v in t.mandatory]), "Mandatory values: " +
                          ", ".join(names) + " (empty: the device sends it)"),
                    _cell(encode_smartrest_line([x for c in t.custom for x in (c.path, c.type, c.value)]))])
            self.responses.setRowCount(0)
            for r in collection.responses:
                self._append(self.responses, [_cell(r.msg_id), _cell(r.base), _cell(r.condition),
                                              _cell(encode_smartrest_line(r.patterns))])
            self.lines_edit.setPlainText(templates.creation_text(collection))
        finally:
            self._syncing = False
        self._accept(collection)

    def _append(self, table: QTableWidget, items: list[QTableWidgetItem]) -> None:
        row = table.rowCount()
        table.insertRow(row)
        for column, item in enumerate(items):
            table.setItem(row, column, item)

    def add_row(self, table: QTableWidget) -> None:
        """A new template row, prefilled so it reads as an example."""
        example = ["", "POST", "MEASUREMENT", "false", "c8y_Custom,", "c8y_Custom.V.value,NUMBER,"] \
            if table is self.requests else ["", "", "", ""]
        example[0] = self._next_msg_id(table)
        self._syncing = True
        try:
            self._append(table, [_cell(v) for v in example])
        finally:
            self._syncing = False
        self._on_table_edited()

    def _next_msg_id(self, table: QTableWidget) -> str:
        used = [int(t) for row in range(table.rowCount()) if (item := table.item(row, 0)) and (t := item.text())
                and t.isdigit()]
        return str(max(used) + 1 if used else (900 if table is self.requests else 800))

    def _remove_rows(self, table: QTableWidget) -> None:
        for row in sorted({i.row() for i in table.selectedIndexes()}, reverse=True):
            table.removeRow(row)
        self._on_table_edited()

    def lines_from_tables(self) -> str:
        """The creation lines the two tables say (raises InvalidInputError for a cell that cannot be cut)."""
        lines = []
        for row in range(self.requests.rowCount()):
            cells = [self._text(self.requests, row, c) for c in range(len(REQUEST_COLUMNS))]
            if not any(cells):
                continue
            lines.append(encode_smartrest_line(["10", *cells[:4]]) + "".join(
                "," + encode_smartrest_line([v]) for v in
                _fields(cells[4], f"request {cells[0]}, mandatory values") +
                _fields(cells[5], f"request {cells[0]}, custom values")))
        for row in range(self.responses.rowCount()):
            cells = [self._text(self.responses, row, c) for c in range(len(RESPONSE_COLUMNS))]
            if not any(cells):
                continue
            lines.append(encode_smartrest_line(["11", *cells[:3], *_fields(cells[3], f"response {cells[0]}, "
                                                                                     "patterns")]))
        return "\n".join(lines)

    @staticmethod
    def _text(table: QTableWidget, row: int, column: int) -> str:
        item = table.item(row, column)
        return item.text().strip() if item is not None else ""

    def _parse(self, lines: str) -> TemplateCollection:
        xid = self.xid_edit.text().strip()
        if not xid:
            raise InvalidInputError("The collection has no X-ID yet", ("Type the X-ID at the top.",))
        return templates.load_collection(lines, xid, "the editor")

    def _accept(self, collection: TemplateCollection | None, problem: WorkbenchError | None = None) -> None:
        self.collection = collection
        self.live.set_collection(collection)
        if collection is not None:
            self.library.put(collection)
            self.status.setText(f"✓ {collection.xid}: {len(collection.requests)} request and "
                                f"{len(collection.responses)} response templates")
        elif problem is not None:
            self.status.show_error(problem)
        self.collection_changed.emit(collection)

    def _on_table_edited(self, *_: object) -> None:
        if self._syncing:
            return
        try:
            lines = self.lines_from_tables()
            collection = self._parse(lines)
        except WorkbenchError as exc:
            self._accept(None, exc)
            return
        self._syncing = True
        try:
            self.lines_edit.setPlainText(lines)
        finally:
            self._syncing = False
        self._accept(collection)

    def _on_lines_text_changed(self) -> None:
        if not self._syncing:
            self._lines_timer.start()

    def _on_lines_edited(self) -> None:
        self.set_lines(self.lines_edit.toPlainText())

    def set_lines(self, text: str) -> TemplateCollection | None:
        """Take the creation lines as typed: a valid set fills the tables, an invalid one says which line is wrong."""
        try:
            collection = self._parse(text)
        except WorkbenchError as exc:
            self._accept(None, exc)
            return None
        cursor = self.lines_edit.textCursor().position()
        self.set_collection(collection)
        if self.lines_edit.toPlainText() != text:
            self._syncing = True
            try:  # keep what the person typed (their quoting and order); the tables show the parsed form
                self.lines_edit.setPlainText(text)
                moved = self.lines_edit.textCursor()
                moved.setPosition(min(cursor, len(text)))
                self.lines_edit.setTextCursor(moved)
            finally:
                self._syncing = False
        return collection

    # --- files ---------------------------------------------------------------------------------------------------
    def import_file(self, path: Path) -> TemplateCollection | None:
        """Open a collection file; lines without an X-ID take the X-ID field's."""
        collection = run_action(self, lambda: templates.read_collection_file(
            path, self.xid_edit.text().strip() or None if path.suffix.lower() != ".json" else None),
            self.status.show_error)
        if collection is not None:
            self.set_collection(collection)
            self.status.setText(f"✓ imported {collection.xid} from {path.name}")
        return collection

    def export_file(self, path: Path) -> bool:
        """Save the collection: the cloud's JSON export for .json, else the creation lines."""
        collection = self.collection
        if collection is None:
            self.status.show_error("Nothing valid to export yet: fix the problem shown first.")
            return False
        text = json.dumps(templates.export_document(collection), indent=2) if path.suffix.lower() == ".json" \
            else templates.creation_text(collection)
        done = run_action(self, lambda: write_atomic(path, (text + "\n").encode()), self.status.show_error)
        if done is not None:
            self.status.setText(f"✓ saved {collection.xid} to {path}")
        return done is not None

    def _on_import_clicked(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Import a template collection", "",
                                              "Template collections (*.json *.csv *.txt);;All files (*)")
        if name:
            self.import_file(Path(name))

    def _on_export_clicked(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export the template collection",
                                              f"{self.xid_edit.text().strip() or 'templates'}.json",
                                              "Cloud JSON export (*.json);;Creation lines (*.csv)")
        if name:
            self.export_file(Path(name))

    # --- publishing ----------------------------------------------------------------------------------------------
    def publish_mqtt(self) -> bool:
        """Publish the creation lines on `s/ut/<X-ID>` (after subscribing s/dt and s/e to see the answer)."""
        collection, session = self.collection, self._session
        if collection is None or session is None:
            self.status.show_error("Nothing valid to publish yet." if session is not None else "No connection.")
            return False
        topic, payload = templates.creation_payload(collection)

        def send() -> bool:
            if self._subscribe_to is not None:
                self._subscribe_to("s/dt")
                self._subscribe_to("s/e")
            session.publish(topic, payload, 1)
            return True

        if run_action(self, send, self.status.show_error) is None:
            return False
        self.status.setText(f"✓ published {len(payload)} bytes on {topic}; the answer comes on s/dt "
                            "(an existing X-ID is refused on s/e: change it over REST)")
        return True

    def _http(self) -> PlatformHttp:
        url = self.url_edit.text().strip()
        user = self.user_edit.text().strip()
        if not url or not user:
            raise InvalidInputError("Push and Pull need a platform", ("Fill in URL and user, or click "
                                                                      "'Local platform'.",))
        tenant, _, name = user.rpartition("/")
        trust = trust_from_pem(self._trust_pem.read_bytes()) if self._trust_pem is not None else ()
        return PlatformHttp(url, PlatformCredentials(name, self.password_edit.text(), tenant or None),
                            trust=server_context(trust))

    def push_rest(self) -> None:
        """Create (or replace) the collection as a managed object over REST."""
        collection = self.collection
        if collection is None:
            self.status.show_error("Nothing valid to push yet: fix the problem shown first.")
            return
        http = run_action(self, self._http, self.status.show_error)
        if http is None:
            return

        async def work() -> templates.PushResult:
            async with http:
                return await templates.push(http, collection, replace=True)

        self.status.setText(f"pushing {collection.xid} to {http.base_url}…")
        spawn(self, work(), lambda r: self.status.setText(
            f"✓ {'created' if r.created else 'replaced'} {r.xid} as managed object {r.managed_object} on "
            f"{http.base_url}"), self.status.show_error)

    def pull_rest(self) -> None:
        """Read the collection of the X-ID field from the platform into the editor."""
        xid = self.xid_edit.text().strip()
        if not xid:
            self.status.show_error("Type the X-ID to pull.")
            return
        http = run_action(self, self._http, self.status.show_error)
        if http is None:
            return

        async def work() -> TemplateCollection:
            async with http:
                return await templates.pull(http, xid)

        def done(collection: TemplateCollection) -> None:
            self.set_collection(collection)
            self.status.setText(f"✓ pulled {xid} from {http.base_url}")

        self.status.setText(f"pulling {xid} from {http.base_url}…")
        spawn(self, work(), done, self.status.show_error)

    def _on_local_clicked(self) -> None:
        from workbench.services.local_platform import LocalPlatformProcess

        info = run_action(self, lambda: LocalPlatformProcess().running(), self.status.show_error)
        if info is None:
            self.status.show_error("No local platform is running: start it on the Local Platform page.")
            return
        self.set_rest_target(info.rest_url, "t100/admin", info.admin_password, info.server_ca)
