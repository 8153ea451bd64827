"""Proof of possession: sign a platform's verification code exactly as the guide's openssl pipeline does.

`printf %s CODE > code.txt; openssl dgst -sha256 -sign key.pem code.txt | openssl base64 -A`: RSA keys sign
with PKCS#1 v1.5 + SHA-256 (deterministic, so byte-identical), EC keys with ECDSA-SHA256 in DER (randomised, but
each tool verifies the other's). The result is standard base64 on one line.
"""

from __future__ import annotations

import base64
import binascii
import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from workbench.errors import InvalidInputError, KeyMaterialError

from .pki.issuance import Issuer, issue_certificate
from .pki.keys import PrivateKey, describe_key, public_key_matches
from .pki.profiles import device_profile

MAX_CN_LENGTH = 64  # X.509 upper bound (ub-common-name)


@dataclass(frozen=True)
class PopSignature:
    """A signed verification code with the exact bytes that were signed, for the user to check."""

    code: bytes
    signature_b64: str
    key_description: str

    @property
    def signed_bytes_hex(self) -> str:
        """The signed bytes in hex: a trailing 0a would mean a newline was signed too."""
        return self.code.hex()


def code_from_text(text: str) -> bytes:
    """A pasted code: surrounding whitespace (a copied newline, spaces) is not part of it.

    Raises:
        InvalidInputError: nothing is left after trimming.
    """
    trimmed = text.strip()
    if not trimmed:
        raise InvalidInputError("The verification code is empty",
                                ("Copy the code from the platform's trusted certificate (Proof of possession).",))
    return trimmed.encode("utf-8")


def sign_code(key: PrivateKey, code: bytes) -> PopSignature:
    """Sign the code bytes exactly as given (use code_from_text for pasted text, the raw file for a code file).

    Raises:
        KeyMaterialError: the key type cannot make a signature the platform accepts.
    """
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(code, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(code, ec.ECDSA(hashes.SHA256()))
    else:
        raise KeyMaterialError(f"A {describe_key(key)} key cannot sign a proof of possession",
                               ("The platform verifies RSA (PKCS#1 v1.5, SHA-256) and ECDSA-SHA256 signatures.",))
    return PopSignature(code, base64.b64encode(signature).decode("ascii"), describe_key(key))


def verify_code(certificate: x509.Certificate, code: bytes, signature_b64: str) -> bool:
    """Check a signature against the certificate's public key, as the platform does (for the ✓ in the UI).

    Raises:
        InvalidInputError: the signature is not base64.
    """
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInputError("The signature is not base64",
                                ("Paste the one-line output of 'openssl base64 -A'.",)) from exc
    public_key = certificate.public_key()
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, code, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, code, ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except InvalidSignature:
        return False
    return True


def check_key_for_certificate(key: PrivateKey, certificate: x509.Certificate) -> None:
    """Refuse to sign with a key that does not belong to the uploaded certificate: the platform would answer 400.

    Raises:
        KeyMaterialError: the key belongs to another certificate.
    """
    if not public_key_matches(key, certificate.public_key()):
        raise KeyMaterialError(
            "This key does not belong to the certificate you uploaded",
            ("The platform would answer 'Wrong Proof Of Possession plaintext'.",
             "Pick the CA key created together with that certificate (caKey.pem in the guide)."))


def verification_certificate(issuer: Issuer, code: str, *, validity_days: int = 30,
                             now: datetime.datetime | None = None) -> x509.Certificate:
    """A certificate whose CN is the code, signed by the CA (AWS IoT and Azure DPS style proof of possession).

    Raises:
        InvalidInputError: the code is empty or longer than the 64 characters a CN may hold.
    """
    cn = code.strip()
    if not cn:
        raise InvalidInputError("The verification code is empty", ("Copy it from the platform.",))
    if len(cn) > MAX_CN_LENGTH:
        raise InvalidInputError(
            f"The code is {len(cn)} characters; a certificate CN holds at most {MAX_CN_LENGTH}",
            ("AWS registration codes (64 hex) and Azure verification codes fit; a Cumulocity code (~136 "
             "characters) is signed directly instead: use 'workbench pop sign'.",))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    key = ec.generate_private_key(ec.SECP256R1())
    profile = device_profile(validity_days=validity_days, client_auth=False)
    return issue_certificate(subject, key.public_key(), profile, issuer, now=now)


