"""Things: CreateThing, DescribeThing, UpdateThing, DeleteThing, ListThings.

The functions above the handlers (`get_thing`, `resolve_thing`, `create_thing_record`,
`set_thing_type`, `remove_thing`) are the registry's typed API for other families (bulk
registration, provisioning templates): they keep every shared index consistent.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from iotmock.core import clock
from iotmock.core.backend import Backend
from iotmock.core.errors import already_exists, invalid_request, not_found, version_conflict
from iotmock.core.events import emit
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex, SortedSet, page_of, paginate
from iotmock.registry.records import Thing, registry_of

MAX_ATTRIBUTES_UNTYPED = 3
MAX_ATTRIBUTES_TYPED = 50


@dataclass(slots=True)
class ThingsByType:
    """thing type name -> its things, so ListThings(thingTypeName) pages in O(page) and
    DeleteThingType checks usage in O(1). Kept by `create_thing_record`,
    `set_thing_type` and `remove_thing`."""

    by_type: dict[str, SortedIndex[Thing]] = field(default_factory=dict)


def things_of_type(backend: Backend, type_name: str) -> SortedIndex[Thing]:
    """The things whose type is `type_name` (empty index when none)."""
    return backend.store(ThingsByType).by_type.get(type_name) or SortedIndex()


def get_thing(backend: Backend, name: str) -> Thing:
    thing = registry_of(backend).things.get(name)
    if thing is None:
        raise not_found(f"Thing {name} cannot be found.")
    return thing


class _Named(Protocol):
    arn: str


_R = TypeVar("_R", bound=_Named)


def resolve_by_name_or_arn(
    records: SortedIndex[_R], name: str | None, arn: str | None, *, kind: str, member: str
) -> _R:
    """The record named by `<member>Name` or `<member>Arn` (e.g. thingGroupName or
    thingGroupArn), for registry operations that take either; `kind` is how messages
    name it ("Thing Group"), and its ARN resource type is `kind` lower-cased without
    spaces ("thinggroup")."""
    if name is None and arn is None:
        raise invalid_request(f"Either {member}Name or {member}Arn must be specified.")
    if name is None:
        assert arn is not None
        arn_type = kind.lower().replace(" ", "")
        record = records.get(arn.rpartition(f":{arn_type}/")[2])
        if record is None or record.arn != arn:
            raise not_found(f"{kind} {arn} cannot be found.")
        return record
    found = records.get(name)
    if found is None:
        raise not_found(f"{kind} {name} cannot be found.")
    if arn is not None and arn != found.arn:
        raise invalid_request(f"{member}Arn {arn} does not name the {kind.lower()} {name}.")
    return found


def resolve_thing(backend: Backend, name: str | None, arn: str | None) -> Thing:
    """The thing named by `thingName` or `thingArn` (the Add*/Remove* operations take
    either)."""
    return resolve_by_name_or_arn(
        registry_of(backend).things, name, arn, kind="Thing", member="thing"
    )


def check_thing_type(backend: Backend, type_name: str) -> None:
    """A thing may only take an existing, non-deprecated thing type."""
    thing_type = registry_of(backend).thing_types.get(type_name)
    if thing_type is None:
        raise not_found(f"Thing Type {type_name} cannot be found.")
    if thing_type.deprecated:
        # AWS's own message, typo included (spec §2).
        raise invalid_request(f"Can not create new thing with depreated thing type:{type_name}")


def check_attribute_count(attributes: dict[str, str], type_name: str | None) -> None:
    """At most 3 attributes without a thing type, 50 with one (DG:thing-types)."""
    limit = MAX_ATTRIBUTES_TYPED if type_name else MAX_ATTRIBUTES_UNTYPED
    if len(attributes) > limit:
        kind = "with" if type_name else "without"
        raise invalid_request(
            f"A thing {kind} a thing type can have at most {limit} attributes; "
            f"{len(attributes)} were given."
        )


def check_expected_version(kind: str, name: str, version: int, expected: int | None) -> None:
    """VersionConflictException when `expectedVersion` is given and differs."""
    if expected is not None and expected != version:
        raise version_conflict(
            f"The version of {kind} {name} is {version}, not the expected version {expected}."
        )


def merged_attributes(current: dict[str, str], payload: dict[str, Any] | None) -> dict[str, str]:
    """Apply an AttributePayload: `merge` merges into `current`, otherwise it replaces
    it; an attribute set to the empty string is removed (API:AttributePayload)."""
    if payload is None:
        return current
    given = payload.get("attributes") or {}
    attributes = {**current, **given} if payload.get("merge") else dict(given)
    return {k: v for k, v in attributes.items() if v != ""}


def _index_by_type(backend: Backend, thing: Thing, present: bool) -> None:
    """Add `thing` to (or drop it from) the index of its current type."""
    if thing.thing_type_name is None:
        return
    index = backend.store(ThingsByType).by_type
    if present:
        index.setdefault(thing.thing_type_name, SortedIndex())[thing.name] = thing
        return
    things = index.get(thing.thing_type_name)
    if things is not None:
        things.pop(thing.name)
        if not len(things):
            del index[thing.thing_type_name]


def set_thing_type(backend: Backend, thing: Thing, type_name: str | None) -> None:
    """Re-type `thing`, keeping the by-type index current."""
    _index_by_type(backend, thing, present=False)
    thing.thing_type_name = type_name
    _index_by_type(backend, thing, present=True)


def create_thing_record(
    backend: Backend,
    name: str,
    type_name: str | None = None,
    attributes: dict[str, str] | None = None,
    billing_group_name: str | None = None,
) -> Thing:
    """Create a new thing after the checks CreateThing makes (type, billing group,
    attribute count). The caller has made sure no thing `name` exists."""
    attributes = dict(attributes or {})
    if type_name:
        check_thing_type(backend, type_name)
    billing_group = None
    if billing_group_name:
        billing_group = registry_of(backend).billing_groups.get(billing_group_name)
        if billing_group is None:
            raise not_found(f"Billing group {billing_group_name} cannot be found.")
    check_attribute_count(attributes, type_name)
    thing = Thing(
        name=name,
        thing_id=str(uuid.uuid4()),
        arn=backend.arn(f"thing/{name}"),
        attributes=attributes,
        billing_group_name=billing_group_name,
        created_at=clock.now(),
    )
    registry_of(backend).things[name] = thing
    set_thing_type(backend, thing, type_name or None)
    if billing_group is not None:
        billing_group.thing_names.add(name)
    return thing


def change_thing(
    ctx: RequestContext, thing: Thing, attributes: dict[str, str], type_name: str | None
) -> None:
    """Give `thing` checked new attributes and type (the by-type index kept current),
    bump its version and emit "thing_updated" (UpdateThing, and fleet provisioning of an
    existing thing)."""
    previous_type_name = thing.thing_type_name
    if type_name != previous_type_name:
        set_thing_type(ctx.backend, thing, type_name)
    thing.attributes = attributes
    thing.version += 1
    emit(ctx, "thing_updated", thing=thing, previous_type_name=previous_type_name)


def remove_thing(ctx: RequestContext, thing: Thing) -> None:
    """Forget `thing` and its memberships (groups, billing group, type index)."""
    backend = ctx.backend
    registry_of(backend).things.pop(thing.name)
    registry_of(backend).thing_principals.pop(thing.name, None)
    _index_by_type(backend, thing, present=False)
    if thing.billing_group_name:
        billing_group = registry_of(backend).billing_groups.get(thing.billing_group_name)
        if billing_group is not None:
            billing_group.thing_names.discard(thing.name)
    for group_name in thing.group_names:
        group = registry_of(backend).thing_groups.get(group_name)
        if group is not None:
            group.thing_names.discard(thing.name)
    emit(ctx, "thing_deleted", thing_name=thing.name)
    emit(ctx, "thing_record_deleted", thing=thing)


def _identity(thing: Thing) -> dict[str, Any]:
    return {"thingName": thing.name, "thingArn": thing.arn, "thingId": thing.thing_id}


@operation("iot", "CreateThing")
def create_thing(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    name = params["thingName"]
    type_name = params.get("thingTypeName")
    attributes = dict((params.get("attributePayload") or {}).get("attributes") or {})
    billing_group_name = params.get("billingGroupName")
    existing = registry_of(backend).things.get(name)
    if existing is not None:
        # Idempotent for an identical configuration (API:CreateThing, spec §2).
        if (
            existing.thing_type_name == type_name
            and existing.attributes == attributes
            and existing.billing_group_name == billing_group_name
        ):
            return _identity(existing)
        raise already_exists(
            f"Thing {name} already exists in account with different attributes",
            existing.thing_id,
            existing.arn,
        )
    thing = create_thing_record(backend, name, type_name, attributes, billing_group_name)
    emit(ctx, "thing_created", thing=thing)
    return _identity(thing)


@operation("iot", "DescribeThing")
def describe_thing(ctx: RequestContext, params: Params) -> dict[str, Any]:
    thing = get_thing(ctx.backend, params["thingName"])
    return {
        "defaultClientId": thing.name,
        "thingName": thing.name,
        "thingId": thing.thing_id,
        "thingArn": thing.arn,
        "thingTypeName": thing.thing_type_name,
        "attributes": dict(thing.attributes),
        "version": thing.version,
        "billingGroupName": thing.billing_group_name,
    }


@operation("iot", "UpdateThing")
def update_thing(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    thing = get_thing(backend, params["thingName"])
    check_expected_version("thing", thing.name, thing.version, params.get("expectedVersion"))
    type_name = thing.thing_type_name
    if params.get("removeThingType"):
        if params.get("thingTypeName"):
            raise invalid_request("You cannot specify both thingTypeName and removeThingType.")
        type_name = None
    elif params.get("thingTypeName"):
        type_name = params["thingTypeName"]
        if type_name != thing.thing_type_name:
            check_thing_type(backend, type_name)
    attributes = merged_attributes(thing.attributes, params.get("attributePayload"))
    check_attribute_count(attributes, type_name)
    change_thing(ctx, thing, attributes, type_name)
    return {}


@operation("iot", "DeleteThing")
def delete_thing(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    name = params["thingName"]
    thing = registry_of(backend).things.get(name)
    if thing is None:
        return {}  # deleting a thing that does not exist succeeds (API:DeleteThing)
    check_expected_version("thing", name, thing.version, params.get("expectedVersion"))
    if registry_of(backend).thing_principals.get(name):
        # Since Nov 2019 AWS refuses instead of detaching (spec §2).
        raise invalid_request(
            f"Cannot delete. Thing {name} is still attached to one or more principals"
        )
    remove_thing(ctx, thing)
    return {}


def _thing_summary(thing: Thing) -> dict[str, Any]:
    return {
        "thingName": thing.name,
        "thingTypeName": thing.thing_type_name,
        "thingArn": thing.arn,
        "attributes": dict(thing.attributes),
        "version": thing.version,
    }


@operation("iot", "ListThings")
def list_things(ctx: RequestContext, params: Params) -> dict[str, Any]:
    attribute_name = params.get("attributeName")
    attribute_value = params.get("attributeValue")
    type_name = params.get("thingTypeName")
    prefix = bool(params.get("usePrefixAttributeValue"))

    def has_attribute(thing: Thing) -> bool:
        value = thing.attributes.get(attribute_name or "")
        if value is None:
            return False
        if attribute_value is None:
            return True
        return value.startswith(attribute_value) if prefix else value == attribute_value

    # The type filter walks the by-type index, so it pages in O(page) too.
    index = things_of_type(ctx.backend, type_name) if type_name else registry_of(ctx.backend).things
    scope = f"ListThings:{attribute_name}:{attribute_value}:{type_name}:{prefix}"
    page, token = page_of(
        scope, index, params, keep=has_attribute if attribute_name is not None else None
    )
    return {"things": [_thing_summary(t) for t in page], "nextToken": token}


def sorted_names_after(
    names: AbstractSet[str] | dict[str, Any], after: str | None
) -> Iterator[tuple[str, str]]:
    """(name, name) pairs of a membership set in name order, after `after`: the source
    for `paginate` over the registry's relation sets."""
    if isinstance(names, SortedSet):
        yield from names.items_after(after)  # O(log N + page)
        return
    for name in sorted(names):
        if after is None or name > after:
            yield name, name


