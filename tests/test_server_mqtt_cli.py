"""`iotmock serve --mqtt-port 0`: a standalone server with its MQTT endpoint, used by a
real MQTT client (paho) and an AWS SDK client of the same state; it stops on SIGTERM."""

from __future__ import annotations

import queue
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import paho.mqtt.client as paho
import pytest
from server_helpers import isolated_environment

WAIT = 10.0


def test_serve_with_mqtt_port_prints_the_endpoint_serves_devices_and_stops(
    tmp_path: Path,
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "iotmock", "serve", "--port", "0", "--mqtt-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=isolated_environment(),
    )
    assert process.stdout is not None
    try:
        http = re.search(r"at (http://127\.0\.0\.1:\d+) ", process.stdout.readline())
        mqtt_line = process.stdout.readline()
        mqtt = re.search(r"MQTT at mqtts://127\.0\.0\.1:(\d+) \(CA file (\S+)\)", mqtt_line)
        assert http and mqtt, mqtt_line
        port, ca_file = int(mqtt.group(1)), mqtt.group(2)
        assert Path(ca_file).read_text().startswith("-----BEGIN CERTIFICATE-----")
        options = {
            "region_name": "us-east-1",
            "endpoint_url": http.group(1),
            "aws_access_key_id": "AKIAIOTMOCK",
            "aws_secret_access_key": "x",
        }
        iot = boto3.client("iot", **options)
        created = iot.create_keys_and_certificate(setAsActive=True)
        iot.create_policy(
            policyName="all",
            policyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",'
            ' "Action": "iot:*", "Resource": "*"}]}',
        )
        iot.attach_policy(policyName="all", target=created["certificateArn"])
        (tmp_path / "d.pem").write_text(created["certificatePem"])
        (tmp_path / "d.key").write_text(created["keyPair"]["PrivateKey"])

        received: queue.Queue[tuple[str, bytes]] = queue.Queue()
        subscribed: queue.Queue[bool] = queue.Queue()
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="cli-device")
        client.tls_set(
            ca_certs=ca_file, certfile=str(tmp_path / "d.pem"), keyfile=str(tmp_path / "d.key")
        )
        client.on_message = lambda _c, _u, m: received.put((m.topic, m.payload))
        client.on_subscribe = lambda *_args: subscribed.put(True)
        client.connect("localhost", port)
        client.loop_start()
        try:
            client.subscribe("commands/#", qos=1)
            assert subscribed.get(timeout=WAIT)
            # An SDK call on the HTTP side reaches the device over MQTT.
            boto3.client("iot-data", **options).publish(topic="commands/1", payload=b"go", qos=1)
            assert received.get(timeout=WAIT) == ("commands/1", b"go")
        finally:
            client.disconnect()
            client.loop_stop()
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=WAIT)
    assert process.returncode == 0, err
    assert "iotmock stopped" in out
    # Stopped cleanly: the MQTT socket is closed and the CA file removed.
    assert not Path(ca_file).exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=WAIT).close()
