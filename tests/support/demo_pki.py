"""The demo set's CA, server and device files on disk, plus a device keystore (openssl) and a truststore (keytool).

Why: the MQTT tests against mosquitto (CLI verbs, profile transports) need the same files made by independent tools;
one maker keeps their names and passwords alike.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from workbench.services.demo_set import build_demo_set, write_demo_set

KEYSTORE_PASSWORD = "ks-secret"
TRUSTSTORE_PASSWORD = "ts-secret"


def demo_pki(folder: Path) -> dict[str, Path]:
    """Write the files into `folder`; keys: ca, server_cert, server_key, device_chain, device_key, keystore
    (PKCS#12, alias devicekeyentry), truststore (JKS, alias servercertificate), ks_pw and ts_pw (password files)."""
    write_demo_set(folder, build_demo_set(None))
    device = folder / "devices" / "demo-device-1"
    files = {"ca": folder / "ca" / "caCert.pem", "server_cert": folder / "server" / "serverCertChain.pem",
             "server_key": folder / "server" / "serverKey.pem", "device_chain": device / "deviceCertChain.pem",
             "device_key": device / "deviceKey.pem", "keystore": folder / "device.p12",
             "truststore": folder / "truststore.jks", "ks_pw": folder / "ks.pw", "ts_pw": folder / "ts.pw"}
    files["ks_pw"].write_text(f"{KEYSTORE_PASSWORD}\n")
    files["ts_pw"].write_text(f"{TRUSTSTORE_PASSWORD}\n")
    subprocess.run(["openssl", "pkcs12", "-export", "-in", str(files["device_chain"]), "-inkey",
                    str(files["device_key"]), "-name", "devicekeyentry", "-out", str(files["keystore"]),
                    "-passout", f"pass:{KEYSTORE_PASSWORD}"], check=True, capture_output=True)
    subprocess.run(["keytool", "-importcert", "-noprompt", "-alias", "servercertificate", "-file", str(files["ca"]),
                    "-keystore", str(files["truststore"]), "-storetype", "JKS", "-storepass", TRUSTSTORE_PASSWORD],
                   check=True, capture_output=True)
    return files
