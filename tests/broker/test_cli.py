"""`python -m embedded_broker --sandbox`: prints its ports on one line and stops cleanly on SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.broker.conftest import Paho


def test_sandbox_prints_ports_serves_and_stops_on_sigint() -> None:
    env = dict(os.environ, PYTHONWARNINGS="error")
    proc = subprocess.Popen([sys.executable, "-m", "embedded_broker", "--sandbox", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("embedded-broker ports: mqtt=")
        port = int(line.split("mqtt=")[1].split()[0])
        client = Paho(port, "cli")
        client.subscribe("cli/t", 0)
        client.publish("cli/t", b"up")
        assert client.get().payload == b"up"
        proc.send_signal(signal.SIGINT)
        rc, _props = client.wait_disconnected()
        assert rc == 0x8B
        _out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0 and err == ""
        client.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_sandbox_deny_list() -> None:
    from embedded_broker.__main__ import build_parser, sandbox_extension
    from embedded_broker.mqtt.acl import TopicAcl
    from embedded_broker.mqtt.extension import Action

    acl = sandbox_extension(build_parser().parse_args(["--sandbox", "--deny-subscribe", "test/nosubscribe",
                                                       "--deny-publish", "ro/#"]))
    assert isinstance(acl, TopicAcl)
    assert acl.authorize(None, Action.SUBSCRIBE, "test/nosubscribe") == 0x87
    assert acl.authorize(None, Action.SUBSCRIBE, "test/other") == 0
    assert acl.authorize(None, Action.PUBLISH, "ro/x/y") == 0x87
    assert acl.authorize(None, Action.PUBLISH, "rw/x") == 0
