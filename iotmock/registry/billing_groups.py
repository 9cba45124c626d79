"""Billing groups: a thing belongs to at most one (spec §6)."""

from __future__ import annotations

import uuid
from typing import Any

from iotmock.core import clock, tagging
from iotmock.core.backend import Backend
from iotmock.core.errors import already_exists, invalid_request, not_found
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.registry.records import BillingGroup, Thing, registry_of
from iotmock.registry.things import (
    check_expected_version,
    page_of_names,
    page_with_prefix,
    resolve_by_name_or_arn,
    resolve_thing,
)

# AWS does not document what adding a thing that is in billing group A to billing group B
# does (spec §6, §14). True: the thing moves to B (one call re-assigns it, as the single
# `billingGroupName` of DescribeThing suggests). False: the call is refused with
# InvalidRequestException until the thing is removed from A.
MOVE_BETWEEN_BILLING_GROUPS = True


@tagging.taggable("billinggroup")
def _billing_group_exists(backend: Backend, name: str) -> bool:
    return name in registry_of(backend).billing_groups


def get_billing_group(backend: Backend, name: str) -> BillingGroup:
    group = registry_of(backend).billing_groups.get(name)
    if group is None:
        raise not_found(f"Billing Group {name} cannot be found.")
    return group


def resolve_billing_group(backend: Backend, name: str | None, arn: str | None) -> BillingGroup:
    """The billing group named by `billingGroupName` or `billingGroupArn`."""
    return resolve_by_name_or_arn(
        registry_of(backend).billing_groups, name, arn, kind="Billing Group", member="billingGroup"
    )


def put_thing_in_billing_group(backend: Backend, thing: Thing, group: BillingGroup) -> None:
    """Make `group` the billing group of `thing` (see MOVE_BETWEEN_BILLING_GROUPS)."""
    current = thing.billing_group_name
    if current == group.name:
        return
    if current is not None:
        if not MOVE_BETWEEN_BILLING_GROUPS:
            raise invalid_request(
                f"Thing {thing.name} is already in billing group {current}; remove it with "
                "RemoveThingFromBillingGroup first. A thing can be in only one billing group."
            )
        previous = registry_of(backend).billing_groups.get(current)
        if previous is not None:
            previous.thing_names.discard(thing.name)
    group.thing_names.add(thing.name)
    thing.billing_group_name = group.name


def _identity(group: BillingGroup) -> dict[str, Any]:
    return {
        "billingGroupName": group.name,
        "billingGroupArn": group.arn,
        "billingGroupId": group.group_id,
    }


@operation("iot", "CreateBillingGroup")
def create_billing_group(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    name = params["billingGroupName"]
    description = (params.get("billingGroupProperties") or {}).get("billingGroupDescription")
    existing = registry_of(backend).billing_groups.get(name)
    if existing is not None:
        # Same name and configuration succeeds (API:CreateBillingGroup).
        if existing.description == description:
            return _identity(existing)
        raise already_exists(
            f"Billing Group {name} already exists in current account with different properties",
            existing.group_id,
            existing.arn,
        )
    group = BillingGroup(
        name=name,
        group_id=str(uuid.uuid4()),
        arn=backend.arn(f"billinggroup/{name}"),
        description=description,
        created_at=clock.now(),
    )
    tagging.tag_on_create(backend, group.arn, params.get("tags"))
    registry_of(backend).billing_groups[name] = group
    return _identity(group)


@operation("iot", "DescribeBillingGroup")
def describe_billing_group(ctx: RequestContext, params: Params) -> dict[str, Any]:
    group = get_billing_group(ctx.backend, params["billingGroupName"])
    return {
        **_identity(group),
        "version": group.version,
        # `{}` for a group created without a description, as AWS shows it.
        "billingGroupProperties": (
            {} if group.description is None else {"billingGroupDescription": group.description}
        ),
        "billingGroupMetadata": {"creationDate": group.created_at},
    }


@operation("iot", "UpdateBillingGroup")
def update_billing_group(ctx: RequestContext, params: Params) -> dict[str, Any]:
    group = get_billing_group(ctx.backend, params["billingGroupName"])
    check_expected_version(
        "billing group", group.name, group.version, params.get("expectedVersion")
    )
    properties = params["billingGroupProperties"]
    if "billingGroupDescription" in properties:
        group.description = properties["billingGroupDescription"]
    group.version += 1
    return {"version": group.version}


@operation("iot", "DeleteBillingGroup")
def delete_billing_group(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    name = params["billingGroupName"]
    group = registry_of(backend).billing_groups.get(name)
    if group is None:
        return {}  # no 404 is modelled: deleting a missing group succeeds (spec §6)
    check_expected_version("billing group", name, group.version, params.get("expectedVersion"))
    # Member things do not block deletion; they are left without a billing group.
    for thing_name in group.thing_names:
        thing = registry_of(backend).things.get(thing_name)
        if thing is not None and thing.billing_group_name == name:
            thing.billing_group_name = None
    registry_of(backend).billing_groups.pop(name)
    tagging.drop(backend, group.arn)
    return {}


@operation("iot", "ListBillingGroups")
def list_billing_groups(ctx: RequestContext, params: Params) -> dict[str, Any]:
    prefix = params.get("namePrefixFilter")
    groups, token = page_with_prefix(
        f"ListBillingGroups:{prefix}", registry_of(ctx.backend).billing_groups, prefix, params
    )
    return {
        "billingGroups": [{"groupName": g.name, "groupArn": g.arn} for g in groups],
        "nextToken": token,
    }


@operation("iot", "ListThingsInBillingGroup")
def list_things_in_billing_group(ctx: RequestContext, params: Params) -> dict[str, Any]:
    group = get_billing_group(ctx.backend, params["billingGroupName"])
    names, token = page_of_names(
        f"ListThingsInBillingGroup:{group.name}", group.thing_names, params
    )
    return {"things": names, "nextToken": token}


@operation("iot", "AddThingToBillingGroup")
def add_thing_to_billing_group(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    group = resolve_billing_group(
        backend, params.get("billingGroupName"), params.get("billingGroupArn")
    )
    thing = resolve_thing(backend, params.get("thingName"), params.get("thingArn"))
    put_thing_in_billing_group(backend, thing, group)
    return {}


@operation("iot", "RemoveThingFromBillingGroup")
def remove_thing_from_billing_group(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    group = resolve_billing_group(
        backend, params.get("billingGroupName"), params.get("billingGroupArn")
    )
    thing = resolve_thing(backend, params.get("thingName"), params.get("thingArn"))
    # Removing a thing that is not in the group is a silent success, as for thing groups.
    if thing.billing_group_name == group.name:
        group.thing_names.discard(thing.name)
        thing.billing_group_name = None
    return {}
