"""PUBLISH packets from the server to one client: QoS 1 packet ids, the window of
unacknowledged messages (AWS allows 100 in flight; MQTT 5 clients may ask for fewer with
Receive Maximum), what waits for room in it, and the session layer's acknowledgement
when the client's PUBACK arrives."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from iotmock.devices.mqtt import codec, limits
from iotmock.devices.mqtt.properties import publish_properties
from iotmock.devices.sessions import Delivery


class Outgoing:
    __slots__ = ("_inflight", "_next_id", "_waiting", "_write", "quota", "version")

    def __init__(self, write: Callable[[bytes], None]) -> None:
        self._write = write
        self.version = codec.MQTT_311
        self.quota = limits.MAX_INFLIGHT
        self._next_id = 0
        self._inflight: dict[int, Delivery] = {}
        self._waiting: deque[Delivery] = deque()

    def send(self, delivery: Delivery) -> None:
        if delivery.qos == 0:
            self._write(self._encode(delivery, None))
            return
        if len(self._inflight) >= self.quota:
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
