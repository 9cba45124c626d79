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

from . import _clock
from ._events import emit
from ._registry import RequestContext


@dataclass(slots=True, frozen=True)
class Message:
    topic: str
    payload: bytes
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
    details.setdefault("timestamp", _clock.now())
    message = Message(topic=topic, payload=raw, **details)
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
