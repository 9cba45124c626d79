"""Helpers for the MQTT device tests: certificates from boto3, and a paho client wrapped
so every wait is bounded."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from iotmock import IotMock

REGION = "us-east-1"
WAIT = 5.0
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}],
}


@dataclass
class Credentials:
    certificate_arn: str
    certificate_id: str
    cert_file: str
    key_file: str


def write_credentials(directory: Path, certificate: dict[str, Any]) -> Credentials:
    name = certificate["certificateId"][:12]
    cert_file = directory / f"{name}.pem"
    key_file = directory / f"{name}.key"
    cert_file.write_text(certificate["certificatePem"])
    key_file.write_text(certificate["keyPair"]["PrivateKey"])
    return Credentials(
        certificate["certificateArn"], certificate["certificateId"], str(cert_file), str(key_file)
    )


def provision(
    directory: Path,
    *,
    thing: str | None = None,
    policy: dict[str, Any] | None = None,
    active: bool = True,
) -> Credentials:
    """A certificate from CreateKeysAndCertificate with `policy` attached (allow-all by
    default) and, when given, attached to the thing `thing` (created if needed)."""
    iot = boto3.client("iot", region_name=REGION)
    certificate = iot.create_keys_and_certificate(setAsActive=active)
    policy_name = f"policy-{uuid.uuid4().hex[:8]}"
    iot.create_policy(policyName=policy_name, policyDocument=json.dumps(policy or ALLOW_ALL))
    iot.attach_policy(policyName=policy_name, target=certificate["certificateArn"])
    if thing is not None:
        with contextlib.suppress(iot.exceptions.ResourceAlreadyExistsException):
            iot.create_thing(thingName=thing)
        iot.attach_thing_principal(thingName=thing, principal=certificate["certificateArn"])
    return write_credentials(directory, certificate)


class Device:
    """A paho MQTT client (3.1.1 or 5) whose callbacks feed queues."""

    def __init__(
        self,
        mock: IotMock,
        credentials: Credentials,
        client_id: str,
        *,
        version: int = 5,
        clean: bool = True,
    ) -> None:
        assert mock.mqtt.running
        self.mock = mock
        self.version = version
        protocol = paho.MQTTv5 if version == 5 else paho.MQTTv311
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=protocol,
            clean_session=None if version == 5 else clean,
            reconnect_on_failure=False,
        )
        self.clean = clean
        self.client.tls_set(
            ca_certs=mock.mqtt.ca_file, certfile=credentials.cert_file, keyfile=credentials.key_file
        )
        self.client.connect_timeout = WAIT
        self.messages: queue.Queue[paho.MQTTMessage] = queue.Queue()
        self.unread: list[paho.MQTTMessage] = []
        self.connack: queue.Queue[tuple[Any, Any, Any]] = queue.Queue()
        self.subacks: queue.Queue[list[int]] = queue.Queue()
        self.pubacks: dict[int, int] = {}
        self.acked = threading.Condition()
        self.disconnected = threading.Event()
        self.disconnect_reason: Any = None
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda _c, _u, message: self.messages.put(message)
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish
        self.client.on_disconnect = self._on_disconnect

    # callbacks (paho's network thread)
    def _on_connect(self, _c: Any, _u: Any, flags: Any, reason: Any, properties: Any) -> None:
        self.connack.put((flags, reason, properties))

    def _on_subscribe(self, _c: Any, _u: Any, _mid: int, codes: Any, _p: Any) -> None:
        self.subacks.put([code.value for code in codes])

    def _on_publish(self, _c: Any, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        with self.acked:
            self.pubacks[mid] = reason.value
            self.acked.notify_all()

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.disconnect_reason = reason
        self.disconnected.set()

    # operations
    def connect(
        self,
        *,
        keepalive: int = 60,
        will: tuple[str, bytes, bool] | None = None,
        session_expiry: int | None = None,
    ) -> tuple[Any, Any, Any]:
        """CONNECT and wait for CONNACK: (flags, reason code, properties). Raises
        AssertionError when the server closes the connection without CONNACK."""
        if will is not None:
            self.client.will_set(will[0], will[1], qos=1, retain=will[2])
        properties = None
        if self.version == 5 and session_expiry is not None:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = session_expiry
        assert self.mock.mqtt.running
        self.client.connect(
            "localhost",
            self.mock.mqtt.port,
            keepalive=keepalive,
            clean_start=self.clean if self.version == 5 else paho.MQTT_CLEAN_START_FIRST_ONLY,
            properties=properties,
        )
        self.client.loop_start()
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                return self.connack.get(timeout=0.05)
            except queue.Empty:
                if self.disconnected.is_set():
                    break
        raise AssertionError("no CONNACK")

    def subscribe(self, topic_filter: str, qos: int = 1) -> list[int]:
        self.client.subscribe(topic_filter, qos=qos)
        return self.subacks.get(timeout=WAIT)

    def publish(self, topic: str, payload: Any, *, qos: int = 1, retain: bool = False) -> int:
        """Publish and, at QoS 1, wait for PUBACK: its reason code (0 at QoS 0)."""
        data = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        info = self.client.publish(topic, data, qos=qos, retain=retain)
        if qos == 0:
            return 0
        with self.acked:
            assert self.acked.wait_for(lambda: info.mid in self.pubacks, WAIT), "no PUBACK"
            return self.pubacks[info.mid]

    def expect(self, topic: str, timeout: float = WAIT) -> paho.MQTTMessage:
        """The oldest message received on `topic` not yet expected (messages of other
        topics stay available to later calls)."""
        for index, message in enumerate(self.unread):
            if message.topic == topic:
                return self.unread.pop(index)
        while True:
            try:
                message = self.messages.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no message on {topic}") from None
            if message.topic == topic:
                return message
            self.unread.append(message)

    def expect_nothing(self, timeout: float = 0.3) -> None:
        assert not self.unread, [m.topic for m in self.unread]
        try:
            message = self.messages.get(timeout=timeout)
        except queue.Empty:
            return
        raise AssertionError(f"unexpected message on {message.topic}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def drop(self) -> None:
        """Lose the network connection without DISCONNECT (the will is published)."""
        sock = self.client.socket()
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
        assert self.disconnected.wait(WAIT)
        self.client.loop_stop()


def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    """Poll `condition` (for what the server does after the client has moved on)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def subscribed_device(
    mock: IotMock, credentials: Credentials, client_id: str, *filters: str, version: int = 5
) -> Device:
    """A connected device subscribed (QoS 1) to `filters`."""
    device = Device(mock, credentials, client_id, version=version)
    device.connect()
    for topic_filter in filters:
        assert device.subscribe(topic_filter) == [1]
    return device


def tls_socket(mock: IotMock, credentials: Credentials | None) -> ssl.SSLSocket:
    """A raw TLS connection to the endpoint (for hand-made packets)."""
    assert mock.mqtt.running
    context = ssl.create_default_context(cafile=mock.mqtt.ca_file)
    if credentials is not None:
        context.load_cert_chain(credentials.cert_file, credentials.key_file)
    raw = socket.create_connection(("127.0.0.1", mock.mqtt.port), timeout=WAIT)
    return context.wrap_socket(raw, server_hostname="localhost")


def read_until_closed(sock: socket.socket, timeout: float = WAIT) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionError, ssl.SSLError):
            return data
        if not chunk:
            return data
        data += chunk
