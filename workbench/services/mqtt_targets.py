"""Where an MQTT command connects: a saved profile found by name (with its keystores and keyring secrets), or
ad-hoc options named as the mosquitto clients name them; both end as the SessionSettings the console uses.

The built-in "Local platform (certificate device)" profile is brought up to date from the running local platform
(its port, the demo device), so `workbench mqtt rr --profile "Local platform (certificate device)" -t s/uat -e s/dat
-n` works on a fresh install, with or without the GUI having run.
"""

from __future__ import annotations

import asyncio
import secrets as random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from workbench.core.keystore.operations import read_store
from workbench.core.pki.certio import load_certificates
from workbench.core.profiles.defaults import (
    LOCAL_PLATFORM_PROFILE_ID,
    LOCAL_PLATFORM_PROFILE_NAME,
    builtin_profiles,
    point_builtin_at_demo,
)
from workbench.core.profiles.model import ConnectionProfile
from workbench.core.profiles.parts import check_alpn_protocol, check_port
from workbench.core.profiles.store import ProfileStore
from workbench.core.tls import (
    ClientIdentity,
    client_context,
    identity_from_pem,
    identity_from_store,
    trusted_certificates,
)
from workbench.errors import InvalidInputError, ProfileError
from workbench.services.mqtt_session import SessionSettings
from workbench.services.profile_connect import session_settings


def find_profile(store: ProfileStore, name: str) -> ConnectionProfile:
    """A saved profile by id, exact name, or name in any letter case.

    Raises:
        ProfileError: no profile or several have that name (the causes list what exists).
    """
    profiles = store.load_all().profiles
    for match in ([p for p in profiles if p.id == name], [p for p in profiles if p.name == name],
                  [p for p in profiles if p.name.casefold() == name.casefold()]):
        if len(match) == 1:
            return match[0]
        if len(match) > 1:
            raise ProfileError(f"{len(match)} profiles are named '{name}'",
                               (*(f"{p.name}: id {p.id}" for p in match), "Give the id instead of the name."))
    names = ", ".join(f"'{p.name}'" for p in profiles[:12]) or "none yet"
    raise ProfileError(f"There is no profile named '{name}'",
                       (f"Saved profiles: {names}.", "List them with `workbench profile list`; import one with "
                        "`workbench profile import FILE`."))


def profile_settings(store: ProfileStore, profile: ConnectionProfile, *, client_id: str | None = None
                     ) -> SessionSettings:
    """The profile's session settings, with its keyring secrets; `client_id` overrides the profile's.

    Raises:
        ProfileError / InvalidInputError / KeystoreError: the profile is incomplete, a file or password is wrong.
    """
    if client_id is not None:
        profile = profile.with_changes(client_id=client_id)
    return session_settings(profile, store.secrets_for(profile.id))


@dataclass(frozen=True)
class LocalPlatformTarget:
    """The built-in profile after it was refreshed, and what happened on the way (for a note on stderr)."""

    profile: ConnectionProfile
    note: str = ""


@contextmanager
def local_platform_profile(store: ProfileStore) -> Iterator[LocalPlatformTarget]:
    """The built-in certificate-device profile, pointed at the running local platform and its demo device; a
    platform that does not run is started for the block and stopped after it.

    Raises:
        LocalPlatformError: the platform cannot be started or logged in to.
        WorkbenchError: the demo device cannot be prepared (the summary names the step).
    """
    from workbench.services.first_run import prepare_demo_device
    from workbench.services.local_platform import LocalPlatformProcess

    process = LocalPlatformProcess(secrets=store.secrets)
    info = process.running()
    note = ""
    if info is None:
        info = process.start_or_reuse()
        note = f"local platform started for this run: MQTT/TLS {info.ports['mqtts']} (stopped afterwards)"
    try:
        demo = asyncio.run(prepare_demo_device(info, store.secrets))
        point_builtin_at_demo(store, demo.endpoints, demo.keystore_password)
        if not store.exists(LOCAL_PLATFORM_PROFILE_ID):  # kept as the user aimed it: nothing to write
            (profile, *_rest) = builtin_profiles(demo.endpoints)
        else:
            profile = store.load(LOCAL_PLATFORM_PROFILE_ID)
        yield LocalPlatformTarget(profile, note)
    finally:
        if process.process is not None:
            process.stop()


def is_builtin_platform(name: str, store: ProfileStore) -> bool:
    """True when NAME means the built-in certificate-device profile (by id or by its name, saved or not yet)."""
    if name == LOCAL_PLATFORM_PROFILE_ID:
        return True
    if store.exists(LOCAL_PLATFORM_PROFILE_ID):
        return store.load(LOCAL_PLATFORM_PROFILE_ID).name.casefold() == name.casefold()
    return name.casefold() == LOCAL_PLATFORM_PROFILE_NAME.casefold()


