"""The connection profile editor: every MQTT.fx field, the TLS modes by their MQTT.fx names, and MQTT 5.

Passwords are typed here and go to the keyring through the profile store, never into the profile's JSON.
Validation is the profile model's own: an invalid value is shown under the form in its words.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.core.profiles import (
    ConnectionProfile,
    LastWill,
    Mqtt5ConnectProperties,
    MqttVersion,
    ProfileSecrets,
    ProxySettings,
    TlsMode,
    TlsSettings,
    Transport,
    client_id_from_certificate,
    default_port,
)
from workbench.errors import WorkbenchError
from workbench.ui.errors import run_action
from workbench.ui.widgets.problem_label import ProblemLabel

from .profile_editor_tabs import EditorTabs, password_field

_VERSIONS = {"3.1": MqttVersion.V31, "3.1.1": MqttVersion.V311, "5.0": MqttVersion.V5}


class ProfileEditor(EditorTabs, QDialog):
    """Edit one profile; `result_profile()` and `result_secrets()` after `exec()` returns Accepted."""

    def __init__(self, profile: ConnectionProfile, secrets: ProfileSecrets, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Connection profile: {profile.name}")
        self.original = profile
        self._profile: ConnectionProfile | None = None
        self._secrets: ProfileSecrets | None = None
        layout = QVBoxLayout(self)
        tabs = QTabWidget()
        tabs.addTab(self._general(profile, secrets), "General")
        tabs.addTab(self._tls(profile.tls, secrets), "TLS")
        tabs.addTab(self._will(profile.last_will), "Last will")
        tabs.addTab(self._mqtt5(profile.mqtt5), "MQTT 5")
        tabs.addTab(self._proxy(profile.proxy, secrets), "Proxy")
        layout.addWidget(tabs)
        self.problem = ProblemLabel("profile_problem")  # the shared problem look of every page
        layout.addWidget(self.problem)
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.warnings.setProperty("status", "warn")  # the theme's warning colour, light or dark
        layout.addWidget(self.warnings)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._show_warnings()

    # --- tabs ----------------------------------------------------------------------------------------------
    def _general(self, p: ConnectionProfile, secrets: ProfileSecrets) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.name = QLineEdit(p.name)
        self.host = QLineEdit(p.broker_host)
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(p.broker_port)
        self.client_id = QLineEdit(p.client_id)
        cn_button = QPushButton("Use certificate CN")
        cn_button.setToolTip("Set the client id to d:<CN> of the client certificate (the platform requires it)")
        cn_button.clicked.connect(self._use_certificate_cn)
        row = QHBoxLayout()
        row.addWidget(self.client_id, 1)
        row.addWidget(cn_button)
        self.version = QComboBox()
        self.version.addItems(list(_VERSIONS))
        self.version.setCurrentText(next(k for k, v in _VERSIONS.items() if v is p.mqtt_version))
        self.timeout = QSpinBox()
        self.timeout.setRange(1, 3600)
        self.timeout.setValue(p.connect_timeout_s)
        self.keepalive = QSpinBox()
        self.keepalive.setRange(0, 65535)
        self.keepalive.setValue(p.keep_alive_s)
        self.clean = QCheckBox("Clean session")
        self.clean.setChecked(p.clean_session)
        self.reconnect = QCheckBox("Auto reconnect")
        self.reconnect.setChecked(p.auto_reconnect)
        self.inflight = QSpinBox()
        self.inflight.setRange(1, 65535)
        self.inflight.setValue(p.max_inflight)
        self.username = QLineEdit(p.username)
        self.password = password_field()
        self.password.setText(secrets.mqtt_password or "")
        self.transport = QComboBox()
        self.transport.addItem("TCP (mqtt:// or mqtts://)", Transport.TCP)
        self.transport.addItem("WebSocket (ws:// or wss://)", Transport.WEBSOCKETS)
        self.transport.setCurrentIndex(list(Transport).index(p.transport))
        self.websocket_path = QLineEdit(p.websocket_path)
        self.websocket_path.setToolTip("The broker's MQTT WebSocket path (mosquitto, EMQX, HiveMQ, AWS IoT: /mqtt)")
        self.websocket_path.setEnabled(p.transport is Transport.WEBSOCKETS)
        self.transport.currentIndexChanged.connect(
            lambda _i: self.websocket_path.setEnabled(self.transport.currentData() is Transport.WEBSOCKETS))
        self.rest_url = QLineEdit(p.rest_base_url)
        self.rest_url.setPlaceholderText("https://tenant.cumulocity.com (for the token panel's 'try it')")
        form.addRow("Profile name", self.name)
        form.addRow("Broker address", self.host)
        form.addRow("Broker port", self.port)
        form.addRow("Transport", self.transport)
        form.addRow("WebSocket path", self.websocket_path)
        form.addRow("Client id", row)
        form.addRow("MQTT version", self.version)
        form.addRow("Connect timeout (s)", self.timeout)
        form.addRow("Keep alive (s)", self.keepalive)
        form.addRow("", self.clean)
        form.addRow("", self.reconnect)
        form.addRow("Max in-flight", self.inflight)
        form.addRow("User name", self.username)
        form.addRow("Password", self.password)
        form.addRow("REST URL", self.rest_url)
        return page

    # --- behaviour -----------------------------------------------------------------------------------------
    def _on_mode_changed(self, index: int) -> None:
        self.tls_pages.setCurrentIndex(index)
        mode = self.tls_mode.currentData()
        if self.port.value() in (1883, 8883):
            self.port.setValue(default_port(mode is not TlsMode.NONE))
        self._show_warnings()

    def _use_certificate_cn(self) -> None:
        """Read the client certificate (PEM file, or the key entry of the client keystore) and set d:<CN>."""
        from workbench.services.profile_connect import client_certificate

        def use() -> bool:
            profile, secrets = self._build()
            self.client_id.setText(client_id_from_certificate(client_certificate(profile, secrets)))
            self.problem.clear_error()
            return True

        run_action(self, use, self._show_problem)

    def _show_warnings(self) -> None:
        try:
            profile, _secrets = self._build()
        except WorkbenchError:
            return
        found = profile.warnings()
        self.warnings.setText("\n".join(f"⚠ {w}" for w in found))

    def _build(self) -> tuple[ConnectionProfile, ProfileSecrets]:
        mode = self.tls_mode.currentData()
        ca = self.ca_only.text() if mode is TlsMode.CA_FILE else self.ca_file.text()
        kind = self.keystore_type.currentData()
        tls = TlsSettings(mode=mode, ca_file=ca.strip(), client_certificate_file=self.cert_file.text().strip(),
                          client_key_file=self.key_file.text().strip(), pem_formatted=self.pem.isChecked(),
                          keystore_file=self.keystore_file.text().strip(),
                          trusted_keystore_alias=self.trusted_alias.text().strip(), trusted_keystore_type=kind,
                          client_keystore_file=self.client_keystore.text().strip(),
                          client_key_pair_alias=self.key_pair_alias.text().strip(), client_keystore_type=kind,
                          min_version=self.min_tls.currentData(), max_version=self.max_tls.currentData(),
                          sni_override=self.sni.text().strip(), verify_hostname=self.verify_hostname.isChecked(),
                          alpn_protocols=tuple(n.strip() for n in self.alpn.text().split(",") if n.strip()),
                          skip_server_verification=self.skip_verification.isChecked())
        will = None
        if self.will_topic.text().strip():
            will = LastWill(self.will_topic.text().strip(), self.will_payload.toPlainText(),
                            self.will_qos.currentIndex(), self.will_retain.isChecked())
        v5 = Mqtt5ConnectProperties(**{name: _int_or_none(edit.text(), name) for name, edit in self.v5_fields.items()},
                                    user_properties=_pairs(self.user_properties.toPlainText()))
        kind = self.proxy_kind.currentData()
        proxy = ProxySettings(kind, self.proxy_host.text().strip(), self.proxy_port.value(),
                              self.proxy_user.text().strip()) if kind is not None else None
        profile = self.original.with_changes(
            name=self.name.text().strip(), broker_host=self.host.text().strip(), broker_port=self.port.value(),
            client_id=self.client_id.text().strip(), mqtt_version=_VERSIONS[self.version.currentText()],
            connect_timeout_s=self.timeout.value(), keep_alive_s=self.keepalive.value(),
            clean_session=self.clean.isChecked(), auto_reconnect=self.reconnect.isChecked(),
            max_inflight=self.inflight.value(), username=self.username.text().strip(), last_will=will,
            tls=tls, mqtt5=v5, rest_base_url=self.rest_url.text().strip(), proxy=proxy,
            transport=self.transport.currentData(), websocket_path=self.websocket_path.text().strip())
        secrets = ProfileSecrets(mqtt_password=self.password.text() or None,
                                 key_password=self.key_password.text() or None,
                                 trusted_keystore_password=self.trusted_password.text() or None,
                                 client_keystore_password=self.client_keystore_password.text() or None,
                                 client_key_pair_password=self.key_pair_password.text() or None,
                                 proxy_password=self.proxy_password.text() or None)
        return profile, secrets

    def _on_save(self) -> None:
        built = run_action(self, self._build, self._show_problem)
        if built is None:
            return
        self._profile, self._secrets = built
        self.accept()

    def _show_problem(self, exc: WorkbenchError) -> None:
        self.problem.show_error(exc)

    def result_profile(self) -> ConnectionProfile | None:
        """The edited profile (after Save)."""
        return self._profile

    def result_secrets(self) -> ProfileSecrets | None:
        """The typed passwords (after Save), for the keyring."""
        return self._secrets


def _int_or_none(text: str, what: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        from workbench.errors import ProfileError

        raise ProfileError(f"{what.replace('_', ' ')} must be a whole number, not {text!r}", ()) from None


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for line in text.splitlines():
        if line.strip():
            key, _, value = line.partition("=")
            pairs.append((key.strip(), value.strip()))
    return tuple(pairs)
