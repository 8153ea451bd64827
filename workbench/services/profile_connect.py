"""Turns a saved connection profile and its keyring secrets into SessionSettings: files read, passwords applied.

Every TLS mode of MQTT.fx resolves here, so the console, the CLI and tests connect a profile the same way, and a
wrong password or a missing file is reported before any network traffic, naming the file and the alias.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from workbench.core.keystore.model import PrivateKeyEntry, TrustedCertEntry
from workbench.core.keystore.operations import read_store
from workbench.core.profiles.model import ConnectionProfile, ProfileSecrets
from workbench.core.profiles.parts import PROXY_SUPPORT_NOTE, ProxyKind, TlsMode, Transport
from workbench.core.tls import ClientIdentity, SniContext, client_context, identity_from_pem
from workbench.errors import InvalidInputError, KeystoreError, ProfileError
from workbench.services.mqtt_session import SessionSettings, Will

_CONNECT_PROPERTIES = {"session_expiry_s": "session_expiry_interval", "receive_maximum": "receive_maximum",
                       "maximum_packet_size": "maximum_packet_size", "topic_alias_maximum": "topic_alias_maximum"}


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"Cannot read the {what} '{path}'",
                                (exc.strerror or str(exc), "Check the path in the profile's TLS settings.")) from exc


def _password(value: str | None) -> bytes | None:
    return value.encode() if value else None


def tls_context(profile: ConnectionProfile, secrets: ProfileSecrets) -> SniContext | None:
    """The client TLS context of the profile's mode, or None without TLS.

    Raises:
        InvalidInputError: a file is missing; KeystorePasswordError / PasswordError: a wrong password;
        KeystoreError: the alias is not in the store or is the wrong kind of entry.
    """
    return tls_parts(profile, secrets)[0]


def tls_parts(profile: ConnectionProfile, secrets: ProfileSecrets
              ) -> tuple[SniContext | None, list[x509.Certificate] | None, ClientIdentity | None]:
    """The context plus what it was built from (trusted certificates, client identity), for the inspector."""
    tls = profile.tls
    if not tls.enabled:
        return None, None, None
    missing = tls.missing()
    if missing:
        raise ProfileError(f"Profile '{profile.name}' is missing TLS settings", tuple(missing))
    trust = None
    identity: ClientIdentity | None = None
    verify = not tls.skip_server_verification  # the editor and the console warn while it is on
    if verify and tls.mode in (TlsMode.CA_FILE, TlsMode.SELF_SIGNED) and tls.ca_file:
        from workbench.core.pki.certio import load_certificates

        trust = load_certificates(_read(tls.ca_file, "CA file"), "CA file")
    if tls.mode is TlsMode.SELF_SIGNED:
        chain = _read(tls.client_certificate_file, "client certificate file")
        key = _read(tls.client_key_file, "client key file") if tls.client_key_file else chain
        identity = identity_from_pem(key, chain, _password(secrets.key_password))
    if tls.mode is TlsMode.KEYSTORES:
        trust = _trusted(profile, secrets) if verify and tls.keystore_file else None
        identity = _key_pair(profile, secrets)
    context = client_context(trust=trust, identity=identity, server_name=tls.sni_override or None,
                             min_version=tls.min_version.value, max_version=tls.max_version.value, verify=verify)
    if not tls.verify_hostname:
        context.check_hostname = False  # the editor warns when this is chosen; the chain is still verified
    if tls.alpn_protocols:  # e.g. x-amzn-mqtt-ca: AWS IoT takes MQTT with a client certificate on port 443
        context.set_alpn_protocols(list(tls.alpn_protocols))
    return context, trust, identity


def _trusted(profile: ConnectionProfile, secrets: ProfileSecrets) -> list[x509.Certificate]:
    tls = profile.tls
    store = read_store(Path(tls.keystore_file).expanduser(), _password(secrets.trusted_keystore_password))
    alias = tls.trusted_keystore_alias.strip()
    entries = [e for e in store.trusted_entries() if e.alias == alias or e.alias.startswith(f"{alias}-")]
    if not entries:
        found = ", ".join(e.alias for e in store.entries) or "none"
        raise KeystoreError(f"The truststore has no trusted certificate '{alias}'",
                            (f"Entries: {found}.", "Set 'Trusted keystore alias' to one of them."))
    return [e.cert for e in entries if isinstance(e, TrustedCertEntry)]


def _key_pair(profile: ConnectionProfile, secrets: ProfileSecrets) -> ClientIdentity:
    tls = profile.tls
    pair_password = _password(secrets.client_key_pair_password)
    store = read_store(Path(tls.client_keystore_file).expanduser(), _password(secrets.client_keystore_password),
                       key_passwords=pair_password)
    alias = tls.client_key_pair_alias.strip()
    entry = next((e for e in store.entries if e.alias == alias), None)
    if not isinstance(entry, PrivateKeyEntry):
        keys = ", ".join(e.alias for e in store.key_entries()) or "none"
        raise KeystoreError(f"The client keystore has no key pair '{alias}'",
                            (f"Key entries: {keys}.", "Set 'Client key-pair alias' to one of them."))
    return ClientIdentity(entry.require_key(), entry.chain)


def session_settings(profile: ConnectionProfile, secrets: ProfileSecrets) -> SessionSettings:
    """Everything a console needs to connect this profile."""
    will = None
    if profile.last_will is not None:
        w = profile.last_will
        will = Will(w.topic, w.payload.encode(), w.qos, w.retain)
    properties = {target: getattr(profile.mqtt5, source) for source, target in _CONNECT_PROPERTIES.items()
                  if getattr(profile.mqtt5, source) is not None}
    context, trust, identity = tls_parts(profile, secrets)
    proxy = _proxy(profile, secrets)
    return SessionSettings(
        host=profile.broker_host, port=profile.broker_port, client_id=profile.client_id,
        protocol=profile.mqtt_version.protocol_level, keepalive=profile.keep_alive_s,
        clean_start=profile.clean_session, username=profile.username or None,
        password=secrets.mqtt_password if profile.username else None, will=will,
        tls=context, connect_timeout=float(profile.connect_timeout_s),
        max_inflight=profile.max_inflight, auto_reconnect=profile.auto_reconnect,
        connect_properties=properties, user_properties=profile.mqtt5.user_properties, identity=identity,
        trust=tuple(trust or ()), proxy=proxy,
        transport="websockets" if profile.transport is Transport.WEBSOCKETS else "tcp",
        websocket_path=profile.websocket_path)


def _proxy(profile: ConnectionProfile, secrets: ProfileSecrets) -> dict[str, object] | None:
    """paho's proxy_set() arguments, when PySocks is there to carry them.

    Raises:
        ProfileError: the profile uses a proxy and PySocks is missing.
    """
    if profile.proxy is None:
        return None
    try:
        import socks
    except ImportError:
        raise ProfileError(f"Profile '{profile.name}' connects through a {profile.proxy.kind.value} proxy, which "
                           "this installation cannot do", (PROXY_SUPPORT_NOTE,
                                                            "Install PySocks, or remove the proxy from the profile.")
                           ) from None
    kinds = {ProxyKind.HTTP: socks.HTTP, ProxyKind.SOCKS4: socks.SOCKS4, ProxyKind.SOCKS5: socks.SOCKS5}
    return {"proxy_type": kinds[profile.proxy.kind], "proxy_addr": profile.proxy.host,
            "proxy_port": profile.proxy.port, "proxy_username": profile.proxy.username or None,
            "proxy_password": secrets.proxy_password or None}


def client_certificate(profile: ConnectionProfile, secrets: ProfileSecrets) -> x509.Certificate:
    """The client certificate the profile would present (for the editor's "use certificate CN" button).

    Raises:
        ProfileError: the TLS mode has no client certificate; keystore errors as in `tls_context`.
    """
    tls = profile.tls
    if tls.mode is TlsMode.KEYSTORES and tls.client_keystore_file:
        return _key_pair(profile, secrets).chain[0]
    if tls.mode is TlsMode.SELF_SIGNED and tls.client_certificate_file:
        from workbench.core.pki.certio import load_certificates

        return load_certificates(_read(tls.client_certificate_file, "client certificate file"),
                                 "client certificate file")[0]
    raise ProfileError("This profile has no client certificate yet",
                       ("Choose 'Self signed certificates' or 'Self signed certificates in keystores' and set the "
                        "client certificate or keystore first.",))
