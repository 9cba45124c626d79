"""MQTT messaging over the data plane: Publish and retained messages (GetRetainedMessage,
ListRetainedMessages).

Client connections (simulated devices, the MQTT listener) and the operations on them
(DeleteConnection, GetConnection, ...) are the devices family's: see
`iotmock.devices.sessions`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from iotmock.core import clock
from iotmock.core.errors import ServiceError, invalid_request, not_found
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex, page_of
from iotmock.messaging.log import publish

MAX_TOPIC_BYTES = 256
MAX_TOPIC_SLASHES = 7
MAX_PAYLOAD_BYTES = 128 * 1024
_BASIC_INGEST = re.compile(r"\$aws/rules/[^/]+/")

# The reserved topics a client may publish to (AWS IoT developer guide, "Reserved
# topics"); every other topic starting with `$` is the service's own.
_CLIENT_RESERVED_TOPICS = re.compile(
    r"\$aws/(?:"
    r"things/[^/]+/shadow/(?:name/[^/]+/)?(?:update|get|delete)"
    r"|things/[^/]+/jobs/(?:get|start-next|[^/]+/get|[^/]+/update)"
    r"|things/[^/]+/defender/metrics/(?:json|cbor)"
    r"|rules/[^/]+(?:/.*)?"
    r"|certificates/create(?:-from-csr)?/(?:json|cbor)"
    r"|provisioning-templates/[^/]+/provision/(?:json|cbor)"
    r"|device_location/[^/]+/get_position_estimate"
    r"|commands/(?:things|clients)/[^/]+/executions/[^/]+/response(?:/(?:json|cbor))?"
    r")"
)


@dataclass(slots=True)
class RetainedMessage:
    topic: str
    payload: bytes
    qos: int
    last_modified_ms: int
    user_properties: bytes | None = None


@dataclass(slots=True)
class MessagingStore:
    retained: SortedIndex[RetainedMessage] = field(default_factory=SortedIndex)


# --------------------------------------------------------------------------- topics


def check_publish_topic(topic: str, *, retain: bool) -> None:
    """Refuse topics a client cannot publish to (spec §9, MQTT topic rules)."""
    if len(topic.encode()) > MAX_TOPIC_BYTES:
        raise invalid_request(
            f"The topic {topic!r} is longer than {MAX_TOPIC_BYTES} bytes (UTF-8)."
        )
    if "+" in topic or "#" in topic:
        raise invalid_request(
            f"The topic {topic!r} contains a wildcard (+ or #): "
            "wildcards are allowed in topic filters, not in the topic of a message."
        )
    # The `$aws/rules/<rule>/` prefix of Basic Ingest topics does not count.
    prefix = _BASIC_INGEST.match(topic)
    slashes = topic.count("/") - (3 if prefix else 0)
    if slashes > MAX_TOPIC_SLASHES:
        raise invalid_request(
            f"The topic {topic!r} has {slashes} forward slashes; "
            f"at most {MAX_TOPIC_SLASHES} are allowed."
        )
    if topic.startswith("$"):
        if retain:
            raise invalid_request(
                f"The topic {topic!r} is reserved: messages to topics starting with $ "
                "cannot be retained."
            )
        if _CLIENT_RESERVED_TOPICS.fullmatch(topic) is None:
            raise invalid_request(
                f"The topic {topic!r} is a reserved topic that clients cannot publish to."
            )


def _encode_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


# --------------------------------------------------------------------------- Publish


@operation("iot-data", "Publish")
def publish_message(ctx: RequestContext, params: Params) -> dict[str, Any]:
    topic = params["topic"]
    retain = bool(params.get("retain", False))
    qos = int(params.get("qos", 0))
    payload: bytes = params.get("payload") or b""
    check_publish_topic(topic, retain=retain)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ServiceError(
            "RequestEntityTooLargeException", "The payload exceeds the maximum size allowed"
        )
    user_properties = parse_user_properties(params.get("userProperties"))
    if retain:
        retain_message(ctx, topic, payload, qos, user_properties)
    publish(
        ctx,
        topic,
        payload,
        qos=qos,
        retain=retain,
        source="client",
        user_properties=user_properties,
        content_type=params.get("contentType"),
        correlation_data=params.get("correlationData"),
        message_expiry=params.get("messageExpiry"),
        response_topic=params.get("responseTopic"),
        payload_format_indicator=params.get("payloadFormatIndicator"),
    )
    return {}


def parse_user_properties(value: Any) -> Any:
    """userProperties is "a JSON string that contains an array of JSON objects"; boto3
    passes it as a JSON value, so a caller's JSON string arrives double-encoded."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise invalid_request(
                "userProperties must be a JSON array of JSON objects, "
                'e.g. [{"deviceName": "alpha"}].'
            ) from None
    return value


def retain_message(
    ctx: RequestContext, topic: str, payload: bytes, qos: int, user_properties: Any
) -> None:
    """Keep the last retained message of `topic`; an empty payload clears it."""
    retained = ctx.backend.store(MessagingStore).retained
    if not payload:
        retained.pop(topic)
        return
    retained[topic] = RetainedMessage(
        topic=topic,
        payload=payload,
        qos=qos,
        last_modified_ms=clock.now_millis(),
        user_properties=_encode_json(user_properties) if user_properties is not None else None,
    )


@operation("iot-data", "GetRetainedMessage")
def get_retained_message(ctx: RequestContext, params: Params) -> dict[str, Any]:
    topic = params["topic"]
    found = ctx.backend.store(MessagingStore).retained.get(topic)
    if found is None:
        raise not_found(f"No retained message exists for topic: '{topic}'")
    return {
        "topic": found.topic,
        "payload": found.payload,
        "qos": found.qos,
        "lastModifiedTime": found.last_modified_ms,
        "userProperties": found.user_properties,
    }


@operation("iot-data", "ListRetainedMessages")
def list_retained_messages(ctx: RequestContext, params: Params) -> dict[str, Any]:
    retained = ctx.backend.store(MessagingStore).retained
    page, token = page_of("ListRetainedMessages", retained, params)
    return {
        "retainedTopics": [
            {
                "topic": item.topic,
                "payloadSize": len(item.payload),
                "qos": item.qos,
                "lastModifiedTime": item.last_modified_ms,
            }
            for item in page
        ],
        "nextToken": token,
    }
