"""Lifecycle events of device connections that only the MQTT endpoint publishes:
connect failures and subscription changes (AWS IoT developer guide, "Lifecycle events").
The connect/disconnect events are the connection registry's
(`handlers/iot_data/messaging.py`), shared with simulated clients."""

from __future__ import annotations

from ... import _clock
from ..._registry import RequestContext
from ...handlers.iot_data.messaging import Connection
from ...messages import publish


def has_lifecycle_events(client_id: str) -> bool:
    # AWS publishes no lifecycle events for client ids containing MQTT wildcards.
    return "#" not in client_id and "+" not in client_id


def connect_failed(ctx: RequestContext, client_id: str, principal_id: str) -> None:
    """`$aws/events/presence/connect_failed/<clientId>`: the policy denied CONNECT."""
    if not has_lifecycle_events(client_id):
        return
    event = {
        "clientId": client_id,
        "timestamp": _clock.now_millis(),
        "eventType": "connect_failed",
        "failureType": "AUTHORIZATION_FAILURE",
        "principalIdentifier": principal_id,
    }
    publish(ctx, f"$aws/events/presence/connect_failed/{client_id}", event, source="lifecycle")


def subscription_changed(
    ctx: RequestContext, record: Connection, event_type: str, topics: list[str]
) -> None:
    """`$aws/events/subscriptions/<subscribed|unsubscribed>/<clientId>`."""
    if not has_lifecycle_events(record.client_id):
        return
    event: dict[str, object] = {
        "clientId": record.client_id,
        "timestamp": _clock.now_millis(),
        "eventType": event_type,
        "sessionIdentifier": record.session_id,
        "principalIdentifier": record.principal,
        "topics": topics,
    }
    if record.thing_name is not None:
        event["thingName"] = record.thing_name
    topic = f"$aws/events/subscriptions/{event_type}/{record.client_id}"
    publish(ctx, topic, event, source="lifecycle")
