"""Things: CreateThing, DescribeThing, UpdateThing, DeleteThing, ListThings."""

from __future__ import annotations

import uuid
from typing import Any

from ... import _clock
from ..._errors import already_exists, invalid_request, not_found, version_conflict
from ..._events import emit
from ..._paging import page_of
from ..._registry import Params, RequestContext, operation
from ...state import Backend, Thing

MAX_ATTRIBUTES_UNTYPED = 3
MAX_ATTRIBUTES_TYPED = 50


def get_thing(backend: Backend, name: str) -> Thing:
    thing = backend.things.get(name)
    if thing is None:
        raise not_found(f"Thing {name} cannot be found.")
    return thing


def _check_thing_type(backend: Backend, type_name: str) -> None:
    thing_type = backend.thing_types.get(type_name)
    if thing_type is None:
        raise not_found(f"Thing Type {type_name} cannot be found.")
    if thing_type.deprecated:
        # AWS's own message, typo included (spec §2).
        raise invalid_request(f"Can not create new thing with depreated thing type:{type_name}")


def _check_attribute_count(attributes: dict[str, str], type_name: str | None) -> None:
    limit = MAX_ATTRIBUTES_TYPED if type_name else MAX_ATTRIBUTES_UNTYPED
    if len(attributes) > limit:
        kind = "with" if type_name else "without"
        raise invalid_request(
            f"A thing {kind} a thing type can have at most {limit} attributes; "
            f"{len(attributes)} were given."
        )


@operation("iot", "CreateThing")
def create_thing(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    name = params["thingName"]
    type_name = params.get("thingTypeName")
    attributes = dict((params.get("attributePayload") or {}).get("attributes") or {})
    billing_group_name = params.get("billingGroupName")
    existing = backend.things.get(name)
    if existing is not None:
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
    if type_name:
        _check_thing_type(backend, type_name)
    if billing_group_name and billing_group_name not in backend.billing_groups:
        raise not_found(f"Billing group {billing_group_name} cannot be found.")
    _check_attribute_count(attributes, type_name)
    thing = Thing(
        name=name,
        thing_id=str(uuid.uuid4()),
        arn=backend.arn(f"thing/{name}"),
        thing_type_name=type_name,
        attributes=attributes,
        billing_group_name=billing_group_name,
        created_at=_clock.now(),
    )
    backend.things[name] = thing
    if billing_group_name:
        backend.billing_groups[billing_group_name].thing_names.add(name)
    return _identity(thing)


def _identity(thing: Thing) -> dict[str, Any]:
    return {"thingName": thing.name, "thingArn": thing.arn, "thingId": thing.thing_id}


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
    expected = params.get("expectedVersion")
    if expected is not None and expected != thing.version:
        raise version_conflict(
            f"The version of thing {thing.name} is {thing.version}, "
            f"not the expected version {expected}."
        )
    type_name = thing.thing_type_name
    if params.get("removeThingType"):
        if params.get("thingTypeName"):
            raise invalid_request("You cannot specify both thingTypeName and removeThingType.")
        type_name = None
    elif params.get("thingTypeName"):
        type_name = params["thingTypeName"]
        if type_name != thing.thing_type_name:
            _check_thing_type(backend, type_name)
    attributes = thing.attributes
    payload = params.get("attributePayload")
    if payload is not None:
        given = payload.get("attributes") or {}
        attributes = {**thing.attributes, **given} if payload.get("merge") else dict(given)
        # An attribute set to the empty string is removed (AttributePayload docs).
        attributes = {k: v for k, v in attributes.items() if v != ""}
    _check_attribute_count(attributes, type_name)
    thing.thing_type_name = type_name
    thing.attributes = attributes
    thing.version += 1
    return {}


@operation("iot", "DeleteThing")
def delete_thing(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    name = params["thingName"]
    thing = backend.things.get(name)
    if thing is None:
        return {}  # deleting a thing that does not exist succeeds (API:DeleteThing)
    expected = params.get("expectedVersion")
    if expected is not None and expected != thing.version:
        raise version_conflict(
            f"The version of thing {name} is {thing.version}, not the expected version {expected}."
        )
    if backend.thing_principals.get(name):
        raise invalid_request(
            f"Cannot delete. Thing {name} is still attached to one or more principals"
        )
    backend.things.pop(name)
    backend.thing_principals.pop(name, None)
    if thing.billing_group_name:
        group = backend.billing_groups.get(thing.billing_group_name)
        if group is not None:
            group.thing_names.discard(name)
    for group_name in thing.group_names:
        thing_group = backend.thing_groups.get(group_name)
        if thing_group is not None:
            thing_group.thing_names.discard(name)
    emit(ctx, "thing_deleted", thing_name=name)
    return {}


@operation("iot", "ListThings")
def list_things(ctx: RequestContext, params: Params) -> dict[str, Any]:
    attribute_name = params.get("attributeName")
    attribute_value = params.get("attributeValue")
    type_name = params.get("thingTypeName")
    prefix = bool(params.get("usePrefixAttributeValue"))

    def keep(thing: Thing) -> bool:
        if type_name is not None and thing.thing_type_name != type_name:
            return False
        if attribute_name is not None:
            value = thing.attributes.get(attribute_name)
            if value is None:
                return False
            if attribute_value is not None:
                if prefix:
                    return value.startswith(str(attribute_value))
                return bool(value == attribute_value)
        return True

    filtered = type_name is not None or attribute_name is not None
    scope = f"ListThings:{attribute_name}:{attribute_value}:{type_name}:{prefix}"
    page, token = page_of(scope, ctx.backend.things, params, keep=keep if filtered else None)
    return {
        "things": [
            {
                "thingName": t.name,
                "thingTypeName": t.thing_type_name,
                "thingArn": t.arn,
                "attributes": dict(t.attributes),
                "version": t.version,
            }
            for t in page
        ],
        "nextToken": token,
    }
