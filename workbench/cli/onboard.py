"""`workbench onboard`: the guide's whole onboarding in one command, against the local platform or a real tenant.

`--path` picks the customer-managed CA (the guide, the default), the platform CA (EST with a one-time password) or
the password device with bootstrap registration; the steps live in `services/onboarding*.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
from pathlib import Path
from typing import Any

from workbench import paths
from workbench.cli.common import (
    add_json_option,
    add_password_options,
    add_vault_options,
    cli_secrets,
    read_file_bytes,
    read_password,
)
from workbench.core.pki.keys import KeySpec
from workbench.core.profiles.model import SecretName
from workbench.core.profiles.secrets import SecretStore, StoreKind
from workbench.core.tls import server_context, trust_from_pem
from workbench.errors import InvalidInputError
from workbench.services.ca_passwords import ca_secret_id, remember_ca_password
from workbench.services.local_platform import GivenPassword, LocalPlatformProcess
from workbench.services.onboarding import (
    BOOTSTRAP,
    CUSTOMER_CA,
    PATHS,
    PLATFORM_CA,
    Onboarding,
    OnboardingOptions,
    StepResult,
)
from workbench.services.platform_http import PlatformCredentials, PlatformHttp, tenant_secret_id
from workbench.services.secrets import generate_password, where_it_went

STEP_TITLES = {"ca": "CA", "upload": "upload", "pop": "PoP", "device": "device", "devices": "devices",
               "register": "register", "fleet": "fleet", "mqtt": "MQTT", "token": "token", "rest": "REST",
               "measurement": "measurement", "tenant_ca": "tenant CA", "otp": "OTP", "csr": "key+CSR",
               "enroll": "EST enroll", "keystores": "keystores", "request": "request", "bootstrap": "s/ucr",
               "accept": "accept", "credentials": "credentials"}
DONE = {CUSTOMER_CA: "is registered, connected and sent data",
        PLATFORM_CA: "is enrolled by the tenant CA, connected and sent data",
        BOOTSTRAP: "received its credentials, connected and sent data"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `onboard` to the CLI."""
    parser = sub.add_parser("onboard", help="rehearse the whole device onboarding (local platform or a tenant)",
                            description="CA → upload → proof of possession → device keystore → MQTT over mTLS → "
                                        "device token → REST with the token → one measurement read back.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--local", action="store_true", help="use the local platform (started or reused)")
    where.add_argument("--url", help="a real tenant, e.g. https://mytenant.cumulocity.com")
    parser.add_argument("--ephemeral", action="store_true",
                        help="with --local: a fresh in-memory platform for this run only")
    parser.add_argument("--user", help="with --url: the tenant user, e.g. t123/admin")
    parser.add_argument("--tenant-password-env", metavar="VAR",
                        help="read the tenant password from environment variable VAR (else: the secret store, else a "
                             "prompt; a prompted password is kept in the secret store)")
    parser.add_argument("--mqtt-host", help="MQTT host (default: the tenant's host)")
    parser.add_argument("--mqtt-port", type=int, default=8883, help="MQTT over TLS port (default 8883)")
    parser.add_argument("--server-ca", help="PEM file the HTTPS and MQTT clients trust (default: the system's)")
    parser.add_argument("--ca", dest="ca_name", help="use this CA from the CA store instead of creating one")
    add_password_options(parser, "ca_password", "the CA key (default for a new CA: generated and kept in the system "
                                                 "keyring or the encrypted vault, else shown once)")
    add_vault_options(parser)
    add_password_options(parser, "admin_password", "the local platform's t100/admin (with --local, when the "
                                                   "platform runs already and the keyring does not know it)")
    parser.add_argument("--device-id", help="the device's CN and MQTT id (default: wb-dev-<random>)")
    parser.add_argument("--key-type", default="ec-p256", help="key type for the CA and device (default ec-p256)")
    parser.add_argument("--keystore-type", choices=("pkcs12", "jks"), default="pkcs12")
    parser.add_argument("--path", choices=tuple(PATHS), default=CUSTOMER_CA,
                        help="customer-ca: your CA, upload, PoP, device certificate (default); platform-ca: the "
                             "tenant CA issues over EST with a one-time password; bootstrap: a password device "
                             "with bootstrap registration (request, acceptance, s/ucr → 70,…)")
    add_password_options(parser, "otp", "--path platform-ca: the device's one-time password, when the tenant's "
                                        "admin registered it already (default: registered here with a new one)")
    parser.add_argument("--validity", type=int, metavar="SECONDS", default=0,
                        help="--path platform-ca with --local: device certificates valid this long (rehearse renewal)")
    parser.add_argument("--bootstrap-user", metavar="LOGIN",
                        help="--path bootstrap: the bootstrap login, e.g. management/devicebootstrap (default with "
                             "--local: the local platform's, read over REST)")
    add_password_options(parser, "bootstrap_password", "--path bootstrap: the bootstrap login")
    parser.add_argument("--devices", type=int, default=0, metavar="N",
                        help="fleet variant: N devices registered in bulk (auto-registration off) connect and get "
                             "tokens")
    parser.add_argument("--out", default="onboarding", help="folder for the device files (default ./onboarding)")
    parser.add_argument("--workspace", help="CA store folder (default: the workbench workspace)")
    add_json_option(parser)
    parser.set_defaults(handler=run)


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _print_step(total: int, index: int, result: StepResult) -> None:
    mark = "✓" if result.ok else "✗"
    print(f"{mark} {index:>{len(str(total))}}/{total} {STEP_TITLES.get(result.step, result.step):<12} {result.message} "
          f"({_duration(result.seconds)})", flush=True)
    for cause in result.causes:
        print(f"      - {cause}", flush=True)


