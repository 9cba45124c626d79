"""Thing types: Create/Describe/List/Update/Deprecate/DeleteThingType (spec §7)."""

from __future__ import annotations

import uuid
from typing import Any

from iotmock.core import clock, crud
from iotmock.core.errors import already_exists, invalid_request
from iotmock.core.events import emit
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.registry.records import ThingType, registry_of
from iotmock.registry.things import things_of_type

MAX_SEARCHABLE_ATTRIBUTES = 3
MAX_PROPAGATING_ATTRIBUTES = 20
# The connection attributes MQTT 5 message enrichment can propagate (DG:thing-types).
CONNECTION_ATTRIBUTES = frozenset({"iot:ClientId", "iot:Thing.ThingName"})
# A deprecated type can be deleted only this long after its deprecation (DG:thing-types).
DELETE_WAIT_SECONDS = 5 * 60


def _check_mqtt5(configuration: dict[str, Any] | None) -> None:
    """Each propagating attribute maps one user property to exactly one thing attribute
    or supported connection attribute."""
    attributes = (configuration or {}).get("propagatingAttributes") or []
    if len(attributes) > MAX_PROPAGATING_ATTRIBUTES:
        raise invalid_request(
            f"A thing type can propagate at most {MAX_PROPAGATING_ATTRIBUTES} attributes; "
            f"{len(attributes)} were given."
        )
    for attribute in attributes:
        key = attribute.get("userPropertyKey")
        thing_attribute = attribute.get("thingAttribute")
        connection_attribute = attribute.get("connectionAttribute")
        if not key:
            raise invalid_request("Each propagating attribute needs a userPropertyKey.")
        if (thing_attribute is None) == (connection_attribute is None):
            raise invalid_request(
                f"The propagating attribute {key} must name exactly one of thingAttribute "
                "and connectionAttribute."
            )
        if connection_attribute is not None and connection_attribute not in CONNECTION_ATTRIBUTES:
            raise invalid_request(
                f"Connection attribute {connection_attribute} is not supported; use one of "
                + ", ".join(sorted(CONNECTION_ATTRIBUTES))
                + "."
            )


def _check_properties(properties: dict[str, Any]) -> None:
    searchable = properties.get("searchableAttributes") or []
    if len(searchable) > MAX_SEARCHABLE_ATTRIBUTES:
        raise invalid_request(
            f"A thing type can have at most {MAX_SEARCHABLE_ATTRIBUTES} searchable "
            f"attributes; {len(searchable)} were given."
        )
    _check_mqtt5(properties.get("mqtt5Configuration"))


def _properties(thing_type: ThingType) -> dict[str, Any]:
    return {
        "thingTypeDescription": thing_type.description,
        "searchableAttributes": list(thing_type.searchable_attributes),
        "mqtt5Configuration": thing_type.mqtt5_configuration,
    }


def _metadata(thing_type: ThingType) -> dict[str, Any]:
    return {
        "deprecated": thing_type.deprecated,
        "deprecationDate": thing_type.deprecation_date,
        "creationDate": thing_type.created_at,
    }


def _same_properties(thing_type: ThingType, properties: dict[str, Any]) -> bool:
    return (
        thing_type.description == properties.get("thingTypeDescription")
        and thing_type.searchable_attributes == list(properties.get("searchableAttributes") or [])
        and thing_type.mqtt5_configuration == properties.get("mqtt5Configuration")
    )


def _identity(thing_type: ThingType) -> dict[str, Any]:
    return {
        "thingTypeName": thing_type.name,
        "thingTypeArn": thing_type.arn,
        "thingTypeId": thing_type.thing_type_id,
    }


def _summary(thing_type: ThingType) -> dict[str, Any]:
    """A ListThingTypes item: DescribeThingType's output but for the id."""
    return {
        "thingTypeName": thing_type.name,
        "thingTypeArn": thing_type.arn,
        "thingTypeProperties": _properties(thing_type),
        "thingTypeMetadata": _metadata(thing_type),
    }


THING_TYPES: crud.ResourceKind[ThingType] = crud.ResourceKind(
    label="Thing Type",
    arn_type="thingtype",
    index=lambda backend: registry_of(backend).thing_types,
    describe=lambda thing_type: {**_summary(thing_type), "thingTypeId": thing_type.thing_type_id},
    summary=_summary,
    list_member="thingTypes",
    missing="{label} {name} cannot be found.",
    # A taken name with other properties: the existing type's id is the resource id.
    taken=lambda name, existing: already_exists(
        f"Thing Type {name} already exists in current account with different properties",
        existing.thing_type_id,
        existing.arn,
    ),
)
get_thing_type = THING_TYPES.get


