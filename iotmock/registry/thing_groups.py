"""Static thing groups: hierarchy, membership and versions (spec §6).

Typed helpers other families reuse: `get_group`, `ancestors`, `descendants`,
`group_members_recursive`, `add_thing_to_group`, `remove_thing_from_group`,
`update_memberships`, `check_memberships`, `remove_group`, for the create and
update of static and dynamic groups alike `requested_properties`, `group_exists`,
`update_properties`, and the records of dynamic groups (fleet indexing checks their
queries): `add_dynamic_group`, `update_dynamic_group`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import Any

from iotmock.core import clock, tagging
from iotmock.core.backend import Backend
from iotmock.core.errors import ServiceError, already_exists, invalid_request, not_found
from iotmock.core.events import emit
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.indexing import dynamic_groups_of, dynamic_members
from iotmock.registry.records import Thing, ThingGroup, registry_of
from iotmock.registry.things import (
    check_expected_version,
    get_thing,
    merged_attributes,
    page_of_names,
    page_with_prefix,
    resolve_by_name_or_arn,
    resolve_thing,
)

MAX_DEPTH = 7  # a hierarchy has at most 7 levels (spec §6)
MAX_CHILDREN = 100  # direct children per group (spec §6)
MAX_GROUPS_PER_THING = 10  # static groups per thing (DG:thing-groups)


@tagging.taggable("thinggroup")
def _thing_group_exists(backend: Backend, name: str) -> bool:
    return name in registry_of(backend).thing_groups


def get_group(backend: Backend, name: str) -> ThingGroup:
    group = registry_of(backend).thing_groups.get(name)
    if group is None:
        raise not_found(f"Thing Group {name} cannot be found.")
    return group


def resolve_group(backend: Backend, name: str | None, arn: str | None) -> ThingGroup:
    """The group named by `thingGroupName` or `thingGroupArn`."""
    return resolve_by_name_or_arn(
        registry_of(backend).thing_groups, name, arn, kind="Thing Group", member="thingGroup"
    )


def ancestors(backend: Backend, group_name: str) -> list[ThingGroup]:
    """The ancestors of a group, from the root down to its direct parent."""
    chain: list[ThingGroup] = []
    group = registry_of(backend).thing_groups.get(group_name)
    while group is not None and group.parent_name is not None:
        group = registry_of(backend).thing_groups.get(group.parent_name)
        if group is not None:
            chain.append(group)
    chain.reverse()
    return chain


def root_name(backend: Backend, group_name: str) -> str:
    chain = ancestors(backend, group_name)
    return chain[0].name if chain else group_name


def descendants(backend: Backend, group_name: str) -> set[str]:
    """Names of every group below `group_name` (not including it)."""
    found: set[str] = set()
    pending = [group_name]
    while pending:
        group = registry_of(backend).thing_groups.get(pending.pop())
        if group is not None:
            new = group.child_names - found
            found |= new
            pending.extend(new)
    return found


def members_of(backend: Backend, group: ThingGroup) -> AbstractSet[str]:
    """The things of a group: its static members, or what a dynamic group's query
    matches now (evaluated on each call, see iotmock/indexing/membership.py)."""
    return dynamic_members(backend, group) if group.is_dynamic else group.thing_names


def group_members_recursive(backend: Backend, group_name: str) -> set[str]:
    """Things of `group_name` and of every group below it."""
    members: set[str] = set()
    for name in (group_name, *descendants(backend, group_name)):
        group = registry_of(backend).thing_groups.get(name)
        if group is not None:
            members.update(members_of(backend, group))
    return members


def check_memberships(backend: Backend, thing_name: str, group_names: set[str]) -> None:
    """A thing is in at most 10 static groups, never two of one hierarchy (DG:thing-groups)."""
    if len(group_names) > MAX_GROUPS_PER_THING:
        raise invalid_request(
            f"Thing {thing_name} cannot be added to more than {MAX_GROUPS_PER_THING} thing "
            f"groups; it would be in {len(group_names)}."
        )
    roots: dict[str, str] = {}
    for name in sorted(group_names):
        root = root_name(backend, name)
        other = roots.setdefault(root, name)
        if other != name:
            raise invalid_request(
                f"Thing {thing_name} cannot be in both {other} and {name}: a thing can be "
                f"in only one group of a hierarchy (root group {root})."
            )


def check_static(group: ThingGroup) -> None:
    if group.is_dynamic:
        raise invalid_request(
            f"Thing group {group.name} is a dynamic thing group: its members come from its "
            "query and cannot be added or removed by hand."
        )


def update_memberships(
    ctx: RequestContext,
    thing: Thing,
    to_add: Iterable[ThingGroup] = (),
    to_remove: Iterable[ThingGroup] = (),
) -> None:
    """Add `thing` to and remove it from static groups in one checked step, emitting
    "thing_added_to_group" / "thing_removed_from_group" for each actual change."""
    adding = {g.name: g for g in to_add if g.name not in thing.group_names}
    removing = {g.name: g for g in to_remove if g.name in thing.group_names}
    for group in (*adding.values(), *removing.values()):
        check_static(group)
    final = (thing.group_names - removing.keys()) | adding.keys()
    if adding:
        check_memberships(ctx.backend, thing.name, final)
    for group in removing.values():
        group.thing_names.discard(thing.name)
        thing.group_names.discard(group.name)
    for group in adding.values():
        group.thing_names.add(thing.name)
        thing.group_names.add(group.name)
    # The events go out once the whole change is applied: a subscriber (continuous jobs)
    # must see the final memberships, or a move between two groups it targets would look
    # like the thing leaving them.
    for group in removing.values():
        emit(ctx, "thing_removed_from_group", thing_name=thing.name, group_name=group.name)
    for group in adding.values():
        emit(ctx, "thing_added_to_group", thing_name=thing.name, group_name=group.name)


def add_thing_to_group(ctx: RequestContext, thing: Thing, group: ThingGroup) -> None:
    update_memberships(ctx, thing, to_add=(group,))


def remove_thing_from_group(ctx: RequestContext, thing: Thing, group: ThingGroup) -> None:
    update_memberships(ctx, thing, to_remove=(group,))


def remove_group(ctx: RequestContext, group: ThingGroup) -> None:
    """Forget a group with no children: unlink it from its parent and its member things,
    drop its tags and emit "thing_group_deleted" (DeleteDynamicThingGroup reuses this)."""
    backend = ctx.backend
    registry_of(backend).thing_groups.pop(group.name)
    if group.parent_name is not None:
        parent = registry_of(backend).thing_groups.get(group.parent_name)
        if parent is not None:
            parent.child_names.discard(group.name)
    # Member things do not block deletion; they simply leave the group.
    for thing_name in group.thing_names:
        thing = registry_of(backend).things.get(thing_name)
        if thing is not None:
            thing.group_names.discard(group.name)
    tagging.drop(backend, group.arn)
    emit(ctx, "thing_group_deleted", group_name=group.name, arn=group.arn)
    emit(ctx, "thing_group_record_deleted", group=group)


# ---------------------------------------------------------------- create / describe


def _properties(group: ThingGroup) -> dict[str, Any]:
    # A group created without properties describes as `thingGroupProperties: {}`, as AWS
    # shows it: no description key, and no attributePayload without attributes.
    properties: dict[str, Any] = {}
    if group.description is not None:
        properties["thingGroupDescription"] = group.description
    if group.attributes:
        properties["attributePayload"] = {"attributes": dict(group.attributes)}
    return properties


def _group_ref(group: ThingGroup) -> dict[str, str]:
    return {"groupName": group.name, "groupArn": group.arn}


def _check_parent(backend: Backend, parent_name: str) -> ThingGroup:
    parent = registry_of(backend).thing_groups.get(parent_name)
    if parent is None:
        # CreateThingGroup models no 404: a missing parent is a bad request.
        raise invalid_request(f"Parent thing group {parent_name} cannot be found.")
    if parent.is_dynamic:
        raise invalid_request(
            f"Thing group {parent_name} is a dynamic thing group and cannot have child groups."
        )
    if len(ancestors(backend, parent_name)) + 2 > MAX_DEPTH:
        raise invalid_request(
            f"Thing group hierarchies can be at most {MAX_DEPTH} levels deep; {parent_name} "
            "is already at the deepest level."
        )
    if len(parent.child_names) >= MAX_CHILDREN:
        raise invalid_request(
            f"Thing group {parent_name} already has {MAX_CHILDREN} child groups, the maximum."
        )
    return parent


def requested_properties(params: Params) -> tuple[str | None, dict[str, str]]:
    """The description and attributes the thingGroupProperties of a CreateThingGroup or
    CreateDynamicThingGroup request ask for."""
    properties = params.get("thingGroupProperties") or {}
    attributes = merged_attributes({}, properties.get("attributePayload") or {})
    return properties.get("thingGroupDescription"), attributes


def group_exists(existing: ThingGroup) -> ServiceError:
    """What creating `existing` again with another definition answers (static or dynamic)."""
    return already_exists(
        f"Thing Group {existing.name} already exists in current account with different properties",
        existing.group_id,
        existing.arn,
    )


def update_properties(group: ThingGroup, properties: dict[str, Any]) -> None:
    """Apply the thingGroupProperties of an Update(Dynamic)ThingGroup: a given description
    replaces the old one; the attribute payload merges (or replaces) attributes."""
    if "thingGroupDescription" in properties:
        group.description = properties["thingGroupDescription"]
    group.attributes = merged_attributes(group.attributes, properties.get("attributePayload"))


def _new_group(backend: Backend, params: Params, **kind_fields: Any) -> ThingGroup:
    """Make, tag and index the group a Create(Dynamic)ThingGroup request asks for (its
    checks passed); `kind_fields` are the ThingGroup fields of a static or dynamic group."""
    name = params["thingGroupName"]
    description, attributes = requested_properties(params)
    group = ThingGroup(
        name=name,
        group_id=str(uuid.uuid4()),
        arn=backend.arn(f"thinggroup/{name}"),
        description=description,
        attributes=attributes,
        created_at=clock.now(),
        **kind_fields,
    )
    tagging.tag_on_create(backend, group.arn, params.get("tags"))
    registry_of(backend).thing_groups[name] = group
    return group


def add_dynamic_group(
    backend: Backend, params: Params, *, index_name: str, query_version: str
) -> ThingGroup:
    """Create the record of a new dynamic thing group from a CreateDynamicThingGroup
    request whose query the caller checked (no group of that name exists): ACTIVE at
    once, as the mock's fleet index is always current."""
    return _new_group(
        backend,
        params,
        query_string=params["queryString"],
        index_name=index_name,
        query_version=query_version,
        status="ACTIVE",
    )


