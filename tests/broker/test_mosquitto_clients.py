"""mosquitto_pub / mosquitto_sub as a second independent client implementation (plain TCP)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.broker.conftest import Paho

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("mosquitto_sub") is None, reason="mosquitto clients are not installed"),
]


@pytest.mark.parametrize("version", ["mqttv311", "mqttv5"])
def test_mosquitto_sub_receives_retained_and_live(port: int, version: str) -> None:
    publisher = Paho(port, "p")
    try:
        publisher.publish("mq/t", b"retained one", qos=1, retain=True)
        sub = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-V", version, "-t", "mq/#", "-q", "1",
             "-C", "2", "-v", "-W", "10"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert sub.stdout is not None
        first = sub.stdout.readline()  # the retained message proves the subscription is active
        publisher.publish("mq/t", b"live two", qos=1)
        out, err = sub.communicate(timeout=10)
        assert sub.returncode == 0, err
        assert [first.strip(), out.strip()] == ["mq/t retained one", "mq/t live two"]
    finally:
        publisher.close()


@pytest.mark.parametrize("qos", ["0", "1", "2"])
def test_mosquitto_pub_reaches_paho(port: int, paho: object, qos: str) -> None:
    sub = Paho(port, "s", version=4)
    try:
        sub.subscribe("mqpub/t", 2)
        result = subprocess.run(
            ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", "mqpub/t", "-m", "from mosquitto",
             "-q", qos, "-V", "mqttv5", "-D", "publish", "user-property", "k", "v"],
            capture_output=True, text=True, timeout=10,
        )
        assert result.returncode == 0, result.stderr
        msg = sub.get()
        assert (msg.payload, msg.qos) == (b"from mosquitto", int(qos))
    finally:
        sub.close()
