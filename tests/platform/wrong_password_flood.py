"""A wrong-password MQTT flood as its own process (so its work never shares the platform's interpreter lock).

`python -m tests.platform.wrong_password_flood PORT USER CONCURRENCY`: that many concurrent plain MQTT 3.1.1
CONNECTs with wrong passwords, each repeated as soon as its CONNACK arrived. Prints `flooding` once every client
has had a first answer, and, when stdin is closed, one JSON line: how many CONNACKs of each return code it got
(-1: the connection closed before a CONNACK).
"""

from __future__ import annotations

import asyncio
import collections
import json
import sys
import threading


def _string(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(2, "big") + data


def connect_packet(client_id: str, username: str, password: str) -> bytes:
    """CONNECT with clean session, user name and password (MQTT 3.1.1)."""
    body = _string("MQTT") + bytes([4, 0xC2, 0, 30]) + _string(client_id) + _string(username) + _string(password)
    assert len(body) < 128
    return bytes([0x10, len(body)]) + body


async def flooder(port: int, user: str, n: int, codes: collections.Counter[int], first: asyncio.Event,
                  answered: set[int], total: int, stop: asyncio.Event) -> None:
    """Connect, send a wrong password, count the CONNACK's return code, close; again until stopped."""
    packet = connect_packet(f"flooder-{n}", user, f"wrong-password-{n}")
    while not stop.is_set():
        code = -1
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(packet)
            answer = await asyncio.wait_for(reader.readexactly(4), 30)
            code = answer[3] if answer[0] == 0x20 else -1
            writer.close()
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            pass
        codes[code] += 1
        answered.add(n)
        if len(answered) == total:
            first.set()


async def main(port: int, user: str, concurrency: int) -> None:
    """Flood until stdin closes, then print the counts."""
    loop = asyncio.get_running_loop()
    stop, first = asyncio.Event(), asyncio.Event()
    def closed() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(lambda: (stop.set(), first.set()))

    threading.Thread(target=closed, daemon=True).start()
    codes: collections.Counter[int] = collections.Counter()
    answered: set[int] = set()
    tasks = [asyncio.create_task(flooder(port, user, n, codes, first, answered, concurrency, stop))
             for n in range(concurrency)]
    await first.wait()
    print("flooding", flush=True)
    await stop.wait()
    await asyncio.gather(*tasks)
    print(json.dumps({str(code): count for code, count in codes.items()}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
