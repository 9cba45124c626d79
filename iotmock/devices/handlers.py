"""The data-plane operations on client connections: DeleteConnection, GetConnection,
ListSubscriptions and SendDirectMessage, over the session registry (simulated devices
and real MQTT connections alike).

GetConnection, ListSubscriptions and SendDirectMessage exist in botocore's newest
iot-data models only (see `NEWER_OPERATIONS`); with an older botocore their handlers are
registered but no client can call them.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from iotmock.core import clock
from iotmock.core.errors import ServiceError, invalid_request, not_found
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import page_of
from iotmock.devices.access import RECEIVE
from iotmock.devices.sessions import (
    Delivery,
    end_by_service,
    known_session,
    last_session,
    live_session,
)
from iotmock.messaging.handlers import (
    MAX_PAYLOAD_BYTES,
    check_publish_topic,
    parse_user_properties,
)
from iotmock.messaging.log import Message

# Operations handled here that only botocore's newer service models define (1.44+):
# the registry check of the test suite accepts them when the installed model lacks them.
NEWER_OPERATIONS = frozenset(
    {
        ("iot-data", "GetConnection"),
        ("iot-data", "ListSubscriptions"),
        ("iot-data", "SendDirectMessage"),
    }
)
DEFAULT_SUBSCRIPTIONS_PAGE = 20
DEFAULT_CONFIRMATION_TIMEOUT = 5
CONFIRMATION_TIMEOUT_RANGE = (1, 15)


@operation("iot-data", "DeleteConnection")
def delete_connection(ctx: RequestContext, params: Params) -> dict[str, Any]:
    client_id = params["clientId"]
    session = live_session(ctx.backend, client_id)
    if session is None:
        raise not_found(f"No connection exists for client ID: '{client_id}'")
    end_by_service(
        ctx,
        session,
        "API_INITIATED_DISCONNECT",
        publish_will=not params.get("preventWillMessage", False),
        clean_state=bool(params.get("cleanSession", False)),
    )
    return {}


@operation("iot-data", "GetConnection")
def get_connection(ctx: RequestContext, params: Params) -> dict[str, Any]:
    client_id = params["clientId"]
    session = last_session(ctx.backend, client_id)
    if session is None:
        raise not_found(
            f"No connection information exists for client ID: '{client_id}' (it is not "
            "connected and did not disconnect in the last 30 minutes)."
        )
    answer: dict[str, Any] = {
        "clientId": session.client_id,
        "connected": session.connected,
        "thingName": session.thing_name,
        "cleanSession": session.clean_session,
    }
    if not session.clean_session:
        answer["sessionExpiry"] = session.session_expiry
    if session.connected:
        answer["connectedSince"] = session.connected_at_ms
        answer["keepAliveDuration"] = session.keep_alive
        if params.get("includeSocketInformation"):
            answer.update(
                sourceIp=session.source_ip,
                sourcePort=session.source_port,
                targetIp=session.target_ip,
                targetPort=session.target_port,
            )
    else:
        answer["disconnectedSince"] = session.disconnected_at_ms
        answer["disconnectReason"] = session.disconnect_reason
    return answer


@operation("iot-data", "ListSubscriptions")
def list_subscriptions(ctx: RequestContext, params: Params) -> dict[str, Any]:
    client_id = params["clientId"]
    session = known_session(ctx.backend, client_id)
    if session is None:
        raise not_found(f"No active or persistent session exists for client ID: '{client_id}'")
    page, token = page_of(
        f"ListSubscriptions:{client_id}",
        session.subscriptions,
        params,
        default_limit=DEFAULT_SUBSCRIPTIONS_PAGE,
    )
    return {
        "subscriptions": [{"topicFilter": s.topic_filter, "qos": s.qos} for s in page],
        "nextToken": token,
    }


@operation("iot-data", "SendDirectMessage")
def send_direct_message(ctx: RequestContext, params: Params) -> dict[str, Any]:
    client_id = params["clientId"]
    topic = params["topic"]
    payload: bytes = params.get("payload") or b""
    confirmation = bool(params.get("confirmation", False))
    timeout = params.get("timeout")
    if timeout is None:
        timeout = DEFAULT_CONFIRMATION_TIMEOUT
    low, high = CONFIRMATION_TIMEOUT_RANGE
    if confirmation and not low <= timeout <= high:
        raise invalid_request(f"timeout must be between {low} and {high} seconds, not {timeout}.")
    check_publish_topic(topic, retain=False)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ServiceError(
            "RequestEntityTooLargeException", "The payload exceeds the maximum size allowed"
        )
    session = live_session(ctx.backend, client_id)
    if session is None:
        # Direct messages are never queued for offline clients (DG:direct-messaging).
        raise not_found(f"The client '{client_id}' is not connected.")
    if not session.access.allows(RECEIVE, f"topic/{topic}"):
        raise ServiceError(
            "ForbiddenException",
            f"The policies of client '{client_id}' do not allow iot:Receive on topic '{topic}'.",
        )
    message = Message(
        topic,
        payload,
        qos=1 if confirmation else 0,
        timestamp=clock.now(),
        source="direct",
        user_properties=parse_user_properties(params.get("userProperties")),
        content_type=params.get("contentType"),
        correlation_data=params.get("correlationData"),
        response_topic=params.get("responseTopic"),
        payload_format_indicator=params.get("payloadFormatIndicator"),
    )
    # Direct messages skip the message log: no rule sees them, no subscriber gets them.
    delivery = Delivery(message, message.qos)
    session.deliver(delivery)
    if confirmation and not _acknowledged(ctx, delivery, timeout):
        raise ServiceError(
            "GatewayTimeoutException",
            f"The client '{client_id}' did not acknowledge (PUBACK) the message within "
            f"{timeout} seconds.",
        )
    return {
        "message": "Message delivered and acknowledged" if confirmation else "Message sent",
        "traceId": str(uuid.uuid4()),
    }


def _acknowledged(ctx: RequestContext, delivery: Delivery, timeout: float) -> bool:
    """Wait for the client's PUBACK with the mock's lock released meanwhile: the MQTT
    listener serves every connection from one thread, which must not block on the lock
    while this request waits."""
    condition = threading.Condition(ctx.mock.lock)  # wait() releases every level of it
    deadline = time.monotonic() + timeout
    with condition:
        while not delivery.done:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            condition.wait(min(remaining, 0.01))
    return True
