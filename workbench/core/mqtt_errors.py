"""MQTT connection failures in words: CONNACK codes, refused sockets, TLS alerts and early disconnects."""

from __future__ import annotations

import socket
import ssl

from workbench.errors import MqttConnectError

# MQTT 3.1.1 CONNACK return codes, and the v5 reason codes a broker uses to refuse a CONNECT.
_CONNACK_V3: dict[int, tuple[str, tuple[str, ...]]] = {
    1: ("the broker does not accept this MQTT version",
        ("Choose MQTT 3.1.1 in the profile: the platform's MQTT listeners speak 3.1 and 3.1.1 only.",)),
    2: ("the broker rejected the client id", ("Check the client id: a certificate device uses d:<CN>.",)),
    3: ("the broker is unavailable", ("Try again later, or check the broker's logs.",)),
    4: ("bad user name or password", ("Check the user (tenant/user on the platform) and the password.",)),
    5: ("not authorized",
        ("Check the certificate's CN against the client id: it must connect as d:<CN> (or <CN>).",
         "The CN must not contain ':'.",
         "The CA must be uploaded and enabled, with auto-registration on or the device bulk-registered.",
         "The certificate may be expired or revoked, or the chain too long.")),
}
_CONNACK_V5: dict[int, tuple[str, tuple[str, ...]]] = {
    0x80: ("unspecified error", ("Look at the broker's log for the reason.",)),
    0x81: ("the broker says the CONNECT was malformed", ("This is a client bug; report it.",)),
    0x82: ("protocol error", ("Check the MQTT 5 properties of the profile.",)),
    0x84: _CONNACK_V3[1],
    0x85: _CONNACK_V3[2],
    0x86: _CONNACK_V3[4],
    0x87: _CONNACK_V3[5],
    0x88: _CONNACK_V3[3],
    0x89: ("the broker is busy", ("Try again later.",)),
    0x8A: ("the client is banned", ("Ask the broker's administrator.",)),
    0x8C: ("bad authentication method", ("Remove the authentication method from the profile.",)),
    0x90: ("the will topic name is invalid", ("Fix the last-will topic.",)),
    0x95: ("the CONNECT is larger than the broker allows", ("Shorten the will payload or user properties.",)),
    0x97: ("quota exceeded", ("Wait, or reduce the connection rate.",)),
    0x9F: ("connection rate exceeded", ("Wait before reconnecting.",)),
}


def connack_error(code: int, protocol: int, broker: str, reason_string: str = "") -> MqttConnectError:
    """A refused CONNACK in words, with what to check."""
    table = _CONNACK_V5 if protocol == 5 else _CONNACK_V3
    meaning, causes = table.get(code, (f"refused with code {code}", ("Look at the broker's log.",)))
    extra = (f"The broker says: {reason_string}",) if reason_string else ()
    return MqttConnectError(f"{broker} refused the connection (CONNACK {code}: {meaning})", extra + causes)


def socket_error(exc: BaseException, broker: str) -> MqttConnectError:
    """Turn what connect() raised into words: refused, timeout, name lookup, TLS alert or unknown CA."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return MqttConnectError(
            f"The server certificate of {broker} is not trusted ({exc.verify_message})",
            ("The truststore or CA file does not contain the CA that signed the broker's certificate.",
             "Fetch the server certificate (workbench tls fetch HOST:PORT) and add it to the truststore.",
             "If the name does not match, check the host name or set the SNI server name."))
    if isinstance(exc, ssl.SSLError):
        reason = (exc.reason or str(exc)).upper()
        if "UNKNOWN_CA" in reason:
            return MqttConnectError(f"{broker} does not trust the client certificate (TLS alert unknown_ca)",
                                    ("Upload the CA that signed the device certificate to the platform.",
                                     "Send the full chain: the keystore must hold the device key with its chain."))
        if "CERTIFICATE_REQUIRED" in reason or "HANDSHAKE_FAILURE" in reason:
            return MqttConnectError(f"{broker} asked for a client certificate and got none it accepts",
                                    ("Set the client keystore (or certificate and key) in the profile.",))
        if "WRONG_VERSION_NUMBER" in reason or "PACKET_LENGTH_TOO_LONG" in reason:
            return MqttConnectError(f"{broker} does not speak TLS on this port",
                                    ("Use the TLS port (8883), or turn TLS off for a plain port (1883).",))
        if "PROTOCOL_VERSION" in reason or "UNSUPPORTED_PROTOCOL" in reason:
            return MqttConnectError(f"{broker} and the profile share no TLS version",
                                    ("Allow TLS 1.2 and 1.3 in the profile.",))
        return MqttConnectError(f"The TLS handshake with {broker} failed ({exc.reason or exc})",
                                ("Check the TLS settings of the profile.",))
    if isinstance(exc, ConnectionRefusedError):
        return MqttConnectError(f"{broker} refused the TCP connection",
                                ("Nothing listens on that port: check the port and that the broker runs.",))
    if isinstance(exc, socket.gaierror):
        return MqttConnectError(f"The host name of {broker} cannot be resolved", ("Check the broker address.",))
    if isinstance(exc, TimeoutError | socket.timeout):
        return MqttConnectError(f"{broker} did not answer in time",
                                ("Check the address, the port and any firewall.",))
    return MqttConnectError(f"Could not connect to {broker}: {exc}", ("Check the broker address and port.",))


def early_disconnect_error(broker: str, tls: bool) -> MqttConnectError:
    """The broker closed before CONNACK: on TLS 1.3 that is how a rejected client certificate shows up."""
    if tls:
        return MqttConnectError(
            f"{broker} closed the connection before answering the CONNECT",
            ("With TLS 1.3 a rejected client certificate shows up this way: the CA may not be uploaded, or "
             "the chain in the keystore does not reach it.",
             "The certificate may be expired, revoked, or its key may not match.",
             "The broker may not accept this client id or MQTT version."))
    return MqttConnectError(f"{broker} closed the connection before answering the CONNECT",
                            ("The broker may not accept this client id, credentials or MQTT version.",))
