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
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.core.profiles import (
    PROXY_SUPPORT_NOTE,
    ConnectionProfile,
    KeystoreType,
    LastWill,
    Mqtt5ConnectProperties,
    MqttVersion,
    ProfileSecrets,
    ProxyKind,
    ProxySettings,
    TlsMode,
    TlsSettings,
    TlsVersion,
    client_id_from_certificate,
    default_port,
)
from workbench.errors import WorkbenchError

from .file_field import file_field

_VERSIONS = {"3.1": MqttVersion.V31, "3.1.1": MqttVersion.V311, "5.0": MqttVersion.V5}


def _password_field() -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setPlaceholderText("kept in the OS keyring")
    return field


class ProfileEditor(QDialog):
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
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("QLabel { color: #b3261e; }")
        layout.addWidget(self.problem)
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("QLabel { color: #8a5300; }")
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
        self.password = _password_field()
        self.password.setText(secrets.mqtt_password or "")
        self.rest_url = QLineEdit(p.rest_base_url)
        self.rest_url.setPlaceholderText("https://tenant.cumulocity.com (for the token panel's 'try it')")
        form.addRow("Profile name", self.name)
        form.addRow("Broker address", self.host)
        form.addRow("Broker port", self.port)
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

    def _tls(self, t: TlsSettings, secrets: ProfileSecrets) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.tls_mode = QComboBox()
        for mode in TlsMode:
            self.tls_mode.addItem(mode.label, mode)
        self.tls_mode.setCurrentIndex(list(TlsMode).index(t.mode))
        layout.addWidget(self.tls_mode)
        self.tls_pages = QStackedWidget()
        self.tls_pages.addWidget(QLabel("No TLS: plain MQTT (port 1883)."))
        self.tls_pages.addWidget(QLabel("The broker's certificate is checked against the system's trusted CAs."))
        ca_page = QWidget()
        ca_form = QFormLayout(ca_page)
        box, self.ca_only = file_field(self, t.ca_file, "CA certificate file")
        ca_form.addRow("CA certificate file", box)
        self.tls_pages.addWidget(ca_page)
        ss_page = QWidget()
        ss = QFormLayout(ss_page)
        box, self.ca_file = file_field(self, t.ca_file, "CA file")
        ss.addRow("CA file", box)
        box, self.cert_file = file_field(self, t.client_certificate_file, "client certificate file")
        ss.addRow("Client certificate file", box)
        box, self.key_file = file_field(self, t.client_key_file, "client key file")
        ss.addRow("Client key file", box)
        self.key_password = _password_field()
        self.key_password.setText(secrets.key_password or "")
        ss.addRow("Client key password", self.key_password)
        self.pem = QCheckBox("PEM formatted")
        self.pem.setChecked(t.pem_formatted)
        ss.addRow("", self.pem)
        self.tls_pages.addWidget(ss_page)
        ks_page = QWidget()
        ks = QFormLayout(ks_page)
        box, self.keystore_file = file_field(self, t.keystore_file, "keystore file (the truststore)")
        ks.addRow("Keystore file", box)
        self.trusted_alias = QLineEdit(t.trusted_keystore_alias)
        ks.addRow("Trusted keystore alias", self.trusted_alias)
        self.trusted_password = _password_field()
        self.trusted_password.setText(secrets.trusted_keystore_password or "")
        ks.addRow("Trusted keystore password", self.trusted_password)
        box, self.client_keystore = file_field(self, t.client_keystore_file, "client keystore")
        ks.addRow("Client keystore", box)
        self.client_keystore_password = _password_field()
        self.client_keystore_password.setText(secrets.client_keystore_password or "")
        ks.addRow("Client keystore password", self.client_keystore_password)
        self.key_pair_alias = QLineEdit(t.client_key_pair_alias)
        ks.addRow("Client key-pair alias", self.key_pair_alias)
        self.key_pair_password = _password_field()
        self.key_pair_password.setText(secrets.client_key_pair_password or "")
        ks.addRow("Client key-pair password", self.key_pair_password)
        self.keystore_type = QComboBox()
        self.keystore_type.addItem("PKCS#12", KeystoreType.PKCS12)
        self.keystore_type.addItem("JKS", KeystoreType.JKS)
        self.keystore_type.setCurrentIndex(0 if t.client_keystore_type is KeystoreType.PKCS12 else 1)
        ks.addRow("Keystore type", self.keystore_type)
        self.tls_pages.addWidget(ks_page)
        layout.addWidget(self.tls_pages)
        options = QFormLayout()
        self.min_tls = QComboBox()
        self.max_tls = QComboBox()
        for combo, value in ((self.min_tls, t.min_version), (self.max_tls, t.max_version)):
            for version in TlsVersion:
                combo.addItem(f"TLS {version.value}", version)
            combo.setCurrentIndex(list(TlsVersion).index(value))
        self.sni = QLineEdit(t.sni_override)
        self.sni.setPlaceholderText("server name to send and check (empty: the broker address)")
        self.verify_hostname = QCheckBox("Verify the broker's host name")
        self.verify_hostname.setChecked(t.verify_hostname)
        self.verify_hostname.toggled.connect(self._show_warnings)
        options.addRow("Minimum version", self.min_tls)
        options.addRow("Maximum version", self.max_tls)
        options.addRow("SNI server name", self.sni)
        options.addRow("", self.verify_hostname)
        layout.addLayout(options)
        self.tls_mode.currentIndexChanged.connect(self._on_mode_changed)
        self.tls_pages.setCurrentIndex(self.tls_mode.currentIndex())
        return page

    def _will(self, will: LastWill | None) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.will_topic = QLineEdit(will.topic if will else "")
        self.will_topic.setPlaceholderText("empty: no last will (e.g. s/us)")
        self.will_qos = QComboBox()
        self.will_qos.addItems(["QoS 0", "QoS 1", "QoS 2"])
        self.will_qos.setCurrentIndex(will.qos if will else 0)
        self.will_retain = QCheckBox("Retain")
        self.will_retain.setChecked(bool(will and will.retain))
        self.will_payload = QPlainTextEdit(will.payload if will else "")
        self.will_payload.setPlaceholderText('e.g. 400,c8y_ConnectionEvent,"Device connection was lost."')
        form.addRow("Topic", self.will_topic)
        form.addRow("QoS", self.will_qos)
        form.addRow("", self.will_retain)
        form.addRow("Payload", self.will_payload)
        return page

    def _mqtt5(self, m: Mqtt5ConnectProperties) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.v5_fields: dict[str, QLineEdit] = {}
        for name, label in (("session_expiry_s", "Session expiry (s)"), ("receive_maximum", "Receive maximum"),
                            ("maximum_packet_size", "Maximum packet size"),
                            ("topic_alias_maximum", "Topic alias maximum")):
            value = getattr(m, name)
            edit = QLineEdit("" if value is None else str(value))
            edit.setPlaceholderText("not sent")
            self.v5_fields[name] = edit
            form.addRow(label, edit)
        self.user_properties = QPlainTextEdit("\n".join(f"{k}={v}" for k, v in m.user_properties))
        self.user_properties.setPlaceholderText("one key=value per line")
        form.addRow("User properties", self.user_properties)
        return page

    def _proxy(self, proxy: ProxySettings | None, secrets: ProfileSecrets) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.proxy_kind = QComboBox()
        self.proxy_kind.addItem("No proxy", None)
        for kind in ProxyKind:
            self.proxy_kind.addItem(kind.value.upper(), kind)
        if proxy is not None:
            self.proxy_kind.setCurrentIndex(list(ProxyKind).index(proxy.kind) + 1)
        self.proxy_host = QLineEdit(proxy.host if proxy else "")
        self.proxy_port = QSpinBox()
        self.proxy_port.setRange(1, 65535)
        self.proxy_port.setValue(proxy.port if proxy else 1080)
        self.proxy_user = QLineEdit(proxy.username if proxy else "")
        self.proxy_password = _password_field()
        self.proxy_password.setText(secrets.proxy_password or "")
        note = QLabel(PROXY_SUPPORT_NOTE)
        note.setWordWrap(True)
        form.addRow("Proxy", self.proxy_kind)
        form.addRow("Host", self.proxy_host)
        form.addRow("Port", self.proxy_port)
        form.addRow("User name", self.proxy_user)
        form.addRow("Password", self.proxy_password)
        form.addRow(note)
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
        try:
            profile, secrets = self._build()
            from workbench.services.profile_connect import client_certificate

            self.client_id.setText(client_id_from_certificate(client_certificate(profile, secrets)))
            self.problem.clear()
        except WorkbenchError as exc:
            self.problem.setText(f"{exc.summary}: " + "; ".join(exc.causes))

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
                          sni_override=self.sni.text().strip(), verify_hostname=self.verify_hostname.isChecked())
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
            tls=tls, mqtt5=v5, rest_base_url=self.rest_url.text().strip(), proxy=proxy)
        secrets = ProfileSecrets(mqtt_password=self.password.text() or None,
                                 key_password=self.key_password.text() or None,
                                 trusted_keystore_password=self.trusted_password.text() or None,
                                 client_keystore_password=self.client_keystore_password.text() or None,
                                 client_key_pair_password=self.key_pair_password.text() or None,
                                 proxy_password=self.proxy_password.text() or None)
        return profile, secrets

    def _on_save(self) -> None:
        try:
            self._profile, self._secrets = self._build()
        except WorkbenchError as exc:
            self.problem.setText(f"{exc.summary}: " + "; ".join(exc.causes))
            return
        self.accept()

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
