"""Every MQTT message that passes through the mock, and MQTT topic-filter matching.

Messages published by clients (iot-data Publish) and by the mock itself (shadow, jobs and
rule topics) are recorded in the order they happened, per (account, region), and are
announced to other families through the "message_published" event (the rules engine
listens there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from iotmock.core import clock
from iotmock.core.events import emit
from iotmock.core.operations import RequestContext


@dataclass(slots=True, frozen=True, eq=False)
class Message:
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
    messages: list[Message] = field(default_factory=list)


def publish(ctx: RequestContext, topic: str, payload: bytes | str | Any, **details: Any) -> Message:
    """Record a message and announce it. A non-bytes, non-str payload is JSON-encoded."""
    if isinstance(payload, str):
        raw = payload.encode()
    elif isinstance(payload, (bytes, bytearray)):
        raw = bytes(payload)
    else:
        raw = json.dumps(payload, separators=(",", ":")).encode()
    return _record(ctx, Message(topic, raw, **_with_timestamp(details)))


def publish_document(ctx: RequestContext, topic: str, document: Any, **details: Any) -> Message:
    """Record and announce a message whose payload is the JSON of `document`, encoded
    only when read. The caller guarantees `document` is never changed afterwards."""
    return _record(ctx, Message(topic, None, document, **_with_timestamp(details)))


def _with_timestamp(details: dict[str, Any]) -> dict[str, Any]:
    details.setdefault("timestamp", clock.now())
    return details


def _record(ctx: RequestContext, message: Message) -> Message:
    ctx.backend.store(MessageLog).messages.append(message)
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
