"""The seed's Paho/JSSE path: a Java program (JDK source launcher) opens a JSSE mutual-TLS socket with a JKS keystore
and truststore written by our keystore core, completes CONNECT/CONNACK as d:<CN> and gets a token over s/uat."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from tests.platform.conftest import wait_event
from tests.platform.support import Rest
from workbench.core.keystore import build_device_keystore, build_truststore

pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(shutil.which("java") is None, reason="java (JDK 17) is not installed")]

JAVA = r"""
import java.io.*;
import java.security.KeyStore;
import javax.net.ssl.*;

public class MqttConnect {
    static void writePacket(OutputStream out, int type, byte[] body) throws IOException {
        ByteArrayOutputStream packet = new ByteArrayOutputStream();
        packet.write(type);
        int length = body.length;
        do { int digit = length % 128; length /= 128; packet.write(length > 0 ? digit | 0x80 : digit); }
        while (length > 0);
        packet.write(body);
        out.write(packet.toByteArray());
        out.flush();
    }

    static byte[] utf8(String text) throws IOException {
        byte[] raw = text.getBytes("UTF-8");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(raw.length >> 8); out.write(raw.length & 0xff); out.write(raw);
        return out.toByteArray();
    }

    static int[] readPacket(DataInputStream in, ByteArrayOutputStream body) throws IOException {
        int type = in.readUnsignedByte();
        int multiplier = 1, length = 0, digit;
        do { digit = in.readUnsignedByte(); length += (digit & 127) * multiplier; multiplier *= 128; }
        while ((digit & 128) != 0);
        byte[] data = new byte[length];
        in.readFully(data);
        body.write(data);
        return new int[] {type, length};
    }

    public static void main(String[] args) throws Exception {
        String host = args[0]; int port = Integer.parseInt(args[1]); String clientId = args[2];
        char[] keyPass = args[4].toCharArray(), trustPass = args[6].toCharArray();
        KeyStore keyStore = KeyStore.getInstance("JKS");
        try (InputStream in = new FileInputStream(args[3])) { keyStore.load(in, keyPass); }
        KeyStore trustStore = KeyStore.getInstance("JKS");
        try (InputStream in = new FileInputStream(args[5])) { trustStore.load(in, trustPass); }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keyStore, keyPass);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trustStore);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(host, port);
        SSLParameters params = socket.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS");
        socket.setSSLParameters(params);
        socket.setSoTimeout(15000);
        socket.startHandshake();
        OutputStream out = socket.getOutputStream();
        DataInputStream in = new DataInputStream(socket.getInputStream());
        ByteArrayOutputStream connect = new ByteArrayOutputStream();
        connect.write(utf8("MQTT")); connect.write(4); connect.write(0x02); connect.write(0); connect.write(60);
        connect.write(utf8(clientId));
        writePacket(out, 0x10, connect.toByteArray());
        ByteArrayOutputStream ack = new ByteArrayOutputStream();
        readPacket(in, ack);
        int code = ack.toByteArray()[1];
        System.out.println("CONNACK " + code);
        if (code != 0) { socket.close(); return; }
        ByteArrayOutputStream subscribe = new ByteArrayOutputStream();
        subscribe.write(0); subscribe.write(1); subscribe.write(utf8("s/dat")); subscribe.write(0);
        writePacket(out, 0x82, subscribe.toByteArray());
        readPacket(in, new ByteArrayOutputStream());
        writePacket(out, 0x30, utf8("s/uat"));
        ByteArrayOutputStream publish = new ByteArrayOutputStream();
        int[] header = readPacket(in, publish);
        byte[] data = publish.toByteArray();
        int topicLength = ((data[0] & 0xff) << 8) | (data[1] & 0xff);
        String payload = new String(data, 2 + topicLength, data.length - 2 - topicLength, "UTF-8");
        System.out.println("TOKEN " + payload.substring(3));
        writePacket(out, 0xE0, new byte[0]);
        socket.close();
    }
}
"""


def run_java(folder: Path, port: int, client_id: str) -> subprocess.CompletedProcess[str]:
    source = folder / "MqttConnect.java"
    source.write_text(JAVA)
    return subprocess.run(["java", str(source), "localhost", str(port), client_id, str(folder / "device.jks"),
                           "device-pass", str(folder / "truststore.jks"), "trust-pass"],
                          capture_output=True, text=True, timeout=120)


def test_java_jsse_client_connects_and_gets_a_token(local, rest: Rest, root, ca_path: Path, tmp_path: Path) -> None:
    rest.upload(root)
    device = root.issue("java-dev-001")
    (tmp_path / "device.jks").write_bytes(build_device_keystore(device.key, device.chain, b"device-pass", "jks"))
    server_ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
    (tmp_path / "truststore.jks").write_bytes(build_truststore([server_ca], b"trust-pass", "jks"))
    result = run_java(tmp_path, local.ports["mqtts"], "d:java-dev-001")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "CONNACK 0", result.stdout + result.stderr
    assert lines[1].startswith("TOKEN ") and lines[1].count(".") == 2
    wait_event(local, "registered", lambda e: e["device"] == "java-dev-001")
    refused = run_java(tmp_path, local.ports["mqtts"], "d:someone-else")
    assert refused.stdout.splitlines()[0] == "CONNACK 5", refused.stdout + refused.stderr
