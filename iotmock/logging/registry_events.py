"""Registry events: the MQTT messages AWS IoT publishes on `$aws/events/...` when registry
resources change, for the event types enabled with UpdateEventConfigurations.

The registry families emit in-process events (`iotmock.core.events`); this module listens,
checks the event configuration of the caller's account and publishes the documented
message (developer guide, "Registry events") with `source="events"`:

- THING: `$aws/events/thing/<thingName>/created|updated|deleted`
- THING_TYPE: `$aws/events/thingType/<thingTypeName>/created|updated|deleted`
- THING_TYPE_ASSOCIATION: `$aws/events/thingTypeAssociation/thing/<thingName>/<thingTypeName>`
- THING_GROUP: `$aws/events/thingGroup/<groupName>/created|updated|deleted`
- THING_GROUP_MEMBERSHIP:
  `$aws/events/thingGroupMembership/thingGroup/<groupName>/thing/<thingName>/added|removed`
- THING_GROUP_HIERARCHY: `$aws/events/thingGroupHierarchy/thingGroup/<parentName>/
  childThingGroup/<childName>/added|removed`

Jobs events (developer guide, "Jobs events"):

- JOB: `$aws/events/job/<jobId>/completed|canceled|deleted`
- JOB_EXECUTION: `$aws/events/jobExecution/<jobId>/succeeded|failed|rejected|canceled|
  timed_out|removed|deleted`

POLICY, CERTIFICATE and CA_CERTIFICATE are stored and described but publish nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from iotmock.core import clock
from iotmock.core.backend import Backend
from iotmock.core.events import subscribe
from iotmock.core.model import service_model
from iotmock.core.operations import RequestContext
from iotmock.jobs.engine import COUNT_MEMBERS, TERMINAL_STATUSES, Job, JobExecution
from iotmock.messaging.log import publish
from iotmock.registry.records import Thing, ThingGroup, ThingType, registry_of
from iotmock.registry.thing_groups import ancestors


def _event_types() -> tuple[str, ...]:
    shape: Any = service_model("iot").shape_for("EventType")
    return tuple(shape.enum)


# THING, THING_GROUP, ..., CA_CERTIFICATE: the keys of the EventConfigurations map.
EVENT_TYPES = _event_types()


@dataclass(slots=True)
class EventConfigurationStore:
    """The account's event configurations; created (all disabled) on first use, which
    is its creationDate."""

    enabled: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(EVENT_TYPES, False))
    created_at: float = field(default_factory=clock.now)
    last_modified_at: float | None = None


def is_enabled(ctx: RequestContext, event_type: str) -> bool:
    """Whether registry events of `event_type` are published in the caller's account."""
    return ctx.backend.store(EventConfigurationStore).enabled.get(event_type, False)


# membershipId is stable for one (thing, group) pair, so ADDED and REMOVED messages of the
# same membership carry the same id.
_MEMBERSHIP_NAMESPACE = uuid.UUID("5d1f0d3e-4b0a-4f7e-9a51-7b1c1de0e0a1")


def _publish_event(
    ctx: RequestContext,
    event_type: str,
    topic: str,
    payload: dict[str, Any],
    *,
    payload_type: str | None = None,
) -> None:
    """Publish one event message when `event_type` is enabled in the account. The
    payload's eventType is `<event_type>_EVENT` for registry events; jobs events use
    their configuration name (`payload_type`)."""
    if not is_enabled(ctx, event_type):
        return
    header = {
        "eventType": payload_type or f"{event_type}_EVENT",
        "eventId": str(uuid.uuid4()),
        # Registry events carry epoch milliseconds.
        "timestamp": int(clock.now() * 1000),
    }
    publish(ctx, topic, {**header, **payload}, source="events")


# ---------------------------------------------------------------- things


def _thing_event(ctx: RequestContext, thing: Thing, operation: str) -> None:
    _publish_event(
        ctx,
        "THING",
        f"$aws/events/thing/{thing.name}/{operation.lower()}",
        {
            "operation": operation,
            "accountId": ctx.account_id,
            "thingId": thing.thing_id,
            "thingName": thing.name,
            "versionNumber": thing.version,
            "thingTypeName": thing.thing_type_name,
            "attributes": dict(thing.attributes),
        },
    )


