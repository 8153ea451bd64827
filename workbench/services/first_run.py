"""First run: a ready demo device for the local platform, so the built-in "Local platform (certificate device)"
profile connects within a minute of installing.

It runs the onboarding steps up to the device keystore (CA in the store, upload with auto-registration, proof of
possession, device keystore and truststore); the passwords go to the secret store (the CA's under the CA's own
slot too, so PoP and the wizard never ask for a password nobody saw). Later starts only make sure the CA
is still uploaded (the platform's data may have been reset).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from workbench import paths
from workbench.core.files import write_atomic
from workbench.core.keystore import load_keystore
from workbench.core.profiles import KeystoreType, LocalPlatformEndpoints
from workbench.core.profiles.model import SecretName
from workbench.core.profiles.secrets import SecretStore
from workbench.core.tls import server_context, trust_from_pem
from workbench.errors import WorkbenchError
from workbench.services.ca_passwords import remember_ca_password
from workbench.services.device_bundle import truststore
from workbench.services.local_platform import ADMIN_USER, LocalPlatformInfo
from workbench.services.onboarding import Onboarding, OnboardingOptions
from workbench.services.platform_http import PlatformCredentials, PlatformHttp

DEVICE_ID = "workbench-demo-device"
SECRET_ID = "local-platform-demo"
_STATE = "demo-device.json"
WELCOMED_MARKER = "welcomed"  # in the config folder: the welcome view was shown once; later runs restore the page


def is_first_run() -> bool:
    """True until the app has opened once for this user (no marker in the config folder): it lands on the welcome."""
    return not (paths.config_dir() / WELCOMED_MARKER).exists()


def mark_welcomed() -> None:
    """Remember that the welcome was shown: from now on the app opens on the page it was closed on."""
    folder = paths.config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / WELCOMED_MARKER).write_text("The workbench opened here once; delete this file to see the welcome "
                                          "view again.\n")


@dataclass(frozen=True)
class DemoDevice:
    """Where the demo device's files are, and their passwords (from the secret store)."""

    endpoints: LocalPlatformEndpoints
    keystore_password: str


def _refresh_truststore(path: Path, server_cas: list[x509.Certificate], password: bytes) -> None:
    """A reset platform has a new server CA: the demo truststore follows it (written atomically)."""
    try:
        current = [e.cert for e in load_keystore(path.read_bytes(), password).trusted_entries()]
    except (OSError, WorkbenchError):
        current = []
    if current != server_cas:
        write_atomic(path, truststore(server_cas, password, "pkcs12"))


def demo_folder() -> Path:
    """The demo device's files, beside the local platform's data."""
    return paths.data_dir() / "local-platform-demo"


async def prepare_demo_device(info: LocalPlatformInfo, store: SecretStore | None = None,
                              folder: Path | None = None, workspace: Path | None = None) -> DemoDevice:
    """The demo device, created on first run and re-registered when the platform forgot its CA.

    Raises:
        WorkbenchError: a step failed; the summary names it.
    """
    store = store or SecretStore()
    folder = folder or demo_folder()
    stored_ca = store.get(SECRET_ID, SecretName.KEY_PASSWORD)
    stored_keystore = store.get(SECRET_ID, SecretName.CLIENT_KEYSTORE_PASSWORD)
    have_secrets = bool(stored_ca and stored_keystore)  # a session-only store forgets them: start afresh
    ca_password = stored_ca if have_secrets else secrets.token_urlsafe(16)
    keystore_password = stored_keystore if have_secrets else secrets.token_urlsafe(12)
    assert ca_password is not None and keystore_password is not None
    state_path = folder / _STATE
    try:
        state = json.loads(state_path.read_text()) if state_path.exists() and have_secrets else {}
    except ValueError:
        state = {}
    trust = trust_from_pem(info.server_ca.read_bytes())
    tenant, _, user = ADMIN_USER.partition("/")
    async with PlatformHttp(info.rest_url, PlatformCredentials(user, info.admin_password, tenant),
                            trust=server_context(trust)) as http:
        options = OnboardingOptions(http=http, mqtt_host="localhost", mqtt_port=info.ports["mqtts"],
                                    workspace=workspace or paths.default_workspace(), out_dir=folder,
                                    ca_password=ca_password.encode(), keystore_password=keystore_password.encode(),
                                    ca_name=state.get("ca"), device_id=DEVICE_ID, server_trust=trust)
        flow = Onboarding(options)
        files_ready = bool((folder / DEVICE_ID / "deviceKeystore.p12").exists() and state.get("ca"))
        report = await flow.run(("ca", "upload") if files_ready else ("ca", "upload", "pop", "device"))
    failed = next((s for s in report.steps if not s.ok), None)
    if failed is not None:
        raise WorkbenchError(f"The demo device for the local platform could not be prepared ({failed.step}): "
                             f"{failed.message}", failed.causes)
    if flow.ca_name:  # under the CA's own slot too: PoP, the wizard and `ca password show` find it
        remember_ca_password(flow.ca_name, ca_password.encode(), store)
    if not files_ready:
        store.set(SECRET_ID, SecretName.KEY_PASSWORD, ca_password)
        store.set(SECRET_ID, SecretName.CLIENT_KEYSTORE_PASSWORD, keystore_password)
        folder.mkdir(parents=True, exist_ok=True)
        state_path.write_text(json.dumps({"ca": flow.ca_name, "device": DEVICE_ID}, indent=2))
    device = folder / DEVICE_ID
    _refresh_truststore(device / "truststore.p12", list(trust), keystore_password.encode())
    endpoints = LocalPlatformEndpoints(
        mqtts_port=info.ports["mqtts"], sandbox_port=info.ports.get("sandbox", 0), host="localhost",
        truststore_file=str(device / "truststore.p12"), keystore_file=str(device / "deviceKeystore.p12"),
        keystore_type=KeystoreType.PKCS12, client_id=f"d:{DEVICE_ID}", rest_base_url=info.rest_url)
    return DemoDevice(endpoints, keystore_password)
