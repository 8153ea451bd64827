"""`workbench mqtt pub|sub|rr`: the mosquitto clients' verbs over the saved profiles (keystores and keyring
secrets included) or ad-hoc options with mosquitto's names; exit 0 ok, 1 failed (connection, no answer), 2 usage."""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

from workbench.cli.common import add_password_options, add_vault_options, cli_secrets, read_file_bytes, read_password
from workbench.core.console.messages import topic_matches
from workbench.core.profiles.store import ProfileStore
from workbench.errors import InvalidInputError, MqttConnectError
from workbench.services import mqtt_targets
from workbench.services.mqtt_session import SessionSettings
from workbench.services.mqtt_verbs import BlockingClient, Message, PublishRequest, SubscribeRequest

_VERSIONS = {"31": 3, "mqttv31": 3, "311": 4, "mqttv311": 4, "5": 5, "mqttv5": 5}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `mqtt` and its verbs."""
    mqtt = subparsers.add_parser("mqtt", help="publish, subscribe and request/response over MQTT (like mosquitto_pub, "
                                              "_sub and _rr), with a saved profile or ad-hoc options")
    sub = mqtt.add_subparsers(dest="mqtt_command", metavar="VERB", required=True)
    pub = _verb(sub, "pub", "publish one message (mosquitto_pub)")
    _payload_options(pub)
    pub.add_argument("-r", "--retain", action="store_true", help="ask the broker to retain the message")
    pub.set_defaults(handler=_pub)
    s = _verb(sub, "sub", "print the messages on topic filters (mosquitto_sub); without -t: the profile's own")
    s.add_argument("-C", dest="count", type=int, metavar="N", help="exit after N messages")
    s.add_argument("-W", dest="wait", type=float, metavar="SECONDS", help="exit after SECONDS (exit 1 when -C N "
                                                                           "messages had not arrived by then)")
    s.add_argument("-v", "--verbose", action="store_true", help="print the topic before each payload")
    s.add_argument("--json", action="store_true", help="print JSON Lines: topic, payload (text, else base64), qos, "
                                                       "retain, time, MQTT 5 properties")
    decoding = s.add_mutually_exclusive_group()
    decoding.add_argument("--decode", metavar="KIND", help="decode payloads: auto, text, json, hex, base64, cbor, "
                                                           "msgpack or sparkplug (default: the profile's choices "
                                                           "per filter, else the raw payload)")
    decoding.add_argument("--proto", metavar="FILE.proto:TYPE", help="decode payloads as the Protobuf message TYPE "
                                                                     "of your .proto file (compiled with protoc)")
    s.set_defaults(handler=_sub)
    rr = _verb(sub, "rr", "publish a request and print the first response (mosquitto_rr)")
    _payload_options(rr)
    rr.add_argument("-e", dest="response_topic", required=True, metavar="TOPIC", help="topic the response arrives on")
    rr.add_argument("-W", dest="wait", type=float, metavar="SECONDS", help="seconds to wait for the response "
                                                                           "(default: the connect timeout)")
    rr.add_argument("-v", "--verbose", action="store_true", help="print the topic before the payload")
    rr.set_defaults(handler=_rr)


def _verb(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, text: str) -> argparse.ArgumentParser:
    # add_help=False: -h is the host, as in the mosquitto clients; --help stays.
    p = sub.add_parser(name, help=text, description=text, add_help=False)
    p.add_argument("--help", action="help", help="show this help and exit")
    p.add_argument("--profile", metavar="NAME", help="a saved profile (name or id; `workbench profile list`)")
    p.add_argument("-t", dest="topics", action="append", default=[], metavar="TOPIC",
                   help="topic (pub, rr) or filter (sub; repeat for several)")
    p.add_argument("-q", dest="qos", type=int, choices=(0, 1, 2), default=0, help="QoS (default 0)")
    p.add_argument("-i", dest="client_id", metavar="ID", help="client id (with --profile: instead of the profile's)")
    g = p.add_argument_group("ad-hoc connection (instead of --profile; mosquitto's names)")
    g.add_argument("-h", dest="host", metavar="HOST", help="broker host (default localhost)")
    g.add_argument("-p", dest="port", type=int, metavar="PORT", help="port (default 1883; 8883 with TLS; 80/443 over "
                                                                     "WebSocket)")
    g.add_argument("-V", dest="version", choices=sorted(_VERSIONS), help="MQTT version (default 311)")
    g.add_argument("-k", dest="keepalive", type=int, default=60, metavar="SECONDS", help="keep alive (default 60)")
    g.add_argument("-u", dest="username", metavar="USER", help="user name (password: --password-file/-env)")
    add_password_options(g, "mqtt_password", "the MQTT user")
    g.add_argument("--tls", action="store_true", help="TLS with the system's trust (implied by any TLS option)")
    g.add_argument("--cafile", metavar="FILE", help="trust these CA certificates (PEM)")
    g.add_argument("--cert", metavar="FILE", help="client certificate chain (PEM)")
    g.add_argument("--key", metavar="FILE", help="client private key (PEM)")
    add_password_options(g, "key_password", "--key")
    g.add_argument("--keystore", metavar="FILE", help="client keystore (PKCS#12 or JKS) with the device key pair")
    g.add_argument("--keystore-alias", metavar="ALIAS", help="key entry in --keystore (default: the only one)")
    add_password_options(g, "keystore_password", "--keystore")
    g.add_argument("--truststore", metavar="FILE", help="truststore (PKCS#12 or JKS) with the server's CA")
    add_password_options(g, "truststore_password", "--truststore")
    g.add_argument("--alpn", action="append", default=[], metavar="PROTOCOL",
                   help="ALPN protocol to offer (repeat for several), e.g. x-amzn-mqtt-ca for AWS IoT on port 443")
    g.add_argument("--servername", metavar="NAME", help="TLS server name (SNI) to send and verify instead of -h")
    g.add_argument("--insecure", action="store_true", help="do not check the server's host name (mosquitto's "
                                                           "--insecure); the chain is still verified")
    g.add_argument("--skip-server-verification", action="store_true",
                   help="DANGEROUS: accept any server certificate (for broken test brokers only)")
    g.add_argument("--ws", action="store_true", help="MQTT over WebSocket (ws://, or wss:// with TLS)")
    g.add_argument("--ws-path", default="/mqtt", metavar="PATH", help="WebSocket path (default /mqtt)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="seconds to wait for the connection and acknowledgements (default 10)")
    add_vault_options(p)
    return p


def _payload_options(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("-m", dest="message", metavar="TEXT", help="the payload")
    group.add_argument("-f", dest="file", metavar="FILE", help="the payload is this file's content")
    group.add_argument("-s", dest="stdin", action="store_true", help="the payload is standard input")
    group.add_argument("-n", dest="null", action="store_true", help="an empty payload (e.g. s/uat)")


_CONNECTION_FLAGS = ("host", "port", "version", "username", "cafile", "cert", "key", "keystore", "truststore",
                     "servername", "keystore_alias")


def _settings(args: argparse.Namespace, stack: contextlib.ExitStack) -> tuple[SessionSettings, list[str]]:
    """The connection the options describe, and the subscriptions of a profile (for sub without -t); a profile's
    payload decoders are left in `args.profile_decoders`."""
    if args.profile:
        given = [f for f in _CONNECTION_FLAGS if getattr(args, f, None)] + [
            f for f in ("alpn", "tls", "insecure", "skip_server_verification", "ws") if getattr(args, f)]
        if given:
            flags = ", ".join(sorted(given))
            raise InvalidInputError(f"--profile and ad-hoc connection options ({flags}) do not go together",
                                    ("Use the profile as saved (edit it in the GUI), or drop --profile.",))
        store = ProfileStore(secrets=cli_secrets(args))
        if mqtt_targets.is_builtin_platform(args.profile, store):
            target = stack.enter_context(mqtt_targets.local_platform_profile(store))
            if target.note:
                print(f"note: {target.note}", file=sys.stderr)
            profile = target.profile
        else:
            profile = mqtt_targets.find_profile(store, args.profile)
        for warning in profile.warnings():
            if "verification is OFF" in warning:
                print(f"warning: {warning}", file=sys.stderr)
        settings = mqtt_targets.profile_settings(store, profile, client_id=args.client_id)
        args.profile_decoders = dict(getattr(profile, "payload_decoders", ()))
        return settings, [s.topic_filter for s in profile.subscriptions]
    if args.skip_server_verification:
        print("warning: server certificate verification is OFF: any server can pose as the broker", file=sys.stderr)
    options = mqtt_targets.AdHocConnection(
        host=args.host or "localhost", port=args.port, client_id=args.client_id or "",
        protocol=_VERSIONS[args.version] if args.version else 4, keepalive=args.keepalive,
        username=args.username or "", password=_text(read_password(args, "mqtt_password", required=False))
        if args.username else None,
        tls=args.tls, cafile=args.cafile or "", cert=args.cert or "", key=args.key or "",
        key_password=_optional(args, "key_password", "Key password: ") if args.key else None,
        keystore=args.keystore or "",
        keystore_password=_optional(args, "keystore_password", "Keystore password: ") if args.keystore else None,
        keystore_alias=args.keystore_alias, truststore=args.truststore or "",
        truststore_password=_optional(args, "truststore_password", "Truststore password: ")
        if args.truststore else None,
        alpn=tuple(args.alpn), server_name=args.servername or "", insecure_hostname=args.insecure,
        skip_server_verification=args.skip_server_verification, websockets=args.ws, websocket_path=args.ws_path,
        connect_timeout=args.timeout)
    return mqtt_targets.adhoc_settings(options), []


def _optional(args: argparse.Namespace, name: str, prompt: str) -> bytes | None:
    """A file's password from --NAME-file/-env or a prompt; none (not required) without a terminal."""
    return read_password(args, name, prompt=prompt, required=False)


