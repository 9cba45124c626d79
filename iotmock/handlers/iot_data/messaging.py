"""MQTT messaging over the data plane: Publish, retained messages (GetRetainedMessage,
ListRetainedMessages) and client connections (DeleteConnection).

Connected clients are the ones a test declares with `IotMock.connect_client(...)` and the
real devices connected to the MQTT endpoint (`iotmock.devices.mqtt`), which register here
through `open_connection` / `close_connection`; connecting and disconnecting publish the
documented lifecycle events on `$aws/events/presence/connected|disconnected/<clientId>`.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ... import _clock
from ..._errors import ServiceError, invalid_request, not_found
from ..._paging import SortedIndex, page_of
from ..._registry import Params, RequestContext, operation
from ...messages import publish

if TYPE_CHECKING:
    from ..._mock import IotMock

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


class Transport(Protocol):
    """The network side of a real MQTT connection (None for simulated clients)."""

    def close(self, reason: str) -> None:
        """End the connection for `reason` (a lifecycle disconnectReason); idempotent."""

    def discard_session(self) -> None:
        """Forget the client's persistent session (DeleteConnection cleanSession)."""


@dataclass(slots=True)
class Connection:
    client_id: str
    session_id: str
    connected_at_ms: int
    principal: str
    will_topic: str | None = None
    will_payload: bytes = b""
    will_qos: int = 0
    will_retain: bool = False
    ip_address: str = "127.0.0.1"
    transport: Transport | None = None
    # The thing of an exclusive-thing connection: lifecycle events name it.
    thing_name: str | None = None


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
    publish_from_client(
        ctx,
        topic,
        payload,
        qos=qos,
        retain=retain,
        user_properties=_user_properties(params.get("userProperties")),
        content_type=params.get("contentType"),
        correlation_data=params.get("correlationData"),
        message_expiry=params.get("messageExpiry"),
        response_topic=params.get("responseTopic"),
        payload_format_indicator=params.get("payloadFormatIndicator"),
    )
    return {}


def publish_from_client(
    ctx: RequestContext,
    topic: str,
    payload: bytes,
    *,
    qos: int,
    retain: bool,
    user_properties: Any = None,
    **details: Any,
) -> None:
    """A client's message, checked: kept as the topic's retained message when `retain`,
    then published (iot-data Publish and MQTT devices both come here)."""
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
        **details,
    )


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
        last_modified_ms=_clock.now_millis(),
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
    if "#" in connection.client_id or "+" in connection.client_id:
        return  # AWS publishes no lifecycle events for client ids with MQTT wildcards
    store = ctx.backend.store(MessagingStore)
    version = store.client_versions.get(connection.client_id, -1) + 1
    store.client_versions[connection.client_id] = version
    event = {
        "clientId": connection.client_id,
        "timestamp": _clock.now_millis(),
        "eventType": event_type,
        "sessionIdentifier": connection.session_id,
        "principalIdentifier": connection.principal,
        **extra,
        "versionNumber": version,
    }
    if connection.thing_name is not None:
        event["thingName"] = connection.thing_name
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
    """Declare an MQTT client connected (what IotMock.connect_client does)."""
    with mock.lock:
        ctx = RequestContext(
            mock, mock.backend(), "iot-data", "Connect", mock.account_id, mock.region
        )
        connection = Connection(
            client_id=client_id,
            session_id=str(uuid.uuid4()),
            connected_at_ms=_clock.now_millis(),
            principal=principal or ctx.account_id,
            will_topic=will_topic,
            will_payload=will_payload.encode() if isinstance(will_payload, str) else will_payload,
        )
        open_connection(ctx, connection)


def open_connection(ctx: RequestContext, connection: Connection) -> None:
    """Register a connected client (simulated or real) and publish its `connected` event."""
    store = ctx.backend.store(MessagingStore)
    previous = store.connections.get(connection.client_id)
    if previous is not None:
        # AWS disconnects the older session of a client id that connects again.
        close_connection(ctx, previous, "DUPLICATE_CLIENTID", publish_will=True)
    store.connections[connection.client_id] = connection
    _lifecycle_event(ctx, connection, "connected", ipAddress=connection.ip_address)


def close_connection(
    ctx: RequestContext,
    connection: Connection,
    reason: str,
    *,
    publish_will: bool,
    client_initiated: bool = False,
) -> None:
    """Unregister a connection: publish its will (when asked) and the `disconnected`
    event, then close its transport. A connection no longer registered is left alone."""
    store = ctx.backend.store(MessagingStore)
    if store.connections.get(connection.client_id) is not connection:
        return
    del store.connections[connection.client_id]
    if publish_will and connection.will_topic is not None:
        if connection.will_retain:
            _retain(ctx, connection.will_topic, connection.will_payload, connection.will_qos, None)
        publish(
            ctx,
            connection.will_topic,
            connection.will_payload,
            qos=connection.will_qos,
            retain=connection.will_retain,
            source="will",
            client_id=connection.client_id,
        )
    _lifecycle_event(
        ctx,
        connection,
        "disconnected",
        clientInitiatedDisconnect=client_initiated,
        disconnectReason=reason,
    )
    # Last, so a client that sees its socket close finds the will and event published.
    if connection.transport is not None:
        connection.transport.close(reason)


@operation("iot-data", "DeleteConnection")
def delete_connection(ctx: RequestContext, params: Params) -> dict[str, Any]:
    client_id = params["clientId"]
    connection = ctx.backend.store(MessagingStore).connections.get(client_id)
    if connection is None:
        raise not_found(f"No connection exists for client ID: '{client_id}'")
    if params.get("cleanSession") and connection.transport is not None:
        connection.transport.discard_session()
    close_connection(
        ctx,
        connection,
        "API_INITIATED_DISCONNECT",
        publish_will=not params.get("preventWillMessage", False),
    )
    return {}