def page_of_names(
    scope: str, names: AbstractSet[str] | dict[str, Any], params: Params
) -> tuple[list[str], str | None]:
    """One page of a set of names, in name order, with the request's token and size."""
    return paginate(
        scope,
        lambda after: sorted_names_after(names, after),
        params.get("nextToken"),
        params.get("maxResults"),
    )


def _names_with_prefix(
    index: SortedIndex[Any], prefix: str, after: str | None
) -> Iterator[tuple[str, Any]]:
    """Items of `index` whose key starts with `prefix`, after `after`, in O(log N + page):
    the walk starts at the first key >= prefix and stops at the first key past it."""
    if after is None or after < prefix:
        # Every key is at most 128 characters of the name alphabet, so this string sorts
        # between the last key below `prefix` and `prefix` itself.
        after = prefix[:-1] + chr(ord(prefix[-1]) - 1) + "\U0010ffff" * 129
    for key, item in index.items_after(after):
        if not key.startswith(prefix):
            return
        yield key, item


def page_with_prefix(
    scope: str,
    index: SortedIndex[Any],
    prefix: str | None,
    params: Params,
    *,
    keep: Callable[[Any], bool] | None = None,
) -> tuple[list[Any], str | None]:
    """A page of `index`, optionally limited to keys starting with `prefix` and to the
    items `keep` accepts."""
    source = (
        (lambda after: _names_with_prefix(index, prefix, after)) if prefix else index.items_after
    )
    return paginate(scope, source, params.get("nextToken"), params.get("maxResults"), keep=keep)
