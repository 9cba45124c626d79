"""Malformed, truncated and oversized packets and unfinished TLS handshakes: the listener
closes those connections and keeps serving the others. Every case is bounded by socket
timeouts; the random cases use a fixed seed."""

from __future__ import annotations

import contextlib
import json
import queue
import random
import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import paho.mqtt.client as paho
import pytest
from mqtt_devices import (
    ALLOW_ALL,
    WAIT,
    Credentials,
    Device,
    provision,
    read_until_closed,
    tls_socket,
    write_credentials,
)

from iotmock import IotMock, mock_iot
from iotmock.devices.mqtt import codec, limits
from iotmock.devices.mqtt.listener import start_listener


@pytest.fixture
def quick_mock() -> Iterator[IotMock]:
    """A mock whose endpoint gives up on silent clients after half a second."""
    mock = mock_iot(mqtt=True)
    mock.mqtt.handshake_timeout = 0.5
    mock.mqtt.connect_timeout = 0.5
    with mock:
        yield mock


def _utf8(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("!H", len(raw)) + raw


def _packet(first: int, body: bytes) -> bytes:
    length = bytearray()
    size = len(body)
    while True:
        digit, size = size & 0x7F, size >> 7
        length.append(digit | (0x80 if size else 0))
        if not size:
            return bytes((first,)) + bytes(length) + body


def connect_packet(
    client_id: bytes | str = "fuzz", *, version: int = 4, flags: int = 0x02
) -> bytes:
    properties = b"\x00" if version == 5 else b""
    body = _utf8("MQTT") + bytes((version, flags)) + struct.pack("!H", 60) + properties
    return _packet(0x10, body + _utf8(client_id))


GOOD_CONNECT = connect_packet()

MALFORMED = {
    "packet type 0": b"\x00\x00",
    "first packet not CONNECT": b"\xc0\x00",
    "remaining length over the maximum": b"\x10\xff\xff\xff\x7f",
    "five-byte remaining length": b"\x10\xff\xff\xff\xff\x01",
    "bad protocol name": _packet(0x10, _utf8("MQTX") + b"\x04\x02\x00\x3c" + _utf8("a")),
    "CONNECT reserved flag": connect_packet(flags=0x03),
    "CONNECT flags on fixed header": b"\x11" + GOOD_CONNECT[1:],
    "client id invalid UTF-8": connect_packet(b"\xff\xfe"),
    "client id with U+0000": connect_packet("a\x00b"),
    "string longer than packet": _packet(0x10, _utf8("MQTT")[:-1] + b"\xff\xff"),
    "CONNECT trailing bytes": _packet(0x10, GOOD_CONNECT[2:] + b"junk"),
    "will QoS 3 without will": connect_packet(flags=0x1A),
    "MQTT 5 duplicate property": _packet(
        0x10,
        _utf8("MQTT")
        + b"\x05\x02\x00\x3c"
        + b"\x0a\x11\x00\x00\x00\x01\x11\x00\x00\x00\x01"
        + _utf8("dup"),
    ),
    "MQTT 5 unknown property": _packet(
        0x10, _utf8("MQTT") + b"\x05\x02\x00\x3c" + b"\x02\x7f\x00" + _utf8("unknown")
    ),
    "PUBLISH QoS 3": GOOD_CONNECT + _packet(0x36, _utf8("a/b") + b"\x00\x01x"),
    "PUBLISH packet id 0": GOOD_CONNECT + _packet(0x32, _utf8("a/b") + b"\x00\x00x"),
    "SUBSCRIBE wrong flags": GOOD_CONNECT + _packet(0x80, b"\x00\x01" + _utf8("a") + b"\x01"),
    "SUBSCRIBE without filters": GOOD_CONNECT + _packet(0x82, b"\x00\x01"),
    "SUBSCRIBE reserved option bits": GOOD_CONNECT
    + _packet(0x82, b"\x00\x01" + _utf8("a") + b"\x05"),
    "second CONNECT": GOOD_CONNECT + GOOD_CONNECT,
    "PUBREL (QoS 2 flow)": GOOD_CONNECT + _packet(0x62, b"\x00\x01"),
    "PINGREQ with a body": GOOD_CONNECT + _packet(0xC0, b"\x00"),
    "truncated packet then EOF": GOOD_CONNECT + b"\x30\x20\x00\x03a/b",
    "packet over 146 KB": GOOD_CONNECT + _packet(0x30, _utf8("big") + b"x" * 150_000),
}


def _assert_closed(sock: ssl.SSLSocket, *, half_close: bool = False) -> bytes:
    if half_close:
        with contextlib.suppress(ssl.SSLError, OSError):
            sock.unwrap()
    started = time.monotonic()
    received = read_until_closed(sock)
    assert time.monotonic() - started < WAIT, "the server kept the connection open"
    sock.close()
    return received


@pytest.fixture
def credentials(quick_mock: IotMock, tmp_path: Path) -> Credentials:
    return provision(tmp_path)


def _good_client_works(mock: IotMock, credentials: Credentials) -> None:
    device = Device(mock, credentials, "good")
    _flags, reason, _ = device.connect()
    assert reason.value == 0
    assert device.publish("still/serving", b"yes") == 0
    device.close()


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_packets_close_the_connection(
    quick_mock: IotMock, credentials: Credentials, name: str
) -> None:
    sock = tls_socket(quick_mock, credentials)
    sock.sendall(MALFORMED[name])
    received = _assert_closed(sock, half_close=name == "truncated packet then EOF")
    if received:  # whatever the server answered first is a well-formed CONNACK
        assert received[0] >> 4 == codec.CONNACK
    _good_client_works(quick_mock, credentials)


def test_random_bytes(quick_mock: IotMock, credentials: Credentials) -> None:
    generator = random.Random(1234)
    for _ in range(20):
        sock = tls_socket(quick_mock, credentials)
        prefix = GOOD_CONNECT if generator.random() < 0.5 else b""
        sock.sendall(prefix + generator.randbytes(generator.randint(1, 300)))
        _assert_closed(sock, half_close=True)
    _good_client_works(quick_mock, credentials)


def test_unfinished_tls_handshakes(quick_mock: IotMock, credentials: Credentials) -> None:
    assert quick_mock.mqtt.running
    address = ("127.0.0.1", quick_mock.mqtt.port)
    silent = [socket.create_connection(address, timeout=WAIT) for _ in range(5)]
    partial = socket.create_connection(address, timeout=WAIT)
    partial.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a cut ClientHello
    garbage = socket.create_connection(address, timeout=WAIT)
    garbage.sendall(b"GET / HTTP/1.1\r\n\r\n")
    # Others are served meanwhile.
    _good_client_works(quick_mock, credentials)
    for sock in [*silent, partial, garbage]:
        sock.settimeout(WAIT)
        started = time.monotonic()
        try:
            while sock.recv(4096):
                pass
        except OSError:
            pass
        assert time.monotonic() - started < WAIT
        sock.close()
    assert quick_mock.mqtt.connections == 0


def test_no_client_certificate(quick_mock: IotMock, credentials: Credentials) -> None:
    try:
        sock = tls_socket(quick_mock, None)
        sock.sendall(GOOD_CONNECT)
        assert _assert_closed(sock) == b""
    except (ssl.SSLError, ConnectionError):
        pass  # TLS 1.2 fails the handshake itself
    _good_client_works(quick_mock, credentials)


def test_tls_done_but_no_connect(quick_mock: IotMock, credentials: Credentials) -> None:
    sock = tls_socket(quick_mock, credentials)
    assert _assert_closed(sock) == b""
    _good_client_works(quick_mock, credentials)


def test_good_connect_gets_connack(quick_mock: IotMock, credentials: Credentials) -> None:
    sock = tls_socket(quick_mock, credentials)
    sock.sendall(GOOD_CONNECT + b"\xe0\x00")  # CONNECT, DISCONNECT
    assert _assert_closed(sock) == b"\x20\x02\x00\x00"


def test_server_certificate_names_the_ats_endpoint(
    quick_mock: IotMock, credentials: Credentials
) -> None:
    """A device configured with the real endpoint address verifies the server."""
    assert quick_mock.mqtt.running
    address = boto3.client("iot", region_name="us-east-1").describe_endpoint(
        endpointType="iot:Data-ATS"
    )["endpointAddress"]
    context = ssl.create_default_context(cafile=quick_mock.mqtt.ca_file)
    context.load_cert_chain(credentials.cert_file, credentials.key_file)
    raw = socket.create_connection(("127.0.0.1", quick_mock.mqtt.port), timeout=WAIT)
    with context.wrap_socket(raw, server_hostname=address) as sock:
        sock.sendall(GOOD_CONNECT + b"\xe0\x00")
        assert read_until_closed(sock) == b"\x20\x02\x00\x00"
    raw = socket.create_connection(("127.0.0.1", quick_mock.mqtt.port), timeout=WAIT)
    with pytest.raises(ssl.SSLCertVerificationError):
        context.wrap_socket(raw, server_hostname="elsewhere.example.com")
    raw.close()


@pytest.mark.parametrize(
    ("region", "suffix"),
    [("eu-west-1", "amazonaws.com"), ("cn-north-1", "amazonaws.com.cn")],
)
def test_server_certificate_names_every_account_and_region(
    quick_mock: IotMock, tmp_path: Path, region: str, suffix: str
) -> None:
    """A device of another account and region (one the mock did not hold when the
    listener started) verifies the server against its own ATS and legacy endpoints, and
    against the partition's real domain."""
    with quick_mock.as_account("111122223333"):
        iot = boto3.client("iot", region_name=region)
        ats = iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
        legacy = iot.describe_endpoint(endpointType="iot:Data")["endpointAddress"]
        certificate = iot.create_keys_and_certificate(setAsActive=True)
        iot.create_policy(policyName="all", policyDocument=json.dumps(ALLOW_ALL))
        iot.attach_policy(policyName="all", target=certificate["certificateArn"])
    assert ats.endswith(f"-ats.iot.{region}.amazonaws.com")
    credentials = write_credentials(tmp_path, certificate)
    context = ssl.create_default_context(cafile=quick_mock.mqtt.ca_file)
    context.load_cert_chain(credentials.cert_file, credentials.key_file)
    real = ats.replace(".amazonaws.com", f".{suffix}")
    for hostname in (ats, legacy, real):
        raw = socket.create_connection(("127.0.0.1", quick_mock.mqtt.port), timeout=WAIT)
        with context.wrap_socket(raw, server_hostname=hostname) as sock:
            sock.sendall(GOOD_CONNECT + b"\xe0\x00")
            assert read_until_closed(sock) == b"\x20\x02\x00\x00"
    connected = quick_mock.messages("$aws/events/presence/connected/fuzz", region=region)
    assert [m.account_id for m in connected] == ["111122223333"] * 3
    raw = socket.create_connection(("127.0.0.1", quick_mock.mqtt.port), timeout=WAIT)
    with pytest.raises(ssl.SSLCertVerificationError):
        context.wrap_socket(raw, server_hostname=f"a.b.iot.{region}.amazonaws.com")
    raw.close()


def test_keep_alive_timeout_closes_and_publishes_the_will(
    quick_mock: IotMock, credentials: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    # AWS's shortest keep-alive is 30 s (45 s to time out): shrink it for the test.
    monkeypatch.setattr(limits, "keep_alive_seconds", lambda requested: 1)
    will_flags = 0x02 | 0x04  # clean session, will at QoS 0
    body = (
        (struct.pack("!H", 4) + b"MQTT" + bytes((4, will_flags)) + struct.pack("!H", 60))
        + _utf8("idle")
        + _utf8("status/idle")
        + _utf8("timed out")
    )
    sock = tls_socket(quick_mock, credentials)
    sock.sendall(_packet(0x10, body))
    started = time.monotonic()
    assert read_until_closed(sock) == b"\x20\x02\x00\x00"  # CONNACK, then silence, then close
    assert 1.4 < time.monotonic() - started < WAIT
    sock.close()
    event = quick_mock.messages("$aws/events/presence/disconnected/idle")[-1].json()
    assert event["disconnectReason"] == "MQTT_KEEP_ALIVE_TIMEOUT"
    assert [m.payload for m in quick_mock.messages("status/idle")] == [b"timed out"]


def test_endpoint_stops_with_the_mock(tmp_path: Path) -> None:
    with mock_iot(mqtt=True) as mock:
        assert mock.mqtt.running
        assert mock.mqtt.host == "127.0.0.1"
        port, ca_file = mock.mqtt.port, Path(mock.mqtt.ca_file)
        assert ca_file.read_text().startswith("-----BEGIN CERTIFICATE-----")
        device = Device(mock, provision(tmp_path), "short-lived")
        device.connect()
    # Stopping the mock closed the connection, the listening socket and the CA file.
    assert not mock.mqtt.running
    assert device.disconnected.wait(WAIT)
    device.client.loop_stop()
    assert not ca_file.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=WAIT).close()


def test_a_listener_started_by_hand_serves_the_message_path(
    quick_mock: IotMock, credentials: Credentials
) -> None:
    """A second listener started by hand (not `m.mqtt`) serves the same sessions: routing
    is the session layer's, so iot-data Publish reaches its devices."""
    listener = start_listener(quick_mock)
    try:
        received: queue.Queue[bytes] = queue.Queue()
        subscribed = threading.Event()
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="by-hand")
        client.tls_set(
            ca_certs=listener.ca_file,
            certfile=credentials.cert_file,
            keyfile=credentials.key_file,
        )
        client.on_message = lambda _c, _u, message: received.put(message.payload)
        client.on_subscribe = lambda *_args: subscribed.set()
        client.connect("localhost", listener.port)
        client.loop_start()
        try:
            client.subscribe("served/#", qos=1)
            assert subscribed.wait(WAIT)
            data = boto3.client("iot-data", region_name="us-east-1")
            data.publish(topic="served/1", payload=b"hi")
            assert received.get(timeout=WAIT) == b"hi"
        finally:
            client.disconnect()
            client.loop_stop()
    finally:
        listener.stop()


def test_a_mock_whose_endpoint_cannot_start_is_left_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from botocore.endpoint import Endpoint

    from iotmock.devices.mqtt.listener import MqttListener

    original = Endpoint.make_request

    def refuse(self: MqttListener) -> MqttListener:
        raise OSError("address already in use")

    monkeypatch.setattr(MqttListener, "start", refuse)
    mock = mock_iot(mqtt=True)
    with pytest.raises(OSError, match="already in use"):
        mock.start()
    assert not mock.started and not mock.mqtt.running
    assert Endpoint.make_request is original  # botocore is not left patched


@pytest.mark.iot_mock(mqtt=True)
def test_the_iot_mock_marker_starts_the_endpoint(iot_mock: IotMock) -> None:
    assert iot_mock.mqtt.running and iot_mock.mqtt.connections == 0
    context = ssl.create_default_context(cafile=iot_mock.mqtt.ca_file)
    raw = socket.create_connection(("127.0.0.1", iot_mock.mqtt.port), timeout=WAIT)
    # The server certificate verifies against the CA file (with TLS 1.3 the client's
    # side of the handshake completes before the server asks for a client certificate).
    sock = context.wrap_socket(raw, server_hostname="localhost")
    assert sock.version() == "TLSv1.3"
    sock.close()
