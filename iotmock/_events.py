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
such as the registry event messages of `iotmock.registry_events`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._registry import RequestContext

Subscriber = Callable[..., None]

_SUBSCRIBERS: dict[str, list[Subscriber]] = {}


def subscribe(event: str) -> Callable[[Subscriber], Subscriber]:
    """Register the decorated function for `event`; it is called with the request
    context and the event's keyword arguments."""

    def register(func: Subscriber) -> Subscriber:
        _SUBSCRIBERS.setdefault(event, []).append(func)
        return func

    return register


def emit(ctx: RequestContext, event: str, **details: Any) -> None:
    for subscriber in _SUBSCRIBERS.get(event, ()):
        subscriber(ctx, **details)
