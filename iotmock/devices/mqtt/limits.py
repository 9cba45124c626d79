"""AWS IoT Core's message broker limits (AWS General Reference, "AWS IoT Core endpoints
and quotas", message broker and protocol limits) that the MQTT transport applies: packet
size, keep-alive, in-flight messages, topic aliases, and what a client that does not
keep up with its messages is owed. The limits every transport shares (client id, topic
filters, subscriptions, payload) are the session layer's, re-exported here."""

from __future__ import annotations

from iotmock.devices.sessions import (
    MAX_CLIENT_ID_BYTES,
    MAX_QUEUED_MESSAGES,
    MAX_SUBSCRIPTIONS_PER_CONNECTION,
    MAX_SUBSCRIPTIONS_PER_SUBSCRIBE,
)
from iotmock.devices.sessions import topic_filter_problem as check_topic_filter
from iotmock.messaging.handlers import MAX_PAYLOAD_BYTES

__all__ = [
    "CONNECT_TIMEOUT_SECONDS",
    "MAX_CLIENT_ID_BYTES",
    "MAX_INFLIGHT",
    "MAX_PACKET_BYTES",
    "MAX_PAYLOAD_BYTES",
    "MAX_SUBSCRIPTIONS_PER_CONNECTION",
    "MAX_SUBSCRIPTIONS_PER_SUBSCRIBE",
    "MAX_TOPIC_ALIASES",
    "MAX_UNSENT_BYTES",
    "MAX_WAITING_MESSAGES",
    "check_topic_filter",
    "keep_alive_seconds",
]

# The largest MQTT packet: a 128 KB payload plus topic, properties and headers.
MAX_PACKET_BYTES = 149_504
# Unacknowledged QoS 1 messages in flight per client, each way ("Maximum outbound
# unacknowledged QoS 1 publish requests": no new publish requests are sent to the client
# until it acknowledges).
MAX_INFLIGHT = 100
# A slow consumer (the mock's bounds; AWS documents no queue size for a live connection,
# only that it discards publish requests beyond 100 per second per connection and delays
# data beyond 512 KiB/s): QoS 1 messages waiting for room in the in-flight window (as
# many as an offline persistent session keeps), beyond which the client is disconnected
# (THROTTLED), and bytes written but not yet taken by the client, beyond which QoS 0
# messages to it are discarded and its packets are no longer read until it catches up.
MAX_WAITING_MESSAGES = MAX_QUEUED_MESSAGES
MAX_UNSENT_BYTES = 1_048_576
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
