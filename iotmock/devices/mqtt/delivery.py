"""PUBLISH packets from the server to one client: QoS 1 packet ids, the window of
unacknowledged messages (AWS allows 100 in flight; MQTT 5 clients may ask for fewer with
Receive Maximum), and what waits for room in it."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from ...messages import Message
from . import codec, limits
from .properties import publish_properties

Queued = tuple[Message, int, bool]  # message, QoS, retain flag


class Outgoing:
    __slots__ = ("_inflight", "_next_id", "_waiting", "_write", "quota", "version")

    def __init__(self, write: Callable[[bytes], None]) -> None:
        self._write = write
        self.version = codec.MQTT_311
        self.quota = limits.MAX_INFLIGHT
        self._next_id = 0
        self._inflight: dict[int, Queued] = {}
        self._waiting: deque[Queued] = deque()

    def send(self, message: Message, qos: int, retain: bool, dup: bool = False) -> None:
        if qos == 0:
            self._write(self._encode(message, 0, retain, None, False))
            return
        if len(self._inflight) >= self.quota:
            self._waiting.append((message, qos, retain))
            return
        packet_id = self._packet_id()
        self._inflight[packet_id] = (message, qos, retain)
        self._write(self._encode(message, qos, retain, packet_id, dup))

    def hold(self, message: Message, qos: int, retain: bool) -> None:
        """Keep a QoS 1 message that could not be sent (the connection is closing)."""
        if qos == 1:
            self._waiting.append((message, qos, retain))

    def acknowledge(self, packet_id: int) -> None:
        """PUBACK: free the packet id, and send the next waiting message."""
        if self._inflight.pop(packet_id, None) is None:
            return
        if self._waiting and len(self._inflight) < self.quota:
            self.send(*self._waiting.popleft())

    def unacknowledged(self) -> list[tuple[Message, int]]:
        """QoS 1 messages sent but not acknowledged, then those still waiting."""
        found = [(message, qos) for message, qos, _ in self._inflight.values()]
        return found + [(message, qos) for message, qos, _ in self._waiting]

    def _packet_id(self) -> int:
        while True:
            self._next_id = self._next_id % 65535 + 1
            if self._next_id not in self._inflight:
                return self._next_id

    def _encode(
        self, message: Message, qos: int, retain: bool, packet_id: int | None, dup: bool
    ) -> bytes:
        properties = publish_properties(message) if self.version == codec.MQTT_5 else None
        return codec.encode_publish(
            self.version,
            message.topic,
            message.payload,
            qos=qos,
            retain=retain,
            dup=dup,
            packet_id=packet_id,
            properties=properties,
        )
