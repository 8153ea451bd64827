"""Proof of possession against the platform in one home: fetch a verification code, sign it with the CA's key,
upload the signature. The PoP page runs the steps one by one; onboarding runs them in a row."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from workbench.core.platform_client import requests as api
from workbench.core.pop import PopSignature, sign_code
from workbench.errors import PlatformRequestError
from workbench.services import certificates
from workbench.services.ca_passwords import CAPasswords
from workbench.services.platform_http import PlatformHttp


def fingerprint(certificate: x509.Certificate) -> str:
    """How the platform names a trusted certificate: its SHA-1 fingerprint in hex."""
    return certificate.fingerprint(hashes.SHA1()).hex()


def ca_fingerprint(workspace: Path, ca: str) -> str:
    """The platform's name for a CA of the store."""
    return fingerprint(certificates.ca_certificate(workspace, ca))


async def fetch_code(http: PlatformHttp, fingerprint_hex: str, tenant: str | None = None) -> Any:
    """Ask the platform for a new verification code; returns its trusted-certificate answer (``pop_code``)."""
    tenant = tenant or await http.tenant_id()
    return await http.trusted_certificate_call(api.new_verification_code(tenant, fingerprint_hex))


def sign_with_ca(workspace: Path, ca: str, code: bytes, passwords: CAPasswords) -> tuple[PopSignature,
                                                                                         x509.Certificate]:
    """Sign the code's exact bytes with a store CA's key; also returns the CA certificate to check against."""
    issuer, _chain = certificates.unlock(workspace, ca, passwords)
    return sign_code(issuer.key, code), issuer.certificate


async def upload_signature(http: PlatformHttp, fingerprint_hex: str, signature_b64: str,
                           tenant: str | None = None) -> Any:
    """Send the signature; returns the platform's answer (``pop_state``, ``pop_valid``)."""
    tenant = tenant or await http.tenant_id()
    return await http.trusted_certificate_call(api.submit_proof_of_possession(tenant, fingerprint_hex,
                                                                              signature_b64))


@dataclass(frozen=True)
class Proof:
    """What a whole proof of possession did."""

    signature: PopSignature
    valid: bool


async def prove(http: PlatformHttp, workspace: Path, ca: str, passwords: CAPasswords,
                tenant: str | None = None) -> Proof:
    """Fetch, sign and upload in a row (onboarding's PoP step).

    Raises:
        PlatformRequestError: the platform refused the signature (the causes say which key signed).
    """
    tenant = tenant or await http.tenant_id()
    print_ = ca_fingerprint(workspace, ca)
    answer = await fetch_code(http, print_, tenant)
    signature, _cert = await asyncio.to_thread(sign_with_ca, workspace, ca, (answer.pop_code or "").encode(),
                                               passwords)
    try:
        result = await upload_signature(http, print_, signature.signature_b64, tenant)
    except PlatformRequestError as exc:
        raise PlatformRequestError("the signature does not match the certificate's key",
                            (f"signed with the {signature.key_description} key of CA '{ca}'", *exc.causes)) from exc
    return Proof(signature, bool(result.pop_valid))
