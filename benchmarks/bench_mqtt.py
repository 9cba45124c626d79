"""Throughput and latency of the MQTT endpoint with a real client (paho-mqtt).

The mock and its listener run in this process; the paho client runs in a child process,
as a device would, so the two do not share one interpreter lock.

- QoS 1 publish -> delivery: one paho client publishes N QoS 1 messages to a topic it is
  subscribed to; the clock runs from the first publish to the last delivery. The CPU
  time the mock's process spent meanwhile, per message, is the listener's cost, which
  does not depend on the client or on the machine's other load. Each message
  goes the whole way: TLS, decode, iot:Publish check, the mock's message path (message
  log, rules engine subscribers), routing, iot:Receive check, encode, TLS, PUBACKs both
  ways.
- Shadow round trip: publish to `$aws/things/<t>/shadow/update`, wait for
  `update/accepted`; median and p95 of R round trips.

    python benchmarks/bench_mqtt.py               # 5,000 messages, 200 round trips
    python benchmarks/bench_mqtt.py --quick       # 1,000 messages, 50 round trips
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import paho.mqtt.client as paho

from iotmock import IotMock, mock_iot

POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}],
}
Device = tuple[str, int, str, str, str]  # client id, port, CA file, cert file, key file


def _provision(mock: IotMock, directory: Path, thing: str) -> Device:
    iot = boto3.client("iot", region_name="us-east-1")
    certificate = iot.create_keys_and_certificate(setAsActive=True)
    iot.create_policy(policyName=f"all-{thing}", policyDocument=json.dumps(POLICY))
    iot.attach_policy(policyName=f"all-{thing}", target=certificate["certificateArn"])
    iot.create_thing(thingName=thing)
    iot.attach_thing_principal(thingName=thing, principal=certificate["certificateArn"])
    cert_file, key_file = directory / f"{thing}.pem", directory / f"{thing}.key"
    cert_file.write_text(certificate["certificatePem"])
    key_file.write_text(certificate["keyPair"]["PrivateKey"])
    assert mock.mqtt.running
    return thing, mock.mqtt.port, mock.mqtt.ca_file, str(cert_file), str(key_file)


# --------------------------------------------------------------------------- the device


def _connect(device: Device, topic_filter: str) -> paho.Client:
    client_id, port, ca_file, cert_file, key_file = device
    client = paho.Client(
        paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5
    )
    client.tls_set(ca_certs=ca_file, certfile=cert_file, keyfile=key_file)
    # Let paho keep many QoS 1 messages in flight (the server allows 100).
    client.max_inflight_messages_set(100)
    ready = threading.Event()
    client.on_connect = lambda *_args: None
    client.on_subscribe = lambda *_args: ready.set()
    client.connect("localhost", port)
    # Without this, Nagle's algorithm on the client holds each request until the server
    # acknowledges the client's previous PUBACK (a delayed ACK: ~40 ms per round trip).
    sock = client.socket()
    assert sock is not None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.loop_start()
    client.subscribe(topic_filter, qos=1)
    if not ready.wait(10):
        raise SystemExit("no SUBACK")
    return client


def _throughput_device(device: Device, count: int, results: Any) -> None:
    """Messages per second, QoS 1, publish to delivery."""
    client = _connect(device, "bench/#")
    received = 0
    finished = threading.Event()

    def on_message(*_args: Any) -> None:
        nonlocal received
        received += 1
        if received == count:
            finished.set()

    client.on_message = on_message
    payload = b'{"temperature": 21.5}'
    start = time.perf_counter()
    for number in range(count):
        client.publish(f"bench/{number % 10}", payload, qos=1)
    if not finished.wait(120):
        raise SystemExit(f"only {received} of {count} messages arrived")
    results.put(count / (time.perf_counter() - start))
    client.disconnect()
    client.loop_stop()


def _shadow_device(device: Device, count: int, results: Any) -> None:
    """Seconds from publishing a shadow update to receiving update/accepted."""
    topic = f"$aws/things/{device[0]}/shadow/update"
    client = _connect(device, f"{topic}/accepted")
    accepted = threading.Event()
    client.on_message = lambda *_args: accepted.set()
    times = []
    for number in range(count):
        accepted.clear()
        body = json.dumps({"state": {"reported": {"counter": number}}})
        start = time.perf_counter()
        client.publish(topic, body, qos=1)
        if not accepted.wait(10):
            raise SystemExit("no update/accepted")
        times.append(time.perf_counter() - start)
    results.put(times)
    client.disconnect()
    client.loop_stop()


def _in_child(target: Any, device: Device, count: int) -> Any:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=target, args=(device, count, results))
    child.start()
    outcome = results.get(timeout=300)
    child.join(30)
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    messages, trips = (1000, 50) if args.quick else (5000, 200)
    with mock_iot(mqtt=True) as mock, tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        device = _provision(mock, directory, "bench-pub")
        cpu = time.process_time()  # this process: the mock and its listener thread
        rate = _in_child(_throughput_device, device, messages)
        server_us = (time.process_time() - cpu) / messages * 1e6
        times = _in_child(_shadow_device, _provision(mock, directory, "bench-shadow"), trips)
    times_ms = sorted(t * 1000 for t in times)
    p95 = times_ms[int(len(times_ms) * 0.95) - 1]
    print(f"python {sys.version.split()[0]}")
    print(f"QoS 1 publish -> delivery: {messages} messages, {rate:,.0f} messages/s")
    print(
        f"  listener CPU per message: {server_us:.0f} us "
        f"(one core would serve {1e6 / server_us:,.0f} messages/s)"
    )
    print(
        f"shadow update round trip ({trips}): median {statistics.median(times_ms):.2f} ms, "
        f"p95 {p95:.2f} ms"
    )


if __name__ == "__main__":
    main()
