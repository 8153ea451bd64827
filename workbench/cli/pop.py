"""`workbench pop sign|verify|verification-cert`: proof of possession without the openssl pipeline."""

from __future__ import annotations

import argparse
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from workbench.core.files import write_atomic
from workbench.core.keystore import StoreKind, detect_format
from workbench.core.pki.certio import load_certificate
from workbench.core.pki.issuance import Issuer
from workbench.core.pki.keys import PrivateKey, load_private_key
from workbench.core.pop import (
    check_key_for_certificate,
    code_from_text,
    sign_code,
    verification_certificate,
    verify_code,
)
from workbench.core.tls import identity_from_store
from workbench.errors import InvalidInputError, UnsupportedFormatError
from workbench.paths import default_workspace
from workbench.services import certificates, keystores
from workbench.services.ca_passwords import CAPasswords

from .common import add_json_option, add_password_options, emit, read_file_bytes, read_password


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `pop` and its subcommands."""
    pop = subparsers.add_parser("pop", help="proof of possession: sign or verify a platform's verification code")
    sub = pop.add_subparsers(dest="pop_command", metavar="SUBCOMMAND", required=True)

    sign = sub.add_parser("sign", help="sign a code like 'openssl dgst -sha256 -sign key | openssl base64 -A'")
    sign.add_argument("--key", required=True, type=Path, help="the CA key: PEM/DER key file or PKCS#12")
    _code_options(sign)
    sign.add_argument("--cert", type=Path, help="the uploaded CA certificate: checks the key belongs to it")
    add_password_options(sign, "key_password", "the key file (asked only if it is encrypted)")
    add_json_option(sign)
    sign.set_defaults(handler=_sign)

    verify = sub.add_parser("verify", help="check a signature against the certificate's public key")
    verify.add_argument("--cert", required=True, type=Path, help="the CA certificate")
    _code_options(verify)
    verify.add_argument("--signature", required=True, help="the base64 signature")
    add_json_option(verify)
    verify.set_defaults(handler=_verify)

    cert = sub.add_parser("verification-cert",
                          help="a certificate with CN = code signed by the CA (AWS IoT / Azure style)")
    cert.add_argument("--code", required=True, help="the registration or verification code")
    cert.add_argument("--ca", help="a CA of the CA store")
    cert.add_argument("--workspace", type=Path, help="the CA store folder for --ca")
    cert.add_argument("--ca-cert", type=Path, help="or the CA certificate file")
    cert.add_argument("--ca-key", type=Path, help="with its key file")
    cert.add_argument("--out", required=True, type=Path, help="where to write verificationCert.pem")
    add_password_options(cert, "ca_password", "the CA key")
    add_json_option(cert)
    cert.set_defaults(handler=_verification_cert)


def _code_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--code", help="the code as copied from the platform (surrounding whitespace is trimmed)")
    group.add_argument("--code-file", type=Path, help="a file whose bytes are signed exactly, newline included")


def _code(args: argparse.Namespace) -> bytes:
    if args.code_file:
        data = read_file_bytes(args.code_file, "code")
        if not data:
            raise InvalidInputError(f"The code file '{args.code_file}' is empty", ())
        return data
    return code_from_text(args.code)


def _load_key(path: Path, args: argparse.Namespace, name: str) -> PrivateKey:
    """A CA key from a PEM/DER key file, or from a PKCS#12 or JKS keystore (its only or first key entry)."""
    data = read_file_bytes(path, "key")
    try:
        kind = detect_format(data)
    except UnsupportedFormatError:
        kind = StoreKind.PEM  # a DER key: load_private_key reads it or says what is wrong
    if kind in (StoreKind.PKCS12, StoreKind.JKS, StoreKind.JCEKS):
        password = read_password(args, name, prompt=f"Password of {path}: ")
        store = keystores.load_bytes(data, password)
        return identity_from_store(store).key  # type: ignore[return-value]
    password = read_password(args, name, prompt=f"Password of {path}: ", required=False) \
        if b"ENCRYPTED" in data else None
    return load_private_key(data, password)


def _sign(args: argparse.Namespace) -> None:
    key = _load_key(args.key, args, "key_password")
    if args.cert:
        check_key_for_certificate(key, load_certificate(read_file_bytes(args.cert, "certificate")))
    result = sign_code(key, _code(args))
    shown = result.code.decode("utf-8", errors="replace")
    emit(args, {"signature": result.signature_b64, "signed_bytes_hex": result.signed_bytes_hex,
                "signed_text": shown, "key": result.key_description},
         lambda r: f"{r['signature']}\n\nsigned {len(result.code)} bytes with {r['key']}: {shown!r}")


def _verify(args: argparse.Namespace) -> int:
    cert = load_certificate(read_file_bytes(args.cert, "certificate"))
    ok = verify_code(cert, _code(args), args.signature)
    emit(args, {"valid": ok}, "✓ the signature matches the certificate's key" if ok
         else "✗ the signature does not match the certificate's key (or the code differs, e.g. a newline)")
    return 0 if ok else 1


def _verification_cert(args: argparse.Namespace) -> None:
    password = read_password(args, "ca_password", prompt="CA key password: ", required=False)
    if args.ca:
        issuer, _chain = certificates.unlock(args.workspace or default_workspace(), args.ca,
                                             CAPasswords.given(password))
    elif args.ca_cert and args.ca_key:
        issuer = Issuer(load_certificate(read_file_bytes(args.ca_cert, "CA certificate")),
                        load_private_key(read_file_bytes(args.ca_key, "CA key"), password))
    else:
        raise InvalidInputError("Say which CA signs", ("Use --ca NAME, or --ca-cert FILE with --ca-key FILE.",))
    cert = verification_certificate(issuer, args.code)
    write_atomic(args.out, cert.public_bytes(serialization.Encoding.PEM))
    emit(args, {"out": str(args.out), "cn": args.code.strip()},
         lambda r: f"Wrote {r['out']} (CN={r['cn']}); upload it to the platform's verification step")
