"""MQTT messaging over the data plane: Publish, retained messages (GetRetainedMessage,
ListRetainedMessages) and client connections (DeleteConnection).

The mock has no MQTT broker: connected clients are the ones a test declares with
`IotMock.devices.connect(...)`; connecting and disconnecting publish the documented
lifecycle events on `$aws/events/presence/connected|disconnected/<clientId>`.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from iotmock.core import clock
from iotmock.core.errors import ServiceError, invalid_request, not_found
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex, page_of
from iotmock.messaging.log import publish

if TYPE_CHECKING:
    from iotmock._mock import IotMock

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
class Connection:
    client_id: str
    session_id: str
    connected_at_ms: int
    principal: str
    will_topic: str | None = None
    will_payload: bytes = b""


@dataclass(slots=True)
class MessagingStore:
    retained: SortedIndex[RetainedMessage] = field(default_factory=SortedIndex)
    connections: dict[str, Connection] = field(default_factory=dict)
    # Lifecycle events carry a per-client version number, +1 at each connect/disconnect.
    client_versions: dict[str, int] = field(default_factory=dict)


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
    user_properties = _user_properties(params.get("userProperties"))
    if retain:
        _retain(ctx, topic, payload, qos, user_properties)
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


def _user_properties(value: Any) -> Any:
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


def _retain(
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


# --------------------------------------------------------------------------- connections


def _lifecycle_event(
    ctx: RequestContext, connection: Connection, event_type: str, **extra: Any
) -> None:
    store = ctx.backend.store(MessagingStore)
    version = store.client_versions.get(connection.client_id, -1) + 1
    store.client_versions[connection.client_id] = version
    event = {
        "clientId": connection.client_id,
        "timestamp": clock.now_millis(),
        "eventType": event_type,
        "sessionIdentifier": connection.session_id,
        "principalIdentifier": connection.principal,
        **extra,
        "versionNumber": version,
    }
    topic = f"$aws/events/presence/{event_type}/{connection.client_id}"
    publish(ctx, topic, _encode_json(event), source="lifecycle")


def connect_client(
    mock: IotMock,
    client_id: str,
    *,
    principal: str | None = None,
    will_topic: str | None = None,
    will_payload: bytes | str = b"",
) -> None:
    """Declare an MQTT client connected (what IotMock.devices.connect does)."""
    with mock.lock:
        ctx = RequestContext(
            mock, mock._state(), "iot-data", "Connect", mock.account_id, mock.region
        )
        store = ctx.backend.store(MessagingStore)
        previous = store.connections.get(client_id)
        if previous is not None:
            # AWS disconnects the older session of a client id that connects again.
            _disconnect(ctx, previous, "DUPLICATE_CLIENTID", publish_will=True)
        connection = Connection(
            client_id=client_id,
            session_id=str(uuid.uuid4()),
            connected_at_ms=clock.now_millis(),
            principal=principal or ctx.account_id,
            will_topic=will_topic,
            will_payload=will_payload.encode() if isinstance(will_payload, str) else will_payload,
        )
        store.connections[client_id] = connection
        _lifecycle_event(ctx, connection, "connected", ipAddress="127.0.0.1")


def _disconnect(
    ctx: RequestContext, connection: Connection, reason: str, *, publish_will: bool
) -> None:
    ctx.backend.store(MessagingStore).connections.pop(connection.client_id, None)
    if publish_will and connection.will_topic is not None:
        publish(
            ctx,
            connection.will_topic,
            connection.will_payload,
            source="will",
            client_id=connection.client_id,
        )
    _lifecycle_event(
        ctx,
        connection,
        "disconnected",
        clientInitiatedDisconnect=False,
        disconnectReason=reason,
    )


@operation("iot-data", "DeleteConnection")
def delete_connection(ctx: RequestContext, params: Params) -> dict[str, Any]:
    client_id = params["clientId"]
    connection = ctx.backend.store(MessagingStore).connections.get(client_id)
    if connection is None:
        raise not_found(f"No connection exists for client ID: '{client_id}'")
    _disconnect(
        ctx,
        connection,
        "API_INITIATED_DISCONNECT",
        publish_will=not params.get("preventWillMessage", False),
    )
    return {}