def run(args: argparse.Namespace) -> int:
    """Run the steps and print one line each; exit 1 when a step fails."""
    if args.ephemeral and not args.local:
        raise InvalidInputError("--ephemeral goes with --local", ("Drop --ephemeral, or use --local.",))
    path_options = _path_options(args)
    secrets_store = cli_secrets(args)
    secrets_store.kind  # noqa: B018 - decide the store (and ask for the vault passphrase) before any other question
    key_type = KeySpec.parse(args.key_type)
    admin_password = _admin_password(args)
    local = LocalPlatformProcess(ephemeral=args.ephemeral, secrets=secrets_store,
                                 admin_password=admin_password) if args.local else None
    try:
        if local is not None:
            info = local.start_or_reuse()
            base_url, trust = info.rest_url, trust_from_pem(info.server_ca.read_bytes())
            credentials = PlatformCredentials("admin", info.admin_password, "t100")
            mqtt_host, mqtt_port = "localhost", info.ports["mqtts"]
            if not args.json:
                how = "started for this run" if info.started_here else "already running"
                print(f"local platform {how}: {base_url}, MQTT {mqtt_port}", flush=True)
        else:
            if not args.user:
                raise InvalidInputError("--url needs --user", ("For example --user t123/admin.",))
            base_url = args.url.rstrip("/")
            password = _tenant_password(args, base_url, secrets_store)
            trust = trust_from_pem(read_file_bytes(args.server_ca, "server CA")) if args.server_ca else ()
            tenant, _, user = args.user.rpartition("/")
            credentials = PlatformCredentials(user, password.decode(), tenant or None)
            mqtt_host = args.mqtt_host or base_url.split("://", 1)[-1].split("/")[0].split(":")[0]
            mqtt_port = args.mqtt_port
        ca_password = _ca_password(args, secrets_store)
        keystore_password = secrets.token_urlsafe(12).encode()
        device_id = args.device_id or f"wb-dev-{secrets.token_hex(3)}"
        return asyncio.run(_run(args, base_url, credentials, trust, mqtt_host, mqtt_port, ca_password,
                                keystore_password, device_id, key_type, local is not None, secrets_store,
                                path_options))
    finally:
        if local is not None and local.process is not None:
            local.stop()


def _path_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of --path, checked before anything starts (a wrong combination is a usage problem)."""
    if args.devices and args.path != CUSTOMER_CA:
        raise InvalidInputError("--devices goes with --path customer-ca", ("The fleet variant uses your own CA.",))
    if (args.otp_file or args.otp_env or args.validity) and args.path != PLATFORM_CA:
        raise InvalidInputError("--otp-file/-env and --validity go with --path platform-ca", ())
    if args.validity and not args.local:
        raise InvalidInputError("--validity needs --local", ("A tenant's device certificates are valid one year.",))
    if (args.bootstrap_user or args.bootstrap_password_file or args.bootstrap_password_env) and args.path != BOOTSTRAP:
        raise InvalidInputError("--bootstrap-user and its password go with --path bootstrap", ())
    options: dict[str, Any] = {"path": args.path, "certificate_validity": max(args.validity, 0)}
    if args.otp_file or args.otp_env:
        options["otp"] = read_password(args, "otp")
    if args.path == BOOTSTRAP and args.bootstrap_user:
        options["bootstrap_user"] = args.bootstrap_user
        options["bootstrap_password"] = read_password(args, "bootstrap_password",
                                                      prompt=f"Password of {args.bootstrap_user}: ")
    elif args.path == BOOTSTRAP and not args.local:
        raise InvalidInputError("--path bootstrap with --url needs --bootstrap-user", (
            "Give the bootstrap login your platform's operator handed out, and its password with "
            "--bootstrap-password-env or --bootstrap-password-file.",))
    return options


def _admin_password(args: argparse.Namespace) -> GivenPassword | None:
    """--admin-password-file/-env: the running local platform's admin password, said where it came from."""
    if (args.admin_password_file or args.admin_password_env) and not args.local:
        raise InvalidInputError("--admin-password-file/-env go with --local",
                                ("With --url, give the tenant's password with --tenant-password-env.",))
    if not (args.admin_password_file or args.admin_password_env):
        return None  # the keyring's, else EMBEDDED_BROKER_ADMIN_PASSWORD: never a prompt
    password = read_password(args, "admin_password")
    assert password is not None  # required: read_password raises rather than return None
    source = f"--admin-password-file {args.admin_password_file}" if args.admin_password_file else \
        f"--admin-password-env {args.admin_password_env}"
    return GivenPassword(password.decode(), source)


