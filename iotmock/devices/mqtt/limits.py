"""AWS IoT Core's message broker limits (AWS General Reference, "AWS IoT Core endpoints
and quotas", message broker and protocol limits) and topic-filter rules."""

from __future__ import annotations

from iotmock.messaging.handlers import MAX_PAYLOAD_BYTES, MAX_TOPIC_BYTES, MAX_TOPIC_SLASHES

__all__ = [
    "CONNECT_TIMEOUT_SECONDS",
    "MAX_CLIENT_ID_BYTES",
    "MAX_INFLIGHT",
    "MAX_PACKET_BYTES",
    "MAX_PAYLOAD_BYTES",
    "MAX_SUBSCRIPTIONS_PER_CONNECTION",
    "MAX_SUBSCRIPTIONS_PER_SUBSCRIBE",
    "MAX_TOPIC_ALIASES",
    "check_topic_filter",
    "keep_alive_seconds",
]

MAX_CLIENT_ID_BYTES = 128
# The largest MQTT packet: a 128 KB payload plus topic, properties and headers.
MAX_PACKET_BYTES = 149_504
MAX_SUBSCRIPTIONS_PER_SUBSCRIBE = 8
MAX_SUBSCRIPTIONS_PER_CONNECTION = 50
# Unacknowledged QoS 1 messages in flight per client, each way.
MAX_INFLIGHT = 100
MAX_TOPIC_ALIASES = 8
# How long a connection may stay open before sending CONNECT (the service closes idle
# sockets; the exact AWS value is not documented).
CONNECT_TIMEOUT_SECONDS = 10.0
MIN_KEEP_ALIVE = 30
MAX_KEEP_ALIVE = 1200


def keep_alive_seconds(requested: int) -> int:
    """The keep-alive AWS applies: 0 means the default 1200 s; values are raised to 30 s
    and lowered to 1200 s."""
    if requested == 0:
        return MAX_KEEP_ALIVE
    return min(max(requested, MIN_KEEP_ALIVE), MAX_KEEP_ALIVE)


def check_topic_filter(topic_filter: str) -> str | None:
    """Why `topic_filter` is not a valid subscription, or None when it is."""
    if not topic_filter:
        return "the topic filter is empty"
    if len(topic_filter.encode()) > MAX_TOPIC_BYTES:
        return f"the topic filter is longer than {MAX_TOPIC_BYTES} bytes"
    levels = topic_filter.split("/")
    # The `$aws/rules/<rule>/` prefix of Basic Ingest topics does not count.
    slashes = len(levels) - 1 - (3 if topic_filter.startswith("$aws/rules/") else 0)
    if slashes > MAX_TOPIC_SLASHES:
        return f"the topic filter has more than {MAX_TOPIC_SLASHES} forward slashes"
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return "'#' must be the last level, alone"
        if "+" in level and level != "+":
            return "'+' must be a whole level"
    return None
