"""Which platform a page talks to: the local platform, or a real tenant by URL and login with the password kept
in the keyring, so the PoP and onboarding pages work unchanged against either."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLineEdit, QWidget

from workbench.core.profiles.model import SecretName
from workbench.core.profiles.secrets import SecretStore
from workbench.core.tls import server_context, trust_from_pem
from workbench.errors import InvalidInputError, WorkbenchError
from workbench.services.local_platform import LocalPlatformInfo
from workbench.services.platform_http import PlatformCredentials, PlatformHttp, tenant_secret_id

LOCAL, TENANT = 0, 1


class PlatformTarget(QWidget):
    """A "Platform" row, plus URL, user and password rows shown only for a tenant."""

    changed = Signal()

    def __init__(self, secrets: SecretStore | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.secrets = secrets or SecretStore()
        self.local: LocalPlatformInfo | None = None
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.kind = QComboBox()
        self.kind.addItems(["Local platform", "A tenant"])
        self.kind.setToolTip("The bundled local platform, or your Cumulocity tenant")
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://mytenant.cumulocity.com")
        self.user = QLineEdit()
        self.user.setPlaceholderText("t123/admin (tenant id / user)")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("remembered once it worked")
        self.server_ca = QLineEdit()
        self.server_ca.setPlaceholderText("optional: the server's CA (PEM), for an on-premises installation")
        self.keep = QCheckBox(f"Keep the password ({self.secrets.kept})")
        self.keep.setChecked(True)
        form.addRow("Platform", self.kind)
        for label, widget in (("Tenant URL", self.url), ("User", self.user), ("Password", self.password),
                              ("Server CA", self.server_ca), ("", self.keep)):
            form.addRow(label, widget)
        self._form = form
        self.kind.currentIndexChanged.connect(self._on_kind)
        self.user.editingFinished.connect(self._fill_password)
        self.url.editingFinished.connect(self._fill_password)
        self._on_kind()

    def _on_kind(self) -> None:
        tenant = self.kind.currentIndex() == TENANT
        for widget in (self.url, self.user, self.password, self.server_ca, self.keep):
            self._form.setRowVisible(widget, tenant)
        self.changed.emit()

    def _fill_password(self) -> None:
        if self.url.text().strip() and self.user.text().strip() and not self.password.text():
            stored = self.secrets.get(self._slot(), SecretName.PLATFORM_PASSWORD)
            if stored:
                self.password.setText(stored)

    def _slot(self) -> str:
        return tenant_secret_id(self.url.text().strip().rstrip("/"), self.user.text().strip())

    def set_local_platform(self, info: LocalPlatformInfo) -> None:
        """The local platform is running (or moved ports)."""
        self.local = info
        self.changed.emit()

    def is_local(self) -> bool:
        """True when the local platform is the target."""
        return self.kind.currentIndex() == LOCAL

    def ready(self) -> bool:
        """There is something to talk to."""
        return self.local is not None if self.is_local() else bool(self.url.text().strip() and self.user.text())

    def describe(self) -> str:
        """For buttons and messages: 'the local platform' or the tenant's URL."""
        return "the local platform" if self.is_local() else self.url.text().strip() or "the tenant"

    def rest_url(self) -> str:
        """The REST base URL ('' while unknown)."""
        if self.is_local():
            return self.local.rest_url if self.local is not None else ""
        return self.url.text().strip().rstrip("/")

    def mqtt_endpoint(self) -> tuple[str, int]:
        """Where devices connect over mutual TLS: the local platform's MQTTS port, or the tenant's host on 8883."""
        if self.is_local():
            return "localhost", self.local.ports["mqtts"] if self.local is not None else 0
        return self.rest_url().split("://", 1)[-1].split("/")[0].split(":")[0], 8883

    def server_trust(self) -> tuple[x509.Certificate, ...]:
        """The certificates that sign the server (empty: the system's trust store, as for a cloud tenant)."""
        if self.is_local():
            return trust_from_pem(self.local.server_ca.read_bytes()) if self.local is not None else ()
        if not self.server_ca.text().strip():
            return ()
        path = Path(self.server_ca.text().strip())
        try:
            return trust_from_pem(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"Cannot read the server CA '{path}'",
                                    (getattr(exc, "strerror", None) or str(exc),
                                     "Give the PEM file of the CA that signed the server's certificate.")) from exc

    def http(self) -> PlatformHttp:
        """A client for the target; use as `async with`.

        Raises:
            WorkbenchError: the local platform is not running, or the tenant fields are incomplete.
        """
        if self.is_local():
            if self.local is None:
                raise WorkbenchError("The local platform is not running yet",
                                     ("Wait for it to start (status bar), or start it on the Local Platform page.",))
            return PlatformHttp(self.local.rest_url, PlatformCredentials("admin", self.local.admin_password, "t100"),
                                trust=server_context(self.server_trust()))
        url, login = self.url.text().strip().rstrip("/"), self.user.text().strip()
        if not url.startswith("https://") or not login:
            raise InvalidInputError("Give the tenant's https URL and a user",
                                    ("For example https://mytenant.cumulocity.com and t123/admin.",))
        self._fill_password()
        tenant, _, user = login.rpartition("/")
        trust = self.server_trust()
        return PlatformHttp(url, PlatformCredentials(user, self.password.text(), tenant or None),
                            trust=server_context(trust) if trust else None)

    def remember(self) -> None:
        """The tenant accepted the password: keep it in the secret store when asked to."""
        if not self.is_local() and self.keep.isChecked() and self.password.text():
            self.secrets.set(self._slot(), SecretName.PLATFORM_PASSWORD, self.password.text())
