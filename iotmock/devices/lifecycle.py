"""The lifecycle events of device sessions (DG:life-cycle-events): presence
(`connected`, `disconnected`, `connect_failed`) and subscription (`subscribed`,
`unsubscribed`) events, published with the message source `lifecycle`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from iotmock.core import clock
from iotmock.core.operations import RequestContext
from iotmock.identity.records import Certificate
from iotmock.messaging.log import publish

if TYPE_CHECKING:
    from iotmock.devices.sessions import Session


def has_lifecycle_events(client_id: str) -> bool:
    """AWS publishes no lifecycle events for client ids containing `#` or `+`."""
    return "#" not in client_id and "+" not in client_id


def _body(session: Session, event_type: str, **extra: Any) -> dict[str, Any]:
    event = {
        "clientId": session.client_id,
        "timestamp": clock.now_millis(),
        "eventType": event_type,
        "sessionIdentifier": session.session_id,
        "principalIdentifier": session.principal,
        **extra,
    }
    # thingName is included only for a connection using the exclusive thing feature.
    if session.exclusive_thing is not None:
        event["thingName"] = session.exclusive_thing
    return event


def presence_event(
    ctx: RequestContext,
    session: Session,
    versions: dict[str, int],
    event_type: str,
    **extra: Any,
) -> None:
    """`$aws/events/presence/<connected|disconnected>/<clientId>`; `versions` holds the
    per-client versionNumber, one more at each connect and disconnect."""
    if not has_lifecycle_events(session.client_id):
        return
    version = versions.get(session.client_id, -1) + 1
    versions[session.client_id] = version
    event = _body(session, event_type, **extra, versionNumber=version)
    topic = f"$aws/events/presence/{event_type}/{session.client_id}"
    publish(ctx, topic, event, source="lifecycle")


def subscription_event(
    ctx: RequestContext, session: Session, event_type: str, topics: list[str]
) -> None:
    """`$aws/events/subscriptions/<subscribed|unsubscribed>/<clientId>` with the topics."""
    if not has_lifecycle_events(session.client_id):
        return
    topic = f"$aws/events/subscriptions/{event_type}/{session.client_id}"
    publish(ctx, topic, _body(session, event_type, topics=topics), source="lifecycle")


def connect_failed(ctx: RequestContext, client_id: str, certificate: Certificate | None) -> None:
    """`$aws/events/presence/connect_failed/<clientId>`: the policies refused CONNECT."""
    if not has_lifecycle_events(client_id):
        return
    event = {
        "clientId": client_id,
        "timestamp": clock.now_millis(),
        "eventType": "connect_failed",
        "failureType": "AUTHORIZATION_FAILURE",
        "principalIdentifier": certificate.certificate_id if certificate else ctx.account_id,
    }
    publish(ctx, f"$aws/events/presence/connect_failed/{client_id}", event, source="lifecycle")
