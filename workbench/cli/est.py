"""`workbench est enroll | reenroll | cacerts`: the platform-CA path from the command line (platform reference §8).

Why: a device that enrolls over EST makes its own key and gets its certificate from the tenant CA with a one-time
password; these commands rehearse exactly that against the local platform or a tenant. The work is in
`workbench/services/est.py`; this module reads options and prints results.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
from pathlib import Path
from typing import Any

from workbench.cli.common import add_json_option, add_password_options, emit, read_password
from workbench.cli.platform_target import PlatformTarget, add_target_options
from workbench.core.pki.keys import KeySpec
from workbench.errors import InvalidInputError
from workbench.services import est

_USER_HELP = "with --url: the tenant admin, e.g. t123/admin (needed to register)"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `est` and its verbs to the CLI."""
    parser = sub.add_parser("est", help="enroll devices with the tenant CA over EST (platform-CA path)",
                            description="The device makes its key and CSR, enrolls with a one-time password "
                                        "(simpleenroll), renews before expiry (simplereenroll). Works against the "
                                        "local platform (--local) or a tenant (--url).")
    verbs = parser.add_subparsers(dest="est_verb", required=True, metavar="{enroll,reenroll,cacerts}")

    enroll = verbs.add_parser("enroll", help="register (optional), make a key and CSR, enroll, write the folder")
    add_target_options(enroll, user_help=_USER_HELP)
    enroll.add_argument("--device-id", required=True, help="the device id: the CSR's CN and the Basic user")
    add_password_options(enroll, "otp", "the device's one-time password (without it: the admin registers the "
                                        "device with a new one)")
    keys = enroll.add_mutually_exclusive_group()
    keys.add_argument("--key", type=Path, metavar="FILE", help="use this private key (PEM or DER)")
    keys.add_argument("--keystore", type=Path, metavar="FILE", help="use the key entry of this PKCS#12/JKS")
    keys.add_argument("--key-type", default="ec-p256", help="generate a key of this type (default ec-p256)")
    enroll.add_argument("--alias", help="with --keystore: the key entry (default: the only one)")
    add_password_options(enroll, "key_password", "--key or --keystore")
    enroll.add_argument("--out", type=Path, required=True, help="the device folder to create")
    enroll.add_argument("--keystore-type", choices=("pkcs12", "jks"), default="pkcs12")
    enroll.add_argument("--validity", type=int, metavar="SECONDS",
                        help="local platform only: certificates valid this long (rehearse renewal, e.g. 600)")
    add_json_option(enroll)
    enroll.set_defaults(handler=run_enroll)

    reenroll = verbs.add_parser("reenroll", help="renew a device certificate with its device token")
    add_target_options(reenroll, user_help=_USER_HELP)
    reenroll.add_argument("--folder", type=Path, required=True, help="the device folder `est enroll` wrote")
    reenroll.add_argument("--new-key", action="store_true", help="make a new key instead of keeping the old one")
    reenroll.add_argument("--key-type", default="ec-p256", help="with --new-key: its type (default ec-p256)")
    add_json_option(reenroll)
    reenroll.set_defaults(handler=run_reenroll)

    cacerts = verbs.add_parser("cacerts", help="fetch the tenant CA (PKCS#7) and write it as PEM")
    add_target_options(cacerts, user_help=_USER_HELP)
    cacerts.add_argument("--out", type=Path, help="write the CA here as PEM (default: print it)")
    add_json_option(cacerts)
    cacerts.set_defaults(handler=run_cacerts)


def _result(enrolled: est.Enrolled, **extra: Any) -> dict[str, Any]:
    return {"deviceId": enrolled.device_id, "serialHex": enrolled.serial_hex,
            "notAfter": enrolled.not_after.isoformat(), "issuer": enrolled.certificate.issuer.rfc4514_string(),
            "files": {name: str(path) for name, path in enrolled.files.items()}, **extra}


