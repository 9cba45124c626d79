"""What the MQTT endpoint owes a client, on the wire: the in-flight window of QoS 1
messages (100 for MQTT 3.1.1, the client's Receive Maximum for MQTT 5), the bounded
queue of a client that stops reading or acknowledging (the listener keeps serving the
others), the topic alias limit and the client id assigned to a client that sends none.
Hand-made packets over a raw TLS socket where paho would hide the server's behaviour;
every wait is bounded by a socket timeout or `WAIT`."""

from __future__ import annotations

import socket
import ssl
import struct
from pathlib import Path

import pytest
from mqtt_devices import WAIT, Credentials, Device, provision, tls_socket, wait_until
from test_devices_mqtt_fuzz import _packet, _utf8, connect_packet

from iotmock import IotMock
from iotmock.devices.mqtt import codec, limits


def subscribe_packet(packet_id: int, topic_filter: str, qos: int, *, version: int = 4) -> bytes:
    properties = b"\x00" if version == 5 else b""
    body = struct.pack("!H", packet_id) + properties + _utf8(topic_filter) + bytes((qos,))
    return _packet(0x82, body)


def puback_packet(packet_id: int) -> bytes:
    return b"\x40\x02" + struct.pack("!H", packet_id)


def connect_v5(client_id: str, properties: bytes = b"") -> bytes:
    """An MQTT 5 CONNECT (clean start, keep-alive 60) with `properties` (encoded)."""
    body = (
        _utf8("MQTT")
        + bytes((5, 0x02))
        + struct.pack("!H", 60)
        + bytes((len(properties),))
        + properties
    )
    return _packet(0x10, body + _utf8(client_id))


class PacketReader:
    """Reads whole MQTT packets from a socket: (first byte, body)."""

    def __init__(self, sock: ssl.SSLSocket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self, size: int, timeout: float) -> bool:
        self.sock.settimeout(timeout)
        while len(self.buffer) < size:
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return False
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        return True

    def next(self, timeout: float = WAIT) -> tuple[int, bytes] | None:
        """The next packet, or None when none arrives within `timeout`."""
        if not self._fill(2, timeout):
            return None
        index, length, shift = 1, 0, 0
        while True:
            if not self._fill(index + 1, timeout):
                return None
            byte = self.buffer[index]
            length += (byte & 0x7F) << shift
            index += 1
            shift += 7
            if not byte & 0x80:
                break
        if not self._fill(index + length, timeout):
            return None
        first, body = self.buffer[0], self.buffer[index : index + length]
        self.buffer = self.buffer[index + length :]
        return first, body

    def publishes(self, quiet: float = 0.5) -> list[int]:
        """The packet ids of the QoS 1 PUBLISH packets that arrive until the line is
        quiet for `quiet` seconds (other packets are skipped)."""
        ids: list[int] = []
        while (packet := self.next(quiet)) is not None:
            first, body = packet
            if first >> 4 == codec.PUBLISH and (first >> 1) & 0x03 == 1:
                (topic_length,) = struct.unpack("!H", body[:2])
                ids.append(struct.unpack("!H", body[2 + topic_length : 4 + topic_length])[0])
        return ids


def _raw_subscriber(
    mock: IotMock, credentials: Credentials, client_id: str, topic_filter: str, *, version: int
) -> tuple[ssl.SSLSocket, PacketReader]:
    """A raw client connected and subscribed at QoS 1 (CONNACK and SUBACK read)."""
    sock = tls_socket(mock, credentials)
    hello = connect_packet(client_id, version=version) if version == 4 else connect_v5(client_id)
    sock.sendall(hello + subscribe_packet(1, topic_filter, 1, version=version))
    reader = PacketReader(sock)
    connack = reader.next()
    assert connack is not None and connack[0] == 0x20
    suback = reader.next()
    assert suback is not None and suback[0] == 0x90
    return sock, reader


# --------------------------------------------------------------------------- in-flight window


