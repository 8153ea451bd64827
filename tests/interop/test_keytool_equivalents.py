"""The keytool commands the Keystores page shows really do what the editor did: they run against stores the
core wrote, with the passwords from environment variables (never on the command line)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.interop.keytool_helpers import entries
from tests.support.certs import make_pki
from workbench.core.keystore import keytool_equivalents as kt
from workbench.core.keystore.codec import build_device_keystore
from workbench.core.keystore.model import StoreKind

pytestmark = pytest.mark.interop


def _run(command: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(command, shell=True, cwd=cwd, capture_output=True, text=True, env={**os.environ, **env},
                          timeout=60)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.parametrize("kind", [StoreKind.PKCS12, StoreKind.JKS])
def test_the_shown_commands_run(tmp_path: Path, kind: StoreKind) -> None:
    pki = make_pki()
    device = pki.device_ec
    store = tmp_path / f"store.{kind.value}"
    chain = [device.cert, pki.intermediate.cert, pki.root.cert]
    store.write_bytes(build_device_keystore(device.key, chain, b"store-pw", kind.value))
    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes(pki.root.cert.public_bytes(serialization.Encoding.PEM))
    env = {"STOREPASS": "store-pw", "NEWPASS": "new-pass-1"}
    script = [kt.import_trusted(store, kind, "rootca", root_pem),
              kt.rename(store, kind, "devicekeyentry", "device"),
              kt.export_certificate(store, kind, "device", tmp_path / "device.pem")]
    for command in script:
        _run(command, tmp_path, env)
    listing = entries(_run(kt.list_entries(store, kind), tmp_path, env))
    assert set(listing) == {"device", "rootca"} and listing["device"]["chain"] == "3"
    assert (tmp_path / "device.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")
    _run(kt.delete(store, kind, "rootca"), tmp_path, env)
    _run(kt.convert(store, kind, tmp_path / "other.p12", StoreKind.PKCS12), tmp_path, env)
    _run(kt.store_password(store, kind), tmp_path, env)
    listing = entries(_run(kt.list_entries(store, kind), tmp_path, {"STOREPASS": "new-pass-1"}))
    assert set(listing) == {"device"}
