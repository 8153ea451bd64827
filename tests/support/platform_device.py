"""A certificate device the in-process local platform registers on its first connection, as a TLS client context.

Why: the GUI tests that open a console as a device (token panel, template editor) need the same ground: a fresh
CA trusted with auto-registration, a device certificate it issued, and the platform's server CA trusted.
"""

from __future__ import annotations

import ssl

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from embedded_broker import BackgroundLocalPlatform
from tests.support.certs import simple_cert
from workbench.core.tls import ClientIdentity, client_context, trust_from_pem


def auto_registered_device(platform: BackgroundLocalPlatform, cn: str, ca_name: str = "Device CA") -> ssl.SSLContext:
    """Trust a new CA on tenant t100 (auto-registration on) and return a client context for device `cn` it issued."""
    ca_key, device_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = simple_cert(ca_name, ca_key, None, ca_key)
    device = simple_cert(cn, device_key, ca, ca_key)
    pem = ca.public_bytes(serialization.Encoding.PEM).decode()
    platform.call(lambda: platform.platform.trust.upload("t100", {"status": "ENABLED", "certInPemFormat": pem,
                                                                  "autoRegistrationEnabled": True}))
    assert platform.local is not None and platform.local.server_ca_path is not None
    trust = trust_from_pem(platform.local.server_ca_path.read_bytes())
    return client_context(trust=list(trust), identity=ClientIdentity(device_key, (device, ca)))
