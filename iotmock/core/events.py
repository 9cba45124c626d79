"""In-process events between resource families.

A family that must react to another's change (a continuous job to a thing joining a
group, the rules engine to a published message) subscribes by event name; the family
that makes the change emits. Neither imports the other.

Events of this mock: "thing_created"(thing), "thing_updated"(thing, previous_type_name),
"thing_deleted"(thing_name), "thing_record_deleted"(thing), "thing_type_created"(thing_type),
"thing_type_updated"(thing_type) (UpdateThingType, DeprecateThingType),
"thing_type_deleted"(thing_type), "thing_group_created"(group), "thing_group_updated"(group),
"thing_group_deleted"(group_name, arn), "thing_group_record_deleted"(group),
"thing_added_to_group"(thing_name, group_name), "thing_removed_from_group"(thing_name,
group_name), "certificate_deleted"(certificate_id, arn), "message_published"(message),
"job_changed"(job, operation: completed|canceled|deleted),
"job_execution_changed"(execution, operation: succeeded|failed|rejected|timed_out|removed|
canceled|deleted).
Records are passed as they are after the change; the "*_record_deleted" events carry the
deleted record (no longer in the backend) for subscribers that need more than its name,
such as the registry event messages of `iotmock.logging.registry_events`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iotmock.core.operations import RequestContext

Subscriber = Callable[..., None]

_SUBSCRIBERS: dict[str, list[Subscriber]] = {}
# Subscribers to "message_published" that only care about topics with this prefix:
# skipping the others keeps every published message cheap.
_TOPIC_PREFIXES: dict[Subscriber, str] = {}


def subscribe(event: str, *, topic_prefix: str | None = None) -> Callable[[Subscriber], Subscriber]:
    """Register the decorated function for `event`; it is called with the request
    context and the event's keyword arguments. With `topic_prefix` ("message_published"
    only), it is called only for messages whose topic starts with that prefix."""

    def register(func: Subscriber) -> Subscriber:
        _SUBSCRIBERS.setdefault(event, []).append(func)
        if topic_prefix is not None:
            _TOPIC_PREFIXES[func] = topic_prefix
        return func

    return register


def emit(ctx: RequestContext, event: str, **details: Any) -> None:
    message = details.get("message")
    topic: str = message.topic if message is not None else ""
    for subscriber in _SUBSCRIBERS.get(event, ()):
        prefix = _TOPIC_PREFIXES.get(subscriber)
        if prefix is not None and not topic.startswith(prefix):
            continue
        subscriber(ctx, **details)
