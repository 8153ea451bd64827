"""Saved connection profiles beside the consoles: connect, edit, duplicate, delete, import and export.

A profile that cannot connect yet (missing file, wrong keystore password) says why right here, before any
network traffic; the built-in local-platform profiles appear on first run.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.profiles import (
    ConnectionProfile,
    LocalPlatformEndpoints,
    ProfileSecrets,
    ProfileStore,
    ensure_builtin_profiles,
    import_mqttfx,
    import_mqttx,
    import_workbench_export,
)
from workbench.core.profiles.defaults import point_builtin_at_demo
from workbench.errors import WorkbenchError
from workbench.services.first_run import DemoDevice
from workbench.services.local_platform import LocalPlatformInfo
from workbench.services.profile_connect import session_settings
from workbench.ui.dialogs.problem_dialog import problem_html
from workbench.ui.dialogs.profile_editor import ProfileEditor
from workbench.ui.errors import run_action
from workbench.ui.widgets.notice_line import NoticeLine


class ProfilesPanel(QWidget):
    """The profile list and its actions.

    Signals:
        connect_requested: (SessionSettings, REST URL, profile id) of the profile to open in a console.
    """

    connect_requested = Signal(object, str, str)

    def __init__(self, store: ProfileStore | None = None) -> None:
        super().__init__()
        self.store = store or ProfileStore()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Profiles</b>"))
        self.notice = NoticeLine()  # "no keyring": one line, the full text behind its details link
        layout.addWidget(self.notice)
        self.list = QListWidget()
        self.list.setWordWrap(True)  # a long profile name wraps onto a second line instead of being cut off
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.list.itemDoubleClicked.connect(lambda _item: self.connect_selected())
        layout.addWidget(self.list, 1)
        grid = QGridLayout()
        self.buttons: dict[str, QPushButton] = {}
        actions = [("Connect", self.connect_selected), ("New…", self.new_profile), ("Edit…", self.edit_selected),
                   ("Duplicate", self.duplicate_selected), ("Delete", self.delete_selected),
                   ("Import…", self.import_file), ("Export…", self.export_selected)]
        for index, (label, slot) in enumerate(actions):
            button = QPushButton(label)
            button.clicked.connect(slot)
            self.buttons[label.rstrip("…")] = button
            grid.addWidget(button, index // 2, index % 2)
        layout.addLayout(grid)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.problem)
        self.refresh()

    # --- list ----------------------------------------------------------------------------------------------
    def refresh(self, select: str | None = None) -> None:
        """Reload from disk; unreadable files are reported, never fatal."""
        result = self.store.load_all()
        self.list.clear()
        for profile in result.profiles:
            missing = profile.missing()
            item = QListWidgetItem(profile.name + (" (incomplete)" if missing else ""))
            item.setData(Qt.ItemDataRole.UserRole, profile.id)
            item.setToolTip(f"{profile.name}\n{profile.broker_host}:{profile.broker_port} as "
                            f"{profile.client_id or '(any id)'}"
                            + (f"\nstill needs: {', '.join(missing)}" if missing else ""))
            self.list.addItem(item)
            if profile.id == select:
                self.list.setCurrentItem(item)
        if result.problems:
            self._say(result.problems[0])
        notice = self.store.secrets.take_degraded_notice()
        if notice is not None:
            self.notice.show_notice(notice)

    def selected(self) -> ConnectionProfile | None:
        """The highlighted profile."""
        item = self.list.currentItem()
        if item is None:
            return None
        return self.store.load(item.data(Qt.ItemDataRole.UserRole))

    def _say(self, error: WorkbenchError | None) -> None:
        self.problem.setText(problem_html(error) if error is not None else "")

    # --- actions -------------------------------------------------------------------------------------------
    def connect_selected(self) -> None:
        """Resolve files and keyring passwords, then ask for a console."""
        profile = self.selected()
        if profile is None:
            return
        settings = run_action(self, lambda: session_settings(profile, self.store.secrets_for(profile.id)), self._say)
        if settings is None:
            return
        self._say(None)
        self.connect_requested.emit(settings, profile.rest_base_url, profile.id)

    def new_profile(self) -> None:
        """A fresh profile for localhost, edited before it is saved."""
        self._edit(ConnectionProfile(name="New connection", broker_host="localhost"), ProfileSecrets())

    def edit_selected(self) -> None:
        """Open the editor on the highlighted profile."""
        profile = self.selected()
        if profile is not None:
            self._edit(profile, self.store.secrets_for(profile.id))

    def _edit(self, profile: ConnectionProfile, secrets: ProfileSecrets) -> ProfileEditor:
        editor = ProfileEditor(profile, secrets, self)
        editor.accepted.connect(lambda: self._save(editor))
        editor.open()
        return editor

    def _save(self, editor: ProfileEditor) -> None:
        profile, secrets = editor.result_profile(), editor.result_secrets()
        if profile is None:
            return
        if run_action(self, lambda: self.store.save(profile, secrets, replace_secrets=True) or True, self._say) is None:
            return
        self.refresh(select=profile.id)

    def duplicate_selected(self) -> None:
        """A copy with its passwords, named "… (copy)"."""
        profile = self.selected()
        if profile is not None:
            self.refresh(select=self.store.duplicate(profile.id).id)

    def delete_selected(self) -> None:
        """Remove the profile and its keyring entries."""
        profile = self.selected()
        if profile is not None:
            self.store.delete(profile.id)
            self.refresh()

    def import_file(self, path: str | None = None) -> int:
        """MQTT.fx 1.x XML, MQTTX JSON or our own export; unmapped fields are reported, not guessed."""
        path = path or QFileDialog.getOpenFileName(self, "Import connection profiles", "",
                                                   "Profiles (*.xml *.json);;All files (*)")[0]
        if not path:
            return 0
        try:
            data = Path(path).read_bytes()
            if path.lower().endswith(".xml"):
                result = import_mqttfx(data, Path(path).name)
            else:
                try:
                    result = import_workbench_export(data, Path(path).name)
                except WorkbenchError:
                    result = import_mqttx(data, Path(path).name)
            saved = self.store.save_imported(result)
        except (OSError, WorkbenchError) as exc:
            self._say(exc if isinstance(exc, WorkbenchError) else WorkbenchError(f"Cannot read {path}", (str(exc),)))
            return 0
        self.refresh(select=saved[0].id if saved else None)
        unmapped = [f"{item.profile.name}: {', '.join(name for name, _value in item.report.unmapped_fields)}"
                    for item in result.items if item.report.unmapped_fields]
        self.problem.setText(f"Imported {len(saved)} profile(s)." + (
            "<br>Not mapped (set them by hand): " + "<br>".join(unmapped) if unmapped else ""))
        return len(saved)

    def export_selected(self, path: str | None = None) -> None:
        """Our own JSON, without passwords (they stay in the keyring)."""
        profile = self.selected()
        if profile is None:
            return
        path = path or QFileDialog.getSaveFileName(self, "Export profile", f"{profile.name}.json",
                                                   "JSON (*.json)")[0]
        if path:
            result = self.store.export([profile.id], Path(path))
            self.problem.setText(result.notice)

    # --- first run -----------------------------------------------------------------------------------------
    def add_local_platform(self, info: LocalPlatformInfo) -> list[ConnectionProfile]:
        """Create the built-in "Local platform (certificate device)" and "Local sandbox" profiles once."""
        endpoints = LocalPlatformEndpoints(mqtts_port=info.ports["mqtts"], sandbox_port=info.ports.get("sandbox", 0),
                                           host="localhost", rest_base_url=info.rest_url)
        created = ensure_builtin_profiles(self.store, endpoints)
        if created:
            self.refresh()
        return created

    def add_demo_device(self, demo: DemoDevice) -> None:
        """Point the built-in certificate-device profile at the demo device (a user's own edits are kept): the same
        rule `workbench mqtt --profile` applies (`core/profiles/defaults.point_builtin_at_demo`, its one home)."""
        point_builtin_at_demo(self.store, demo.endpoints, demo.keystore_password)
        self.refresh()