def _text(value: bytes | None) -> str | None:
    return value.decode() if value is not None else None


def _payload(args: argparse.Namespace) -> bytes:
    if args.file:
        return read_file_bytes(args.file, "payload")
    if args.stdin:
        return sys.stdin.buffer.read()
    if args.message is not None:
        return str(args.message).encode()
    if args.null:
        return b""
    raise InvalidInputError("No payload given", ("Give -m TEXT, -f FILE, -s (standard input) or -n (empty).",))


def _one_topic(args: argparse.Namespace) -> str:
    if len(args.topics) != 1:
        raise InvalidInputError("Give exactly one topic with -t" if not args.topics else "Give only one -t topic",
                                ("e.g. -t s/us",))
    return str(args.topics[0])


@contextlib.contextmanager
def _connected(args: argparse.Namespace) -> Iterator[tuple[BlockingClient, list[str]]]:
    with contextlib.ExitStack() as stack:
        settings, subscriptions = _settings(args, stack)
        client = BlockingClient(settings, timeout=args.timeout)
        client.connect()
        try:
            yield client, subscriptions
        finally:
            client.close()


def _pub(args: argparse.Namespace) -> int:
    request = PublishRequest(_one_topic(args), _payload(args), args.qos, args.retain)
    with _connected(args) as (client, _subs):  # no connection: MqttConnectError, exit 1 (run_cli's rule)
        client.publish(request)
    return 0


