"""The profile editor's TLS, last-will, MQTT 5 and proxy tabs: the MQTT.fx TLS modes with their own fields, the
will message, the connect properties, and the proxy; a mixin so the editor module stays about the dialog."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.core.profiles import (
    PROXY_SUPPORT_NOTE,
    KeystoreType,
    LastWill,
    Mqtt5ConnectProperties,
    ProfileSecrets,
    ProxyKind,
    ProxySettings,
    TlsMode,
    TlsSettings,
    TlsVersion,
)
from workbench.core.profiles.secrets import SecretStore

from .file_field import file_field


def password_field() -> QLineEdit:
    """A masked field whose value goes to the secret store (keyring, vault or this session's memory)."""
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setPlaceholderText(SecretStore().kept)
    return field


class EditorTabs:
    """Tab builders of ProfileEditor (a QDialog); they create the widgets the editor reads back in `_build`."""

    if TYPE_CHECKING:  # what ProfileEditor provides, declared for the type checker
        def _on_mode_changed(self, index: int) -> None: ...

        def _show_warnings(self) -> None: ...

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
        box, self.ca_only = file_field(cast(QWidget, self), t.ca_file, "CA certificate file")
        ca_form.addRow("CA certificate file", box)
        self.tls_pages.addWidget(ca_page)
        ss_page = QWidget()
        ss = QFormLayout(ss_page)
        box, self.ca_file = file_field(cast(QWidget, self), t.ca_file, "CA file")
        ss.addRow("CA file", box)
        box, self.cert_file = file_field(cast(QWidget, self), t.client_certificate_file, "client certificate file")
        ss.addRow("Client certificate file", box)
        box, self.key_file = file_field(cast(QWidget, self), t.client_key_file, "client key file")
        ss.addRow("Client key file", box)
        self.key_password = password_field()
        self.key_password.setText(secrets.key_password or "")
        ss.addRow("Client key password", self.key_password)
        self.pem = QCheckBox("PEM formatted")
        self.pem.setChecked(t.pem_formatted)
        ss.addRow("", self.pem)
        self.tls_pages.addWidget(ss_page)
        ks_page = QWidget()
        ks = QFormLayout(ks_page)
        box, self.keystore_file = file_field(cast(QWidget, self), t.keystore_file, "keystore file (the truststore)")
        ks.addRow("Keystore file", box)
        self.trusted_alias = QLineEdit(t.trusted_keystore_alias)
        ks.addRow("Trusted keystore alias", self.trusted_alias)
        self.trusted_password = password_field()
        self.trusted_password.setText(secrets.trusted_keystore_password or "")
        ks.addRow("Trusted keystore password", self.trusted_password)
        box, self.client_keystore = file_field(cast(QWidget, self), t.client_keystore_file, "client keystore")
        ks.addRow("Client keystore", box)
        self.client_keystore_password = password_field()
        self.client_keystore_password.setText(secrets.client_keystore_password or "")
        ks.addRow("Client keystore password", self.client_keystore_password)
        self.key_pair_alias = QLineEdit(t.client_key_pair_alias)
        ks.addRow("Client key-pair alias", self.key_pair_alias)
        self.key_pair_password = password_field()
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
        self.alpn = QLineEdit(", ".join(t.alpn_protocols))
        self.alpn.setPlaceholderText("e.g. x-amzn-mqtt-ca (AWS IoT, port 443); empty: none offered")
        self.alpn.setToolTip("ALPN protocols offered in the TLS handshake, comma separated")
        self.skip_verification = QCheckBox("Skip server certificate verification (broken test brokers only)")
        self.skip_verification.setToolTip("Accepts ANY server certificate: anyone on the path can pose as the broker "
                                          "and read everything, passwords included. Never on by default.")
        self.skip_verification.setChecked(t.skip_server_verification)
        self.skip_verification.toggled.connect(self._show_warnings)
        options.addRow("SNI server name", self.sni)
        options.addRow("", self.verify_hostname)
        options.addRow("ALPN protocols", self.alpn)
        options.addRow("", self.skip_verification)
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
        self.proxy_password = password_field()
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