def test_in_flight_window_mqtt311_is_100(iot_mqtt: IotMock, tmp_path: Path) -> None:
    sock, reader = _raw_subscriber(iot_mqtt, provision(tmp_path), "slow-3", "win/#", version=4)
    publisher = iot_mqtt.devices.connect("publisher")
    for number in range(150):
        publisher.publish(f"win/{number}", b"x", qos=1)
    # AWS sends no more than 100 unacknowledged QoS 1 messages...
    sent = reader.publishes()
    assert len(sent) == limits.MAX_INFLIGHT == 100
    # ... and one more for each PUBACK.
    sock.sendall(puback_packet(sent[0]) + puback_packet(sent[1]))
    assert len(reader.publishes()) == 2
    sock.sendall(b"".join(puback_packet(packet_id) for packet_id in sent[2:]))
    assert len(reader.publishes()) == 48
    sock.close()


def test_in_flight_window_mqtt5_is_the_receive_maximum(iot_mqtt: IotMock, tmp_path: Path) -> None:
    sock = tls_socket(iot_mqtt, provision(tmp_path))
    receive_maximum = b"\x21" + struct.pack("!H", 5)
    sock.sendall(connect_v5("slow-5", receive_maximum) + subscribe_packet(1, "win/#", 1, version=5))
    reader = PacketReader(sock)
    connack, suback = reader.next(), reader.next()
    assert connack is not None and connack[0] == 0x20 and connack[1][1] == 0
    assert suback is not None and suback[0] == 0x90
    publisher = iot_mqtt.devices.connect("publisher")
    for number in range(12):
        publisher.publish(f"win/{number}", b"x", qos=1)
    sent = reader.publishes()
    assert len(sent) == 5
    sock.sendall(puback_packet(sent[0]))
    assert len(reader.publishes()) == 1
    sock.close()


# --------------------------------------------------------------------------- slow consumers


def test_a_client_that_never_reads_nor_acknowledges_stays_bounded(
    iot_mqtt: IotMock, tmp_path: Path
) -> None:
    """10,000 QoS 1 messages for a client that reads and acknowledges nothing: 100 in
    flight, the rest waiting up to the bound, the next one ends the connection
    (THROTTLED, MQTT 5 DISCONNECT 0x97); meanwhile another subscriber gets its share."""
    credentials = provision(tmp_path)
    sock, _reader = _raw_subscriber(iot_mqtt, credentials, "stalled", "flood/#", version=5)
    healthy = Device(iot_mqtt, credentials, "healthy")
    healthy.connect()
    assert healthy.subscribe("flood/7") == [1]
    stalled = iot_mqtt.mqtt.listener.connection("stalled")
    assert stalled is not None
    publisher = iot_mqtt.devices.connect("publisher")
    count = 10_000
    for number in range(count):
        publisher.publish(f"flood/{number % 100}", number.to_bytes(4, "big") * 64, qos=1)
    for number in range(7, count, 100):
        assert healthy.expect("flood/7").payload[:4] == number.to_bytes(4, "big")
    waiting = count - limits.MAX_INFLIGHT
    wait_until(lambda: stalled.backlog[:2] == (limits.MAX_INFLIGHT, waiting), 10)
    assert stalled.backlog[1] <= limits.MAX_WAITING_MESSAGES
    assert stalled.backlog[2] <= limits.MAX_UNSENT_BYTES
    # One message too many for the bounded queue: the stalled client is disconnected.
    for _ in range(limits.MAX_WAITING_MESSAGES - waiting + 1):
        publisher.publish("flood/more", b"more", qos=1)
    wait_until(lambda: iot_mqtt.mqtt.listener.connection("stalled") is None, 10)
    event = iot_mqtt.messages("$aws/events/presence/disconnected/stalled")[-1].json()
    assert event["disconnectReason"] == "THROTTLED"
    sock.settimeout(WAIT)
    tail = b""
    while chunk := sock.recv(65536):
        tail = (tail + chunk)[-64:]
    assert tail.endswith(codec.encode_disconnect(codec.QUOTA_EXCEEDED))
    sock.close()
    # The listener serves the others as before.
    assert healthy.publish("flood/7", b"ok") == 0
    assert healthy.expect("flood/7").payload == b"ok"
    healthy.close()


