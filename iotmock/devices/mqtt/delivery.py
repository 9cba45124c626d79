"""PUBLISH packets from the server to one client: QoS 1 packet ids, the window of
unacknowledged messages (AWS allows 100 in flight; MQTT 5 clients may ask for fewer with
Receive Maximum), what waits for room in it, and the session layer's acknowledgement
when the client's PUBACK arrives.

A client that stops reading or acknowledging costs bounded memory: at most
`MAX_WAITING_MESSAGES` QoS 1 messages wait behind the window (one more and the
connection is told to end, THROTTLED), and a QoS 0 message is discarded while more than
`MAX_UNSENT_BYTES` written to the client are still unsent."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from iotmock.devices.mqtt import codec, limits
from iotmock.devices.mqtt.properties import publish_properties
from iotmock.devices.sessions import Delivery


def _nothing_unsent() -> int:
    return 0


def _no_overflow() -> None:
    return None


class Outgoing:
    __slots__ = (
        "_inflight",
        "_next_id",
        "_overflow",
        "_unsent",
        "_waiting",
        "_write",
        "dropped",
        "quota",
        "version",
    )

    def __init__(
        self,
        write: Callable[[bytes], None],
        unsent: Callable[[], int] = _nothing_unsent,
        overflow: Callable[[], None] = _no_overflow,
    ) -> None:
        """`write` queues a packet; `unsent` tells how many bytes written are not sent
        yet; `overflow` runs when the waiting queue is full (the connection ends)."""
        self._write = write
        self._unsent = unsent
        self._overflow = overflow
        self.version = codec.MQTT_311
        self.quota = limits.MAX_INFLIGHT
        self.dropped = 0  # QoS 0 messages discarded because the client did not read
        self._next_id = 0
        self._inflight: dict[int, Delivery] = {}
        self._waiting: deque[Delivery] = deque()

    @property
    def in_flight(self) -> int:
        """QoS 1 messages sent and not acknowledged."""
        return len(self._inflight)

    @property
    def waiting(self) -> int:
        """QoS 1 messages waiting for room in the in-flight window."""
        return len(self._waiting)

    def send(self, delivery: Delivery) -> None:
        if delivery.qos == 0:
            if self._unsent() > limits.MAX_UNSENT_BYTES:
                self.dropped += 1
                return
            self._write(self._encode(delivery, None))
            return
        if len(self._inflight) >= self.quota:
            if len(self._waiting) >= limits.MAX_WAITING_MESSAGES:
                # The session layer keeps what a persistent session did not get.
                self._overflow()
                return
            self._waiting.append(delivery)
            return
        packet_id = self._packet_id()
        self._inflight[packet_id] = delivery
        self._write(self._encode(delivery, packet_id))

    def acknowledge(self, packet_id: int) -> None:
        """PUBACK: tell the session layer, free the packet id, send the next waiting
        message. (A persistent session keeps what is never acknowledged.)"""
        delivery = self._inflight.pop(packet_id, None)
        if delivery is None:
            return
        delivery.acknowledge()
        if self._waiting and len(self._inflight) < self.quota:
            self.send(self._waiting.popleft())

    def _packet_id(self) -> int:
        while True:
            self._next_id = self._next_id % 65535 + 1
            if self._next_id not in self._inflight:
                return self._next_id

    def _encode(self, delivery: Delivery, packet_id: int | None) -> bytes:
        message = delivery.message
        properties = publish_properties(message) if self.version == codec.MQTT_5 else None
        return codec.encode_publish(
            self.version,
            message.topic,
            message.payload,
            qos=delivery.qos,
            retain=delivery.retain,
            dup=delivery.redelivery,
            packet_id=packet_id,
            properties=properties,
        )