@operation("iot", "CreateThingType")
def create_thing_type(ctx: RequestContext, params: Params) -> dict[str, Any]:
    name = params["thingTypeName"]
    properties = params.get("thingTypeProperties") or {}
    existing = THING_TYPES.find(ctx.backend, name)
    if existing is not None and _same_properties(existing, properties):
        return _identity(existing)  # Same name and configuration succeeds (API:CreateThingType).

    def build(arn: str, now: float) -> ThingType:
        _check_properties(properties)
        return ThingType(
            name=name,
            thing_type_id=str(uuid.uuid4()),
            arn=arn,
            description=properties.get("thingTypeDescription"),
            searchable_attributes=list(properties.get("searchableAttributes") or []),
            mqtt5_configuration=properties.get("mqtt5Configuration"),
            created_at=now,
        )

    thing_type = crud.create(THING_TYPES, ctx.backend, name, build, params.get("tags"))
    emit(ctx, "thing_type_created", thing_type=thing_type)
    return _identity(thing_type)


@operation("iot", "DescribeThingType")
def describe_thing_type(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return crud.describe(THING_TYPES, ctx.backend, params["thingTypeName"])


@operation("iot", "ListThingTypes")
def list_thing_types(ctx: RequestContext, params: Params) -> dict[str, Any]:
    wanted = params.get("thingTypeName")
    keep = (lambda t: t.name == wanted) if wanted else None
    return crud.list_page(THING_TYPES, ctx, params, keep=keep, scope=str(wanted))


@operation("iot", "UpdateThingType")
def update_thing_type(ctx: RequestContext, params: Params) -> dict[str, Any]:
    thing_type = get_thing_type(ctx.backend, params["thingTypeName"])
    properties = params.get("thingTypeProperties") or {}
    # Only the MQTT 5 configuration is mutable (spec §7, GH:aws/aws-cli#9884).
    description = properties.get("thingTypeDescription", thing_type.description)
    searchable = properties.get("searchableAttributes", thing_type.searchable_attributes)
    if (
        description != thing_type.description
        or list(searchable) != thing_type.searchable_attributes
    ):
        raise invalid_request("Can only update mqtt5Configuration.")
    if "mqtt5Configuration" in properties:
        _check_mqtt5(properties["mqtt5Configuration"])
        thing_type.mqtt5_configuration = properties["mqtt5Configuration"]
    emit(ctx, "thing_type_updated", thing_type=thing_type)
    return {}


@operation("iot", "DeprecateThingType")
def deprecate_thing_type(ctx: RequestContext, params: Params) -> dict[str, Any]:
    thing_type = get_thing_type(ctx.backend, params["thingTypeName"])
    if params.get("undoDeprecate"):
        thing_type.deprecated = False
        thing_type.deprecation_date = None
    elif not thing_type.deprecated:
        # Deprecating again keeps the first date: the deletion wait does not restart.
        thing_type.deprecated = True
        thing_type.deprecation_date = clock.now()
    emit(ctx, "thing_type_updated", thing_type=thing_type)
    return {}


@operation("iot", "DeleteThingType")
def delete_thing_type(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend

    def check(thing_type: ThingType) -> None:
        name = thing_type.name
        if not thing_type.deprecated or thing_type.deprecation_date is None:
            raise invalid_request(
                f"Thing type {name} is not deprecated. Deprecate it with DeprecateThingType, "
                "wait 5 minutes, then delete it."
            )
        if clock.now() - thing_type.deprecation_date < DELETE_WAIT_SECONDS:
            # Message observed from AWS (spec §7, TF:thing_type.go).
            raise invalid_request(
                f"Thing type {name} is deprecated recently. "
                "Please wait for 5 minutes after deprecation and then retry"
            )
        users = len(things_of_type(backend, name))
        if users:
            raise invalid_request(
                f"Cannot delete thing type {name}: {users} thing(s) still use it. "
                "Change their type with UpdateThing first."
            )

    thing_type = crud.delete(THING_TYPES, backend, params["thingTypeName"], check)
    emit(ctx, "thing_type_deleted", thing_type=thing_type)
    return {}
