"""Private keys: the guide's key types, generation, and reading/writing them encrypted at rest by default."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from workbench.errors import InvalidInputError, KeyMaterialError, PasswordError

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

MIN_RSA_BITS = 2048
_WEAK_RSA_CAUSES = (
    "The guide asks for RSA with at least 2048 bits: 'A size of 1024 bits or lower is no longer considered safe'.",
    "Choose RSA 2048, 3072 or 4096 (the guide's default), or an EC key.",
)


class KeySpec(Enum):
    """The key types we offer; RSA 4096 is the guide's default (`openssl genrsa -aes256 ... 4096`)."""

    RSA_2048 = "rsa2048"
    RSA_3072 = "rsa3072"
    RSA_4096 = "rsa4096"
    EC_P256 = "ec-p256"
    EC_P384 = "ec-p384"
    ED25519 = "ed25519"

    @classmethod
    def parse(cls, text: str) -> KeySpec:
        """Accept the forms people type: 'rsa4096', 'RSA-4096', 'ec-p256', 'p256', 'ed25519'."""
        norm = text.strip().lower().replace("_", "").replace("-", "").replace(" ", "")
        aliases = {"p256": "ecp256", "prime256v1": "ecp256", "secp256r1": "ecp256", "p384": "ecp384",
                   "secp384r1": "ecp384", "rsa": "rsa4096", "ec": "ecp256"}
        norm = aliases.get(norm, norm)
        for spec in cls:
            if spec.value.replace("-", "") == norm:
                return spec
        if norm.startswith("rsa") and norm[3:].isdigit() and int(norm[3:]) < MIN_RSA_BITS:
            raise KeyMaterialError(f"RSA {norm[3:]} bits is too weak", _WEAK_RSA_CAUSES)
        choices = ", ".join(s.value for s in cls)
        raise InvalidInputError(f"Unknown key type '{text}'", (f"Choose one of: {choices}.",))

    def generate(self) -> PrivateKey:
        """Make a fresh key of this type."""
        if self.value.startswith("rsa"):
            return rsa.generate_private_key(public_exponent=65537, key_size=int(self.value[3:]))
        if self is KeySpec.EC_P256:
            return ec.generate_private_key(ec.SECP256R1())
        if self is KeySpec.EC_P384:
            return ec.generate_private_key(ec.SECP384R1())
        return ed25519.Ed25519PrivateKey.generate()


DEFAULT_KEY_SPEC = KeySpec.RSA_4096


def generate_key(spec: KeySpec = DEFAULT_KEY_SPEC) -> PrivateKey:
    """Generate a key of one of the offered types."""
    return spec.generate()


def describe_key(key: PrivateKeyTypes | PublicKeyTypes) -> str:
    """Name a key the way people talk about it: 'RSA 4096', 'EC P-256', 'Ed25519'."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        names = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
        return f"EC {names.get(key.curve.name, key.curve.name)}"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "Ed25519"
    return type(key).__name__


def check_key_strength(key: PrivateKeyTypes | PublicKeyTypes) -> None:
    """Refuse keys the guide calls unsafe (RSA below 2048 bits) and types we cannot sign with.

    Raises:
        KeyMaterialError: the key is too weak or of an unsupported type.
    """
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise KeyMaterialError(f"RSA {key.key_size} bits is too weak", _WEAK_RSA_CAUSES)
    if not isinstance(key, PrivateKey | PublicKey):
        raise KeyMaterialError(
            f"Unsupported key type: {describe_key(key)}", ("Use an RSA, EC (P-256/P-384) or Ed25519 key.",)
        )


def load_private_key(data: bytes, password: bytes | None = None) -> PrivateKey:
    """Read a private key in any common file form: PKCS#8 or traditional PEM, DER, encrypted or not.

    Raises:
        PasswordError: the key is encrypted and no password, or a wrong one, was given.
        KeyMaterialError: the bytes are not a private key we can use.
    """
    loaders = (serialization.load_pem_private_key,) if b"-----BEGIN" in data else (
        serialization.load_der_private_key,)
    encrypted = b"ENCRYPTED" in data or b"Proc-Type: 4,ENCRYPTED" in data
    try:
        key = loaders[0](data, password=password or None)
    except TypeError as exc:
        # cryptography: "Password was not given but private key is encrypted" / "...given but not encrypted"
        if password:
            key = _load_ignoring_password(loaders[0], data, exc)
        else:
            raise PasswordError(
                "The private key is encrypted and needs its password",
                ("Give the password that was set when the key was created (openssl asks it as 'PEM pass phrase').",),
            ) from exc
    except ValueError as exc:
        if encrypted or password:
            raise PasswordError(
                "Could not decrypt the private key",
                ("The password is wrong.", "The file is damaged or is not a private key."),
            ) from exc
        raise KeyMaterialError(
            "The file is not a private key we can read",
            ("Expected a PEM (BEGIN PRIVATE KEY / RSA PRIVATE KEY / EC PRIVATE KEY) or DER private key.",
             "The file may be a certificate, a CSR or a keystore: open it in the matching tool instead."),
        ) from exc
    except UnsupportedAlgorithm as exc:
        raise KeyMaterialError("The key uses an algorithm we do not support", (str(exc),)) from exc
    check_key_strength(key)
    return key  # type: ignore[return-value]


def _load_ignoring_password(loader: Callable[..., PrivateKeyTypes], data: bytes, exc: Exception) -> PrivateKeyTypes:
    """A password given for an unencrypted key is harmless: load it without one."""
    try:
        return loader(data, password=None)
    except (TypeError, ValueError):
        raise PasswordError("Could not decrypt the private key", ("The password is wrong.",)) from exc


def dump_private_key_pem(key: PrivateKey, password: bytes | None) -> bytes:
    """Write a key as PKCS#8 PEM, AES-256 encrypted when a password is given (as `openssl genrsa -aes256`).

    Encryption at rest is the default everywhere; callers pass ``None`` only when the user asked for plaintext.
    """
    encryption: serialization.KeySerializationEncryption
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def public_key_matches(private_key: PrivateKey, public_key: PublicKeyTypes) -> bool:
    """Tell whether a certificate's public key belongs to this private key."""
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return private_key.public_key().public_bytes(*spki) == public_key.public_bytes(*spki)
