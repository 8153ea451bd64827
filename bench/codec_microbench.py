"""Codec microbenchmark: ns per PUBLISH encode and decode, the broker's per-message floor."""

from __future__ import annotations

import time

from embedded_broker.mqtt.codec.decode import decode_packet
from embedded_broker.mqtt.codec.encode import encode_publish


def _ns_per_op(fn, n: int = 200_000) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return (time.perf_counter_ns() - start) / n


def main() -> None:
    payload = b"x" * 100
    for qos, packet_id in ((0, None), (1, 7)):
        for version in (4, 5):
            data = encode_publish("sensors/dev-1/temp", payload, qos, False, False, packet_id, None, version)
            body = data[2:]
            enc = _ns_per_op(lambda: encode_publish("sensors/dev-1/temp", payload, qos, False, False,  # noqa: B023
                                                   packet_id, None, version))  # noqa: B023
            dec = _ns_per_op(lambda: decode_packet(data[0], body, version))  # noqa: B023
            print(f"QoS{qos} MQTT{'5' if version == 5 else '3.1.1'} 100-byte PUBLISH: "
                  f"encode {enc:,.0f} ns, decode {dec:,.0f} ns")


if __name__ == "__main__":
    main()