def test_qos0_messages_to_a_client_that_does_not_read_are_discarded(
    iot_mqtt: IotMock, tmp_path: Path
) -> None:
    credentials = provision(tmp_path)
    sock = tls_socket(iot_mqtt, credentials)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(connect_packet("deaf") + subscribe_packet(1, "stream/#", 0))
    reader = PacketReader(sock)
    assert reader.next() is not None and reader.next() is not None  # CONNACK, SUBACK
    deaf = iot_mqtt.mqtt.listener.connection("deaf")
    assert deaf is not None
    publisher = iot_mqtt.devices.connect("publisher")
    payload = b"x" * 4096
    # The listener's measure of unsent bytes includes the TLS transport's buffers, which
    # under load may hold a message both as plaintext and as encrypted records for a
    # moment: the backlog stays within a few MAX_UNSENT_BYTES, far below the 40 MB
    # published.
    bound = 4 * limits.MAX_UNSENT_BYTES
    for _ in range(10_000):  # 40 MB the client never reads
        publisher.publish("stream/data", payload, qos=0)
        assert deaf.backlog[2] <= bound
    wait_until(lambda: deaf.dropped > 0, 10)
    assert deaf.backlog[2] <= bound
    # Others are served meanwhile.
    listener = Device(iot_mqtt, credentials, "listener")
    listener.connect()
    assert listener.subscribe("stream/#") == [1]
    publisher.publish("stream/data", b"fresh", qos=1)
    assert listener.expect("stream/data").payload == b"fresh"
    listener.close()
    sock.close()


# --------------------------------------------------------------------------- MQTT 5 extras


def _publish_v5(topic: str, payload: bytes, alias: int, packet_id: int) -> bytes:
    properties = b"\x23" + struct.pack("!H", alias)
    body = _utf8(topic) + struct.pack("!H", packet_id) + bytes((len(properties),)) + properties
    return _packet(0x32, body + payload)


def test_topic_aliases_up_to_8_then_disconnect_0x94(iot_mqtt: IotMock, tmp_path: Path) -> None:
    sock = tls_socket(iot_mqtt, provision(tmp_path))
    sock.sendall(connect_v5("aliases"))
    reader = PacketReader(sock)
    connack = reader.next()
    assert connack is not None and connack[0] == 0x20
    sock.sendall(_publish_v5("alias/eight", b"1", 8, 1))  # alias 8 names the topic
    sock.sendall(_publish_v5("", b"2", 8, 2))  # and stands for it
    acks = [reader.next(), reader.next()]
    assert [packet[0] if packet else None for packet in acks] == [0x40, 0x40]
    wait_until(lambda: len(iot_mqtt.messages("alias/eight")) == 2)
    assert [m.payload for m in iot_mqtt.messages("alias/eight")] == [b"1", b"2"]
    sock.sendall(_publish_v5("alias/nine", b"3", 9, 3))
    packet = reader.next()
    assert packet == (0xE0, codec.encode_disconnect(codec.TOPIC_ALIAS_INVALID)[2:])
    with pytest.raises(ConnectionError):
        reader.next()
    sock.close()
    assert iot_mqtt.messages("alias/nine") == []


def test_mqtt5_client_without_client_id_gets_one_assigned(
    iot_mqtt: IotMock, tmp_path: Path
) -> None:
    device = Device(iot_mqtt, provision(tmp_path), "")
    _flags, reason, properties = device.connect()
    assert reason.value == 0
    assigned = properties.AssignedClientIdentifier
    assert assigned.startswith("iotmock-")
    assert device.subscribe("assigned/#") == [1]
    assert device.publish("assigned/x", b"hi") == 0
    assert device.expect("assigned/x").payload == b"hi"
    device.close()
    (message,) = iot_mqtt.messages("assigned/x")
    assert message.client_id == assigned
    assert iot_mqtt.messages(f"$aws/events/presence/connected/{assigned}")


def test_mqtt311_without_client_id_needs_a_clean_session(iot_mqtt: IotMock, tmp_path: Path) -> None:
    credentials = provision(tmp_path)
    sock = tls_socket(iot_mqtt, credentials)
    sock.sendall(connect_packet("", flags=0x00))  # persistent session, no client id
    assert PacketReader(sock).next() == (0x20, b"\x00\x02")  # identifier rejected
    sock.close()
    sock = tls_socket(iot_mqtt, credentials)
    sock.sendall(connect_packet("", flags=0x02))
    assert PacketReader(sock).next() == (0x20, b"\x00\x00")
    sock.close()