def _type_association_event(
    ctx: RequestContext, thing: Thing, type_name: str, operation: str
) -> None:
    _publish_event(
        ctx,
        "THING_TYPE_ASSOCIATION",
        f"$aws/events/thingTypeAssociation/thing/{thing.name}/{type_name}",
        {
            "operation": operation,
            "thingId": thing.thing_id,
            "thingName": thing.name,
            "thingTypeName": type_name,
        },
    )


@subscribe("thing_created")
def _on_thing_created(ctx: RequestContext, thing: Thing) -> None:
    _thing_event(ctx, thing, "CREATED")
    if thing.thing_type_name:
        _type_association_event(ctx, thing, thing.thing_type_name, "ADDED")


@subscribe("thing_updated")
def _on_thing_updated(ctx: RequestContext, thing: Thing, previous_type_name: str | None) -> None:
    _thing_event(ctx, thing, "UPDATED")
    if previous_type_name == thing.thing_type_name:
        return
    if previous_type_name:
        _type_association_event(ctx, thing, previous_type_name, "REMOVED")
    if thing.thing_type_name:
        _type_association_event(ctx, thing, thing.thing_type_name, "ADDED")


@subscribe("thing_record_deleted")
def _on_thing_deleted(ctx: RequestContext, thing: Thing) -> None:
    _thing_event(ctx, thing, "DELETED")


# ---------------------------------------------------------------- thing types


def _thing_type_event(ctx: RequestContext, thing_type: ThingType, operation: str) -> None:
    mqtt5 = thing_type.mqtt5_configuration or {}
    _publish_event(
        ctx,
        "THING_TYPE",
        f"$aws/events/thingType/{thing_type.name}/{operation.lower()}",
        {
            "operation": operation,
            "accountId": ctx.account_id,
            "thingTypeId": thing_type.thing_type_id,
            "thingTypeName": thing_type.name,
            "isDeprecated": thing_type.deprecated,
            "deprecationDate": (
                int(thing_type.deprecation_date * 1000)
                if thing_type.deprecation_date is not None
                else None
            ),
            "searchableAttributes": list(thing_type.searchable_attributes),
            "propagatingAttributes": list(mqtt5.get("propagatingAttributes") or []),
            "description": thing_type.description,
        },
    )


@subscribe("thing_type_created")
def _on_thing_type_created(ctx: RequestContext, thing_type: ThingType) -> None:
    _thing_type_event(ctx, thing_type, "CREATED")


@subscribe("thing_type_updated")
def _on_thing_type_updated(ctx: RequestContext, thing_type: ThingType) -> None:
    _thing_type_event(ctx, thing_type, "UPDATED")


@subscribe("thing_type_deleted")
def _on_thing_type_deleted(ctx: RequestContext, thing_type: ThingType) -> None:
    _thing_type_event(ctx, thing_type, "DELETED")


# ---------------------------------------------------------------- thing groups


def _root_to_parent(backend: Backend, group: ThingGroup) -> list[ThingGroup]:
    """The ancestors of `group` from the root down to its parent (also right after the
    group itself left the index)."""
    parent = registry_of(backend).thing_groups.get(group.parent_name or "")
    return [*ancestors(backend, parent.name), parent] if parent is not None else []


def _thing_group_event(ctx: RequestContext, group: ThingGroup, operation: str) -> None:
    chain = _root_to_parent(ctx.backend, group)
    parent = chain[-1] if chain else None
    _publish_event(
        ctx,
        "THING_GROUP",
        f"$aws/events/thingGroup/{group.name}/{operation.lower()}",
        {
            "operation": operation,
            "accountId": ctx.account_id,
            "thingGroupId": group.group_id,
            "thingGroupName": group.name,
            "versionNumber": group.version,
            "parentGroupName": group.parent_name,
            "parentGroupId": parent.group_id if parent is not None else None,
            "description": group.description,
            "rootToParentThingGroups": [{"groupArn": g.arn, "groupId": g.group_id} for g in chain],
            "attributes": dict(group.attributes),
            "dynamicGroupMappingId": None,
        },
    )