def update_dynamic_group(group: ThingGroup, params: Params) -> int:
    """Apply an UpdateDynamicThingGroup request whose query the caller checked: the
    properties, a new query or query version; the rebuild completes at once (ACTIVE).
    The group's new version."""
    update_properties(group, params["thingGroupProperties"])
    if params.get("queryString") is not None:
        group.query_string = params["queryString"]
    if params.get("queryVersion") is not None:
        group.query_version = params["queryVersion"]
    group.status = "ACTIVE"
    group.version += 1
    return group.version


@operation("iot", "CreateThingGroup")
def create_thing_group(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    name = params["thingGroupName"]
    parent_name = params.get("parentGroupName")
    description, attributes = requested_properties(params)
    existing = registry_of(backend).thing_groups.get(name)
    if existing is not None:
        if (
            not existing.is_dynamic
            and existing.parent_name == parent_name
            and existing.description == description
            and existing.attributes == attributes
        ):
            return _identity(existing)
        raise group_exists(existing)
    parent = _check_parent(backend, parent_name) if parent_name else None
    group = _new_group(backend, params, parent_name=parent_name)
    if parent is not None:
        parent.child_names.add(name)
    emit(ctx, "thing_group_created", group=group)
    return _identity(group)


def _identity(group: ThingGroup) -> dict[str, Any]:
    return {
        "thingGroupName": group.name,
        "thingGroupArn": group.arn,
        "thingGroupId": group.group_id,
    }


@operation("iot", "DescribeThingGroup")
def describe_thing_group(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    group = get_group(backend, params["thingGroupName"])
    return {
        "thingGroupName": group.name,
        "thingGroupId": group.group_id,
        "thingGroupArn": group.arn,
        "version": group.version,
        "thingGroupProperties": _properties(group),
        "thingGroupMetadata": {
            "parentGroupName": group.parent_name,
            "rootToParentThingGroups": [_group_ref(g) for g in ancestors(backend, group.name)]
            or None,
            "creationDate": group.created_at,
        },
        "indexName": group.index_name,
        "queryString": group.query_string,
        "queryVersion": group.query_version,
        "status": group.status,
    }


@operation("iot", "UpdateThingGroup")
def update_thing_group(ctx: RequestContext, params: Params) -> dict[str, Any]:
    group = get_group(ctx.backend, params["thingGroupName"])
    check_expected_version("thing group", group.name, group.version, params.get("expectedVersion"))
    update_properties(group, params["thingGroupProperties"])
    group.version += 1
    emit(ctx, "thing_group_updated", group=group)
    return {"version": group.version}


@operation("iot", "DeleteThingGroup")
def delete_thing_group(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    name = params["thingGroupName"]
    group = registry_of(backend).thing_groups.get(name)
    if group is None:
        return {}  # no 404 is modelled: deleting a missing group succeeds (spec §6)
    check_expected_version("thing group", name, group.version, params.get("expectedVersion"))
    if group.child_names:
        # AWS's message (spec §6, TF:thing_group.go).
        raise invalid_request(
            f"Cannot delete thing group : {name} when there are still child groups attached to it"
        )
    remove_group(ctx, group)
    return {}


# ---------------------------------------------------------------- listing


@operation("iot", "ListThingGroups")
def list_thing_groups(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    parent_name = params.get("parentGroup")
    prefix = params.get("namePrefixFilter")
    # `recursive` absent means true (AWS): every descendant of parentGroup, or every group
    # without one; false keeps parentGroup's direct children, or the root groups.
    recursive = params.get("recursive", True)
    scope = f"ListThingGroups:{parent_name}:{prefix}:{recursive}"
    index = registry_of(backend).thing_groups
    if parent_name is None:
        # Every group, or the root groups: one walk of the name index either way.
        roots_only = None if recursive else (lambda g: g.parent_name is None)
        groups, token = page_with_prefix(scope, index, prefix, params, keep=roots_only)
    else:
        parent = get_group(backend, parent_name)
        below = descendants(backend, parent.name) if recursive else parent.child_names
        if prefix:
            below = {n for n in below if n.startswith(prefix)}
        names, token = page_of_names(scope, below, params)
        groups = [registry_of(backend).thing_groups[n] for n in names]
    return {"thingGroups": [_group_ref(g) for g in groups], "nextToken": token}


@operation("iot", "ListThingGroupsForThing")
def list_thing_groups_for_thing(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    thing = get_thing(backend, params["thingName"])
    groups = thing.group_names | dynamic_groups_of(backend, thing)
    names, token = page_of_names(f"ListThingGroupsForThing:{thing.name}", groups, params)
    return {
        "thingGroups": [_group_ref(registry_of(backend).thing_groups[n]) for n in names],
        "nextToken": token,
    }


@operation("iot", "ListThingsInThingGroup")
def list_things_in_thing_group(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    group = get_group(backend, params["thingGroupName"])
    recursive = bool(params.get("recursive"))
    members = (
        group_members_recursive(backend, group.name) if recursive else members_of(backend, group)
    )
    names, token = page_of_names(
        f"ListThingsInThingGroup:{group.name}:{recursive}", members, params
    )
    return {"things": names, "nextToken": token}


# ---------------------------------------------------------------- membership


def _group_and_thing(backend: Backend, params: Params) -> tuple[ThingGroup, Thing]:
    """The group and the thing of Add/RemoveThing(To|From)ThingGroup, each named by its
    name or its ARN."""
    group = resolve_group(backend, params.get("thingGroupName"), params.get("thingGroupArn"))
    return group, resolve_thing(backend, params.get("thingName"), params.get("thingArn"))


@operation("iot", "AddThingToThingGroup")
def add_thing_to_thing_group(ctx: RequestContext, params: Params) -> dict[str, Any]:
    group, thing = _group_and_thing(ctx.backend, params)
    # overrideDynamicGroups only matters when dynamic memberships fill the 10 slots; this
    # mock counts static memberships only, so it is accepted and has nothing to evict.
    add_thing_to_group(ctx, thing, group)
    return {}


@operation("iot", "RemoveThingFromThingGroup")
def remove_thing_from_thing_group(ctx: RequestContext, params: Params) -> dict[str, Any]:
    group, thing = _group_and_thing(ctx.backend, params)
    remove_thing_from_group(ctx, thing, group)
    return {}


@operation("iot", "UpdateThingGroupsForThing")
def update_thing_groups_for_thing(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    name = params.get("thingName")
    if name is None:
        raise invalid_request("thingName must be specified.")
    thing = get_thing(backend, name)
    to_add = [get_group(backend, g) for g in params.get("thingGroupsToAdd") or ()]
    to_remove = [get_group(backend, g) for g in params.get("thingGroupsToRemove") or ()]
    both = {g.name for g in to_add} & {g.name for g in to_remove}
    if both:
        raise invalid_request(
            "A thing group cannot be both added and removed in one call: " + ", ".join(sorted(both))
        )
    update_memberships(ctx, thing, to_add, to_remove)
    return {}