def _tenant_password(args: argparse.Namespace, url: str, store: SecretStore) -> bytes:
    """From --tenant-password-env, the secret store, or a prompt (then kept there); never from a file."""
    if args.tenant_password_env:
        password = read_password(argparse.Namespace(tenant_password_env=args.tenant_password_env), "tenant_password")
        assert password is not None  # required: read_password raises rather than return None
        return password
    slot = tenant_secret_id(url, args.user)
    stored = store.get(slot, SecretName.PLATFORM_PASSWORD)
    if stored:
        return stored.encode()
    typed = read_password(argparse.Namespace(), "tenant_password", prompt=f"Password for {args.user} at {url}: ")
    assert typed is not None
    args.save_tenant_password = (store, slot, typed.decode())  # kept once the tenant accepted it
    return typed


def _ca_password(args: argparse.Namespace, store: SecretStore) -> bytes:
    """--ca-password-file/-env, the stored one of --ca, a prompt; or a new one for a new CA (kept after the run)."""
    stored = store.get(ca_secret_id(args.ca_name), SecretName.KEY_PASSWORD) if args.ca_name else None
    if stored and not (args.ca_password_file or args.ca_password_env):
        return stored.encode()
    given = read_password(args, "ca_password", prompt="Password of the CA key: ", required=bool(args.ca_name))
    args.ca_password_generated = given is None
    return given if given is not None else generate_password().encode()


async def _run(args: argparse.Namespace, base_url: str, credentials: PlatformCredentials, trust: tuple[Any, ...],
               mqtt_host: str, mqtt_port: int, ca_password: bytes, keystore_password: bytes, device_id: str,
               key_type: KeySpec, local: bool, store: SecretStore, path_options: dict[str, Any]) -> int:
    async with PlatformHttp(base_url, credentials, trust=server_context(trust)) as http:
        to_save = getattr(args, "save_tenant_password", None)
        if to_save is not None:
            await http.tenant_id()  # a wrong password stops here and is not kept
            _store, slot, password = to_save
            store.set(slot, SecretName.PLATFORM_PASSWORD, password)
        options = OnboardingOptions(
            http=http, mqtt_host=mqtt_host, mqtt_port=mqtt_port,
            workspace=Path(args.workspace) if args.workspace else paths.default_workspace(),
            out_dir=Path(args.out), ca_password=ca_password, keystore_password=keystore_password,
            ca_name=args.ca_name, device_id=device_id, key_type=key_type, keystore_type=args.keystore_type,
            server_trust=trust, jwks=local, devices=max(args.devices, 0), **path_options)
        onboarding = Onboarding(options)
        total = len(onboarding.steps())
        counter = iter(range(1, total + 1))
        if not args.json:
            def show(result: StepResult) -> None:
                _print_step(total, next(counter), result)
                for row in onboarding.fleet_rows if result.step == "fleet" else ():
                    print(f"      {row}", flush=True)

            onboarding.on_step = show
        report = await onboarding.run()
    ca_kept: dict[str, str] = {}
    if onboarding.ca_name and "ca" in report.created:  # a CA made by this run: its password goes to the store
        remember_ca_password(onboarding.ca_name, ca_password, store)
        ca_kept = {"ca": onboarding.ca_name, "kept": store.kind.value}
        generated = getattr(args, "ca_password_generated", False)
        if store.kind is StoreKind.SESSION and generated:
            ca_kept["password"] = ca_password.decode()  # the only chance to learn it
    if args.json:
        print(json.dumps(report.to_json() | {"fleet": onboarding.fleet_rows, "ca_password": ca_kept}, indent=2))
        return 0 if report.ok else 1
    if report.ok:
        print(f"onboarding rehearsal complete: device {device_id} {DONE[args.path]}")
    if ca_kept:  # where the generated password went: a CA nobody can open again is never left behind
        where = where_it_went(ca_password.decode(), store) if generated else f"yours, {store.kept}"
        print(f"CA '{onboarding.ca_name}' key password: {where}", flush=True)
    if not report.ok:
        print("stopped at the failed step; what exists now:", file=sys.stderr)
        for what, detail in report.created.items() or {"nothing": "was created"}.items():
            print(f"  {what}: {detail}", file=sys.stderr)
    return 0 if report.ok else 1
