"""Dynamic thing groups (spec §6): CreateDynamicThingGroup, UpdateDynamicThingGroup,
DeleteDynamicThingGroup.

A dynamic group is a ThingGroup record with a fleet-indexing query (`query_string`,
`index_name`, `query_version`, `status`). It stores no members: ListThingsInThingGroup,
ListThingGroupsForThing and job targeting evaluate the query against the AWS_Things
index on every call (iotmock.indexing.membership), so membership follows the registry,
shadows and connectivity at once. AWS builds a new group (status BUILDING) or rebuilds
an updated one (REBUILDING) before it is ACTIVE; the mock's index is always current, so
the status is ACTIVE right away.
"""

from __future__ import annotations

from typing import Any

from iotmock.core.errors import invalid_request, limit_exceeded
from iotmock.core.events import subscribe
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.indexing.config import QUERY_VERSION, THINGS_INDEX, IndexingStore, check_query_version
from iotmock.indexing.documents import open_view
from iotmock.indexing.query import parse
from iotmock.registry.records import ThingGroup, registry_of
from iotmock.registry.thing_groups import (
    add_dynamic_group,
    get_group,
    group_exists,
    remove_group,
    requested_properties,
    update_dynamic_group,
)
from iotmock.registry.things import check_expected_version

MAX_DYNAMIC_GROUPS = 100  # per account (spec §6, a soft quota)


def _check_query(ctx: RequestContext, params: Params) -> None:
    """The index must be AWS_Things and enabled, and the query valid."""
    index_name = params.get("indexName")
    if index_name is not None and index_name != THINGS_INDEX:
        raise invalid_request(
            f"Dynamic thing groups query the {THINGS_INDEX} index only, not {index_name}."
        )
    check_query_version(params.get("queryVersion"))
    open_view(ctx.backend, THINGS_INDEX)  # ResourceNotFoundException when indexing is OFF
    if params.get("queryString") is not None:
        parse(params["queryString"])


def _static(group: ThingGroup, action: str) -> Exception:
    return invalid_request(
        f"Thing group {group.name} is a static thing group; {action} it with the "
        "static thing group operations."
    )


@subscribe("thing_group_deleted")
def _forget(ctx: RequestContext, group_name: str, arn: str) -> None:
    ctx.backend.store(IndexingStore).dynamic_groups.discard(group_name)


@operation("iot", "CreateDynamicThingGroup")
def create_dynamic_thing_group(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    store = backend.store(IndexingStore)
    name = params["thingGroupName"]
    _check_query(ctx, params)
    description, attributes = requested_properties(params)
    existing = registry_of(backend).thing_groups.get(name)
    if existing is not None:
        # As CreateThingGroup: the same definition again answers the existing group.
        if (
            existing.query_string == params["queryString"]
            and existing.description == description
            and existing.attributes == attributes
        ):
            return _identity(existing)
        raise group_exists(existing)
    if len(store.dynamic_groups) >= MAX_DYNAMIC_GROUPS:
        raise limit_exceeded(
            f"An account can have at most {MAX_DYNAMIC_GROUPS} dynamic thing groups."
        )
    query_version = params.get("queryVersion") or QUERY_VERSION
    group = add_dynamic_group(backend, params, index_name=THINGS_INDEX, query_version=query_version)
    store.dynamic_groups.add(name)
    return _identity(group)


def _identity(group: ThingGroup) -> dict[str, Any]:
    return {
        "thingGroupName": group.name,
        "thingGroupArn": group.arn,
        "thingGroupId": group.group_id,
        "indexName": group.index_name,
        "queryString": group.query_string,
        "queryVersion": group.query_version,
    }


@operation("iot", "UpdateDynamicThingGroup")
def update_dynamic_thing_group(ctx: RequestContext, params: Params) -> dict[str, Any]:
    group = get_group(ctx.backend, params["thingGroupName"])
    if not group.is_dynamic:
        raise _static(group, "update")
    check_expected_version("thing group", group.name, group.version, params.get("expectedVersion"))
    _check_query(ctx, params)
    return {"version": update_dynamic_group(group, params)}


@operation("iot", "DeleteDynamicThingGroup")
def delete_dynamic_thing_group(ctx: RequestContext, params: Params) -> dict[str, Any]:
    name = params["thingGroupName"]
    group = registry_of(ctx.backend).thing_groups.get(name)
    if group is None:
        return {}  # no 404 is modelled: deleting a missing group succeeds (spec §6)
    if not group.is_dynamic:
        raise _static(group, "delete")
    check_expected_version("thing group", name, group.version, params.get("expectedVersion"))
    remove_group(ctx, group)
    return {}