def _hierarchy_event(ctx: RequestContext, child: ThingGroup, operation: str) -> None:
    parent = registry_of(ctx.backend).thing_groups.get(child.parent_name or "")
    if parent is None:
        return
    _publish_event(
        ctx,
        "THING_GROUP_HIERARCHY",
        f"$aws/events/thingGroupHierarchy/thingGroup/{parent.name}"
        f"/childThingGroup/{child.name}/{operation.lower()}",
        {
            "operation": operation,
            "accountId": ctx.account_id,
            "thingGroupId": parent.group_id,
            "thingGroupName": parent.name,
            "childGroupId": child.group_id,
            "childGroupName": child.name,
        },
    )


@subscribe("thing_group_created")
def _on_thing_group_created(ctx: RequestContext, group: ThingGroup) -> None:
    _thing_group_event(ctx, group, "CREATED")
    _hierarchy_event(ctx, group, "ADDED")


@subscribe("thing_group_updated")
def _on_thing_group_updated(ctx: RequestContext, group: ThingGroup) -> None:
    _thing_group_event(ctx, group, "UPDATED")


@subscribe("thing_group_record_deleted")
def _on_thing_group_deleted(ctx: RequestContext, group: ThingGroup) -> None:
    _hierarchy_event(ctx, group, "REMOVED")
    _thing_group_event(ctx, group, "DELETED")


def _membership_event(
    ctx: RequestContext, thing_name: str, group_name: str, operation: str
) -> None:
    # Membership events are emitted while both the thing and the group exist.
    thing = registry_of(ctx.backend).things.get(thing_name)
    group = registry_of(ctx.backend).thing_groups.get(group_name)
    if thing is None or group is None:
        return
    _publish_event(
        ctx,
        "THING_GROUP_MEMBERSHIP",
        f"$aws/events/thingGroupMembership/thingGroup/{group.name}"
        f"/thing/{thing.name}/{operation.lower()}",
        {
            "operation": operation,
            "accountId": ctx.account_id,
            "groupArn": group.arn,
            "groupId": group.group_id,
            "thingArn": thing.arn,
            "thingId": thing.thing_id,
            "membershipId": str(
                uuid.uuid5(_MEMBERSHIP_NAMESPACE, f"{thing.thing_id}/{group.group_id}")
            ),
        },
    )


@subscribe("thing_added_to_group")
def _on_thing_added_to_group(ctx: RequestContext, thing_name: str, group_name: str) -> None:
    _membership_event(ctx, thing_name, group_name, "ADDED")


@subscribe("thing_removed_from_group")
def _on_thing_removed_from_group(ctx: RequestContext, thing_name: str, group_name: str) -> None:
    _membership_event(ctx, thing_name, group_name, "REMOVED")


# ---------------------------------------------------------------- jobs


def _millis(moment: float | None) -> int | None:
    return int(moment * 1000) if moment is not None else None


@subscribe("job_changed")
def _on_job_changed(ctx: RequestContext, job: Job, operation: str) -> None:
    payload: dict[str, Any] = {
        "operation": operation,
        "jobId": job.job_id,
        "status": job.status,
        "targetSelection": job.target_selection,
        "targets": list(job.targets),
        "description": job.description,
        "completedAt": _millis(job.completed_at),
        "createdAt": _millis(job.created_at),
        "lastUpdatedAt": _millis(job.last_updated_at),
        # The counters of the things whose current execution has ended.
        "jobProcessDetails": {
            member: job.counts.get(status, 0)
            for status, member in COUNT_MEMBERS.items()
            if status in TERMINAL_STATUSES
        },
    }
    if job.reason_code is not None:
        payload["reasonCode"] = job.reason_code
    if job.comment is not None:
        payload["comment"] = job.comment
    _publish_event(
        ctx, "JOB", f"$aws/events/job/{job.job_id}/{operation}", payload, payload_type="JOB"
    )


@subscribe("job_execution_changed")
def _on_job_execution_changed(ctx: RequestContext, execution: JobExecution, operation: str) -> None:
    _publish_event(
        ctx,
        "JOB_EXECUTION",
        f"$aws/events/jobExecution/{execution.job_id}/{operation}",
        {
            "operation": operation,
            "jobId": execution.job_id,
            "thingArn": execution.thing_arn,
            "status": execution.status,
            "statusDetails": dict(execution.status_details),
        },
        payload_type="JOB_EXECUTION",
    )