def run_enroll(args: argparse.Namespace) -> int:
    """Register (when no OTP is given), enroll, write the folder; exit 0, or 1 when the platform refuses."""
    otp = read_password(args, "otp", required=False) if (args.otp_file or args.otp_env) else None
    password = read_password(args, "key_password", required=False) if (args.key_password_file or
                                                                       args.key_password_env) else None
    source = est.KeySource(generate=None if args.key or args.keystore else KeySpec.parse(args.key_type),
                           key_file=args.key, keystore=args.keystore, password=password, alias=args.alias)
    target = PlatformTarget(args, user_required=False)
    try:
        if otp is None and target.credentials is None:
            raise InvalidInputError("No one-time password and no admin to register the device",
                                    ("Pass --otp-env/--otp-file, or --user and --tenant-password-env.",))
        keystore_password = secrets.token_urlsafe(12).encode()
        output = est.DeviceFolder(args.out, keystore_password, args.keystore_type, target.trust)

        async def work() -> dict[str, Any]:
            async with target.http() as http:
                registered = False
                one_time = otp.decode() if otp is not None else None
                if one_time is None:
                    await est.prepare_tenant_ca(http)
                    if args.validity:
                        await est.set_certificate_validity(http, args.validity)
                    one_time = await est.register(http, args.device_id)
                    registered = True
                enrolled = await est.enroll(http, args.device_id, one_time, source, output)
                return _result(enrolled, registered=registered)

        result = asyncio.run(work())  # a refusal (wrong OTP, no CA) raises: exit 1 by run_cli's rule
    finally:
        target.close()
    emit(args, result, lambda r: f"enrolled {r['deviceId']}: certificate {r['serialHex']} from {r['issuer']}, "
                                 f"valid until {r['notAfter']}\n  folder {args.out} (keystore password in "
                                 "keystorePassword.txt)")
    return 0


def run_reenroll(args: argparse.Namespace) -> int:
    """Renew the certificate of a device folder in place."""
    target = PlatformTarget(args, user_required=False)
    try:
        password_file = args.folder / "keystorePassword.txt"
        keystore_password = (password_file.read_text().strip().encode() if password_file.exists()
                             else secrets.token_urlsafe(12).encode())
        identity = est.identity_from_folder(args.folder)
        output = est.DeviceFolder(args.folder, keystore_password, _kind(args.folder), target.trust, replace=True)
        new_key = est.KeySource(generate=KeySpec.parse(args.key_type)) if args.new_key else None
        old_serial = f"{identity.chain[0].serial_number:x}"

        async def work() -> dict[str, Any]:
            async with target.http() as http:
                renewed = await est.reenroll(http, identity, output, new_key=new_key)
                return _result(renewed, previousSerialHex=old_serial)

        result = asyncio.run(work())
    finally:
        target.close()
    emit(args, result, lambda r: f"re-enrolled {r['deviceId']}: certificate {r['previousSerialHex']} → "
                                 f"{r['serialHex']}, valid until {r['notAfter']}")
    return 0


def _kind(folder: Path) -> str:
    return "jks" if (folder / "deviceKeystore.jks").exists() else "pkcs12"


def run_cacerts(args: argparse.Namespace) -> int:
    """Print or write the tenant CA."""
    from cryptography.hazmat.primitives import serialization

    target = PlatformTarget(args, user_required=False)
    try:
        async def work() -> list[Any]:
            async with target.http() as http:
                return await est.ca_certificates(http)

        certificates = asyncio.run(work())
    finally:
        target.close()
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)
    if args.out:
        from workbench.core.files import write_atomic

        write_atomic(args.out, pem, mode=0o644)
    result = {"certificates": [c.subject.rfc4514_string() for c in certificates],
              "out": str(args.out) if args.out else None}
    emit(args, result, (lambda r: f"wrote {len(certificates)} CA certificate(s) to {args.out}") if args.out
         else (lambda r: pem.decode().rstrip()))
    return 0