@dataclass(frozen=True)
class AdHocConnection:
    """A connection given on the command line with the mosquitto clients' names, plus keystores and ALPN.

    TLS is on when asked (`tls`), or when any TLS file, ALPN or skipped verification is given. Trust: `cafile` or
    `truststore`, else the system's. Client certificate: `cert` and `key` (PEM), or `keystore`.
    """

    host: str = "localhost"
    port: int | None = None
    client_id: str = ""
    protocol: int = 4
    keepalive: int = 60
    username: str = ""
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    cafile: str = ""
    cert: str = ""
    key: str = ""
    key_password: bytes | None = field(default=None, repr=False)
    keystore: str = ""
    keystore_password: bytes | None = field(default=None, repr=False)
    keystore_alias: str | None = None
    truststore: str = ""
    truststore_password: bytes | None = field(default=None, repr=False)
    alpn: tuple[str, ...] = ()
    server_name: str = ""
    insecure_hostname: bool = False
    skip_server_verification: bool = False
    websockets: bool = False
    websocket_path: str = "/mqtt"
    connect_timeout: float = 10.0

    @property
    def uses_tls(self) -> bool:
        """TLS on: asked for, or implied by a TLS option."""
        return self.tls or bool(self.cafile or self.cert or self.key or self.keystore or self.truststore
                                or self.alpn or self.skip_server_verification or self.server_name)


def adhoc_settings(options: AdHocConnection) -> SessionSettings:
    """Session settings from ad-hoc options; files are read and checked before any network traffic.

    Raises:
        InvalidInputError: options that do not go together, a file that cannot be read.
        KeystorePasswordError / PasswordError / KeystoreError: a keystore or key cannot be opened.
    """
    o = options
    if o.cafile and o.truststore:
        raise InvalidInputError("--cafile and --truststore both say whom to trust", ("Give one of them.",))
    if (o.cert or o.key) and o.keystore:
        raise InvalidInputError("--cert/--key and --keystore both give a client certificate", ("Give one of them.",))
    if bool(o.cert) != bool(o.key) and not (o.cert and _has_key(o.cert)):
        raise InvalidInputError("--cert and --key go together",
                                ("Give the certificate chain with --cert and its private key with --key.",))
    if o.skip_server_verification and (o.cafile or o.truststore):
        raise InvalidInputError("--skip-server-verification ignores --cafile/--truststore",
                                ("Drop one of them: trust a CA, or (for a broken test broker only) verify nothing.",))
    if not o.websocket_path.startswith("/"):
        raise InvalidInputError(f"WebSocket path '{o.websocket_path}' does not start with '/'", ("E.g. /mqtt.",))
    for name in o.alpn:
        try:
            check_alpn_protocol(name)
        except ProfileError as exc:
            raise InvalidInputError(exc.summary, exc.causes) from exc
    port = o.port if o.port is not None else _default_port(o.uses_tls, o.websockets)
    try:
        check_port(port, "Port")
    except ProfileError as exc:
        raise InvalidInputError(exc.summary, exc.causes) from exc
    context = None
    identity: ClientIdentity | None = None
    trust = None
    if o.uses_tls:
        if o.cafile:
            trust = load_certificates(_read(o.cafile, "CA file (--cafile)"), "CA file")
        elif o.truststore:
            trust = trusted_certificates(read_store(Path(o.truststore).expanduser(), o.truststore_password))
        if o.cert:
            chain = _read(o.cert, "certificate file (--cert)")
            identity = identity_from_pem(_read(o.key, "key file (--key)") if o.key else chain, chain, o.key_password)
        elif o.keystore:
            store = read_store(Path(o.keystore).expanduser(), o.keystore_password, key_passwords=o.keystore_password)
            identity = identity_from_store(store, o.keystore_alias)
        context = client_context(trust=trust, verify=not o.skip_server_verification, identity=identity,
                                 server_name=o.server_name or None)
        if o.insecure_hostname:
            context.check_hostname = False
        if o.alpn:
            context.set_alpn_protocols(list(o.alpn))
    client_id = o.client_id or f"workbench-{random.token_hex(4)}"  # as mosquitto_pub picks one
    return SessionSettings(host=o.host, port=port, client_id=client_id, protocol=o.protocol, keepalive=o.keepalive,
                           username=o.username or None, password=o.password if o.username else None, tls=context,
                           connect_timeout=o.connect_timeout, identity=identity, trust=tuple(trust or ()),
                           transport="websockets" if o.websockets else "tcp", websocket_path=o.websocket_path)


def _default_port(tls: bool, websockets: bool) -> int:
    if websockets:
        return 443 if tls else 80
    return 8883 if tls else 1883


def _has_key(path: str) -> bool:
    """A --cert file that holds the key too (one PEM with both), as mosquitto accepts it."""
    try:
        return b"PRIVATE KEY-----" in Path(path).expanduser().read_bytes()
    except OSError:
        return False


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"Cannot read the {what} '{path}'", (exc.strerror or str(exc), "Check the path.")
                                ) from exc

