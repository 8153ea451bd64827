"""Codec microbenchmark: ns per PUBLISH encode and decode, the broker's per-message floor, against a peer that runs
here in the same run: the smallest correct pure-Python PUBLISH encoder and decoder (struct and bytes, no
validation, no properties), i.e. what any Python broker pays at least.

Run: python bench/codec_microbench.py [--ops 100000] [--rounds 3] [--quick]. Rounds are interleaved (ours encode,
peer encode, ours decode, peer decode, ...) and the medians printed. What is parallel: nothing; one thread times
one function at a time.
"""

from __future__ import annotations

import argparse
import struct
import sys
import time
from collections.abc import Callable

import benchlib

from embedded_broker.mqtt.codec.decode import decode_packet
from embedded_broker.mqtt.codec.encode import encode_publish

TOPIC = "sensors/dev-1/temp"


def _ns_per_op(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return (time.perf_counter_ns() - start) / n


def peer_encode(topic: str, payload: bytes, qos: int, packet_id: int | None, version: int) -> bytes:
    """A minimal PUBLISH: fixed header, topic, packet id, (empty MQTT 5 properties), payload."""
    name = topic.encode()
    body = struct.pack("!H", len(name)) + name + (struct.pack("!H", packet_id) if qos else b"") + \
        (b"\x00" if version == 5 else b"") + payload
    length, out = len(body), bytearray([0x30 | (qos << 1)])
    while True:
        byte, length = length % 128, length // 128
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out) + body


def peer_decode(first: int, body: bytes, version: int) -> tuple[str, int | None, bytes]:
    """The inverse of peer_encode (topic, packet id, payload), without any validation."""
    qos = (first >> 1) & 3
    length = struct.unpack_from("!H", body)[0]
    topic = body[2:2 + length].decode()
    pos = 2 + length
    packet_id = None
    if qos:
        packet_id = struct.unpack_from("!H", body, pos)[0]
        pos += 2
    if version == 5:
        pos += 1 + body[pos]  # properties length (< 128 here) and the properties
    return topic, packet_id, body[pos:]


def main() -> int:
    """Time ours and the peer, interleaved, per QoS and protocol version; print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=100_000)
    benchlib.add_arguments(parser)
    args = parser.parse_args()
    if args.quick:
        args.ops, args.rounds = 2_000, 1
    benchlib.begin(f"codec: ns per 100-byte PUBLISH, {args.ops:,} calls per run, {args.rounds} interleaved rounds",
                   "none: one thread times one function at a time", args)
    payload = b"x" * 100
    for qos, packet_id in ((0, None), (1, 7)):
        for version in (4, 5):
            data = encode_publish(TOPIC, payload, qos, False, False, packet_id, None, version)
            body = data[2:]
            assert peer_decode(data[0], body, version)[2] == payload  # the peer reads what ours writes
            sides = {
                "ours encode": lambda: _ns_per_op(lambda: encode_publish(
                    TOPIC, payload, qos, False, False, packet_id, None, version), args.ops),  # noqa: B023
                "peer encode": lambda: _ns_per_op(lambda: peer_encode(TOPIC, payload, qos, packet_id,  # noqa: B023
                                                                      version), args.ops),  # noqa: B023
                "ours decode": lambda: _ns_per_op(lambda: decode_packet(data[0], body, version),  # noqa: B023
                                                  args.ops),
                "peer decode": lambda: _ns_per_op(lambda: peer_decode(data[0], body, version),  # noqa: B023
                                                  args.ops),
            }
            runs = benchlib.interleave(args.rounds, sides)
            m = {name: benchlib.median(values) for name, values in runs.items()}
            print(f"QoS{qos} MQTT{'5' if version == 5 else '3.1.1'}: encode {m['ours encode']:,.0f} ns (peer "
                  f"{m['peer encode']:,.0f} ns, {benchlib.ratio(m['ours encode'], m['peer encode'])}), decode "
                  f"{m['ours decode']:,.0f} ns (peer {m['peer decode']:,.0f} ns, "
                  f"{benchlib.ratio(m['ours decode'], m['peer decode'])}); ratio = ours / peer time, lower is faster")
    benchlib.end()
    return 0


if __name__ == "__main__":
    sys.exit(main())
