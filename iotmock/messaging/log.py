"""Every MQTT message that passes through the mock, and MQTT topic-filter matching.

Messages published by clients (iot-data Publish) and by the mock itself (shadow, jobs and
rule topics) are recorded in the order they happened, per (account, region), and are
announced to other families through the "message_published" event (the rules engine
listens there).
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from iotmock.core import clock
from iotmock.core.events import emit
from iotmock.core.operations import RequestContext
from iotmock.messaging.topic_tree import TopicTree

# Orders messages of different accounts and regions when a reader merges their logs.
_SEQUENCE = itertools.count()

# How much of a payload a repr shows.
_REPR_PAYLOAD = 60


@dataclass(slots=True, frozen=True, eq=False, repr=False)
class Message:
    """One MQTT message. Equal to another with the same topic, payload, QoS, retain flag
    and MQTT 5 properties (who published it, when, and where are not compared)."""

    topic: str
    # The payload bytes; None until first read for messages published with
    # `publish_document`, whose JSON document is encoded only when someone reads it.
    encoded: bytes | None = field(default=None, repr=False)
    document: Any = field(default=None, repr=False)
    qos: int = 0
    retain: bool = False
    timestamp: float = 0.0
    # Who published it: "client" (iot-data Publish), "shadow", "jobs", "rule:<name>", ...
    source: str = "client"
    client_id: str | None = None
    user_properties: Any = None
    content_type: str | None = None
    correlation_data: str | None = None
    message_expiry: int | None = None
    response_topic: str | None = None
    payload_format_indicator: str | None = None
    # Where it was published.
    account_id: str = ""
    region: str = ""
    sequence: int = field(default_factory=lambda: next(_SEQUENCE))

    def _key(self) -> tuple[Any, ...]:
        return (
            self.topic,
            self.payload,
            self.qos,
            self.retain,
            repr(self.user_properties),
            self.content_type,
            self.correlation_data,
            self.message_expiry,
            self.response_topic,
            self.payload_format_indicator,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.topic, self.payload, self.qos, self.retain))

    def __repr__(self) -> str:
        payload = self.payload
        shown = repr(payload[:_REPR_PAYLOAD]) + ("..." if len(payload) > _REPR_PAYLOAD else "")
        where = f", {self.account_id}/{self.region}" if self.region else ""
        return (
            f"Message(topic={self.topic!r}, payload={shown} ({len(payload)} bytes), "
            f"qos={self.qos}, retain={self.retain}, source={self.source!r}{where})"
        )

    @property
    def payload(self) -> bytes:
        """The payload bytes as a subscriber would receive them."""
        if self.encoded is None:
            raw = json.dumps(self.document, separators=(",", ":")).encode()
            object.__setattr__(self, "encoded", raw)  # cache: the message is immutable
            return raw
        return self.encoded

    def json(self) -> Any:
        """The payload parsed as JSON."""
        return json.loads(self.payload)


@dataclass(slots=True)
class MessageLog:
    """The messages of one (account, region), oldest first, indexed by topic so a reader
    pays for the topics and messages it selects, not for everything recorded."""

    messages: deque[Message] = field(default_factory=deque)
    by_topic: dict[str, deque[Message]] = field(default_factory=dict)
    # The topics of by_topic, for wildcard filters.
    topics: TopicTree = field(default_factory=TopicTree)

    def append(self, message: Message, limit: int | None) -> None:
        self.messages.append(message)
        found = self.by_topic.get(message.topic)
        if found is None:
            found = self.by_topic[message.topic] = deque()
            self.topics.add(message.topic)
        found.append(message)
        if limit is not None:
            while len(self.messages) > limit:
                self._drop_oldest()

    def _drop_oldest(self) -> None:
        oldest = self.messages.popleft()
        same_topic = self.by_topic[oldest.topic]
        same_topic.popleft()  # the oldest of its topic too
        if not same_topic:
            del self.by_topic[oldest.topic]
            self.topics.remove(oldest.topic)

    def select(self, topic_filter: str) -> list[Message]:
        """The messages whose topic matches `topic_filter`, oldest first."""
        if topic_filter == "#":
            return list(self.messages)
        if "+" not in topic_filter and "#" not in topic_filter:
            return list(self.by_topic.get(topic_filter, ()))
        lists = [self.by_topic[topic] for topic in self.topics.matching(topic_filter)]
        if len(lists) == 1:
            return list(lists[0])
        return sorted((m for found in lists for m in found), key=_by_sequence)

    def clear(self) -> None:
        self.messages.clear()
        self.by_topic.clear()
        self.topics.clear()


def _by_sequence(message: Message) -> int:
    return message.sequence


def publish(ctx: RequestContext, topic: str, payload: bytes | str | Any, **details: Any) -> Message:
    """Record a message and announce it. A non-bytes, non-str payload is JSON-encoded."""
    if isinstance(payload, str):
        raw = payload.encode()
    elif isinstance(payload, (bytes, bytearray)):
        raw = bytes(payload)
    else:
        raw = json.dumps(payload, separators=(",", ":")).encode()
    return _record(ctx, Message(topic, raw, **_with_details(ctx, details)))


def publish_document(ctx: RequestContext, topic: str, document: Any, **details: Any) -> Message:
    """Record and announce a message whose payload is the JSON of `document`, encoded
    only when read. The caller guarantees `document` is never changed afterwards."""
    return _record(ctx, Message(topic, None, document, **_with_details(ctx, details)))


def _with_details(ctx: RequestContext, details: dict[str, Any]) -> dict[str, Any]:
    details.setdefault("timestamp", clock.now())
    details["account_id"] = ctx.backend.account_id
    details["region"] = ctx.backend.region
    return details


def _record(ctx: RequestContext, message: Message) -> Message:
    ctx.backend.store(MessageLog).append(message, ctx.mock.max_messages)
    emit(ctx, "message_published", message=message)
    return message


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT matching: `+` matches one level, a trailing `#` the rest (and the parent)."""
    if topic_filter == topic:
        return True
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    # Filters starting with a wildcard do not match topics starting with '$' (MQTT 4.7.2).
    if topic.startswith("$") and filter_levels[0] in ("+", "#"):
        return False
    for index, level in enumerate(filter_levels):
        if level == "#":
            return index == len(filter_levels) - 1
        if index >= len(topic_levels):
            return False
        if level != "+" and level != topic_levels[index]:
            return False
    return len(filter_levels) == len(topic_levels)