def _sub(args: argparse.Namespace) -> int:
    if args.count is not None and args.count < 1:
        raise InvalidInputError("-C needs a positive count", ("e.g. -C 1 for the first message.",))
    requests = [SubscribeRequest(t, args.qos) for t in args.topics]
    received = 0
    with _connected(args) as (client, subscriptions):
        if not requests:
            if not subscriptions:
                raise InvalidInputError("No topic filter to subscribe to",
                                        ("Give -t FILTER (repeat for several), or a profile with saved "
                                         "subscriptions.",))
            requests = [SubscribeRequest(t, args.qos) for t in subscriptions]
        for request in requests:
            client.subscribe(request)
        decode = _decoding(args, [r.topic_filter for r in requests])
        for message in client.messages(args.count, args.wait):
            print(_render(message, args, decode(message)), flush=True)
            received += 1
    if args.count is not None and received < args.count:  # the check failed: exit 1
        raise MqttConnectError(f"{received} of {args.count} message(s) arrived within {args.wait:g} s",
                               ("Check that something publishes on the filter, or wait longer with -W.",))
    return 0


def _rr(args: argparse.Namespace) -> int:
    request = PublishRequest(_one_topic(args), _payload(args), args.qos)
    SubscribeRequest(args.response_topic, args.qos)  # a bad -e is a usage error, before any connection
    with _connected(args) as (client, _subs):
        message = client.request(request, args.response_topic, args.wait)
    print(_render(message, args), flush=True)
    return 0


def _decoding(args: argparse.Namespace, filters: list[str]) -> Callable[[Message], Any]:
    """The decoder per message: --decode/--proto for all, else the profile's choice for the first filter that
    matches, else none (the raw payload, as mosquitto_sub prints it). Building one may fail (a .proto that does not
    compile): that is a usage error, before any message."""
    from workbench.core.console.decoders import DecoderSpec
    from workbench.services import payload_codecs

    if args.decode or args.proto:
        spec = DecoderSpec.parse(args.decode if args.decode else f"protobuf:{args.proto}")
        decoder = payload_codecs.build_decoder(spec)
        return lambda message: decoder.decode(message.payload, message.topic)
    choices = {f: d for f, d in getattr(args, "profile_decoders", {}).items() if f in filters}
    if not choices:
        return lambda message: None
    table = payload_codecs.load_table(choices)
    for topic_filter, problem in table.problems.items():
        print(f"note: the decoder for '{topic_filter}' is not used: {problem}", file=sys.stderr)

    def by_filter(message: Message) -> Any:
        matched = next((f for f in filters if f in choices and topic_matches(f, message.topic)), None)
        return None if matched is None else table.decoder_for(matched).decode(message.payload, message.topic)

    return by_filter


def _render(message: Message, args: argparse.Namespace, decoded: Any = None) -> str:
    """mosquitto_sub's output (payload, or `topic payload` with -v), or one JSON line with --json; a payload that
    does not decode is printed raw, with its one-line reason on stderr."""
    if getattr(args, "json", False):
        return json.dumps(_as_json(message, decoded), ensure_ascii=False, default=str)
    if decoded is not None and not decoded.ok:
        print(f"note: {message.topic}: shown raw, not {decoded.decoder}: {decoded.reason}", file=sys.stderr)
    text = decoded.text if decoded is not None and decoded.ok else message.payload.decode("utf-8", "replace")
    return f"{message.topic} {text}" if args.verbose else text


def _as_json(message: Message, decoded: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"topic": message.topic}
    try:
        out["payload"] = message.payload.decode("utf-8")
    except UnicodeDecodeError:
        out["payload_base64"] = base64.b64encode(message.payload).decode()
    if decoded is not None:
        out["decoder"] = decoded.decoder
        if decoded.ok:
            out["decoded"] = decoded.value if decoded.value is not None else decoded.text
        else:
            out["decode_error"] = decoded.reason
    out.update(qos=message.qos, retain=message.retain, time=message.received_at)
    if message.properties:
        out["properties"] = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in message.properties.items()}
    return out
