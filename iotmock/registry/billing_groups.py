"""Billing groups: a thing belongs to at most one (spec §6).

The group itself is a simple resource kind (`BILLING_GROUPS`, docs/crud.md): lookups,
create, describe, delete and tags are the generic steps. What is particular stays here in
plain sight: the idempotent create, the version checks, and the thing membership
(`put_thing_in_billing_group`, the unlinking of a deleted group's things, the member
lists).
"""

from __future__ import annotations

import uuid
from typing import Any

from iotmock.core import crud
from iotmock.core.backend import Backend
from iotmock.core.errors import already_exists, invalid_request
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


def _identity(group: BillingGroup) -> dict[str, Any]:
    return {
        "billingGroupName": group.name,
        "billingGroupArn": group.arn,
        "billingGroupId": group.group_id,
    }


def _description(group: BillingGroup) -> dict[str, Any]:
    return {
        **_identity(group),
        "version": group.version,
        # `{}` for a group created without a description, as AWS shows it.
        "billingGroupProperties": (
            {} if group.description is None else {"billingGroupDescription": group.description}
        ),
        "billingGroupMetadata": {"creationDate": group.created_at},
    }


BILLING_GROUPS: crud.ResourceKind[BillingGroup] = crud.ResourceKind(
    label="Billing Group",
    arn_type="billinggroup",
    index=lambda backend: registry_of(backend).billing_groups,
    describe=_description,
    summary=lambda group: {"groupName": group.name, "groupArn": group.arn},
    list_member="billingGroups",
    missing="{label} {name} cannot be found.",
    # A taken name with another description: the existing group's id is the resource id.
    taken=lambda name, existing: already_exists(
        f"Billing Group {name} already exists in current account with different properties",
        existing.group_id,
        existing.arn,
    ),
)
get_billing_group = BILLING_GROUPS.get


def _group_and_thing(backend: Backend, params: Params) -> tuple[BillingGroup, Thing]:
    """The billing group and the thing of Add/RemoveThing(To|From)BillingGroup, each named
    by its name or its ARN."""
    group = resolve_by_name_or_arn(
        registry_of(backend).billing_groups,
        params.get("billingGroupName"),
        params.get("billingGroupArn"),
        kind="Billing Group",
        member="billingGroup",
    )
    return group, resolve_thing(backend, params.get("thingName"), params.get("thingArn"))


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


@operation("iot", "CreateBillingGroup")
def create_billing_group(ctx: RequestContext, params: Params) -> dict[str, Any]:
    name = params["billingGroupName"]
    description = (params.get("billingGroupProperties") or {}).get("billingGroupDescription")
    existing = BILLING_GROUPS.find(ctx.backend, name)
    if existing is not None and existing.description == description:
        return _identity(existing)  # Same name and configuration succeeds (API:CreateBillingGroup).

    def build(arn: str, now: float) -> BillingGroup:
        return BillingGroup(
            name=name, group_id=str(uuid.uuid4()), arn=arn, description=description, created_at=now
        )

    return _identity(crud.create(BILLING_GROUPS, ctx.backend, name, build, params.get("tags")))


@operation("iot", "DescribeBillingGroup")
def describe_billing_group(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return crud.describe(BILLING_GROUPS, ctx.backend, params["billingGroupName"])


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

    def check(group: BillingGroup) -> None:
        check_expected_version("billing group", name, group.version, params.get("expectedVersion"))

    group = crud.discard(BILLING_GROUPS, backend, name, check)
    if group is None:
        return {}  # no 404 is modelled: deleting a missing group succeeds (spec §6)
    # Member things do not block deletion; they are left without a billing group.
    for thing_name in group.thing_names:
        thing = registry_of(backend).things.get(thing_name)
        if thing is not None and thing.billing_group_name == name:
            thing.billing_group_name = None
    return {}


@operation("iot", "ListBillingGroups")
def list_billing_groups(ctx: RequestContext, params: Params) -> dict[str, Any]:
    prefix = params.get("namePrefixFilter")
    groups, token = page_with_prefix(
        f"ListBillingGroups:{prefix}", registry_of(ctx.backend).billing_groups, prefix, params
    )
    return {"billingGroups": [BILLING_GROUPS.summary(g) for g in groups], "nextToken": token}


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
    group, thing = _group_and_thing(backend, params)
    put_thing_in_billing_group(backend, thing, group)
    return {}


@operation("iot", "RemoveThingFromBillingGroup")
def remove_thing_from_billing_group(ctx: RequestContext, params: Params) -> dict[str, Any]:
    group, thing = _group_and_thing(ctx.backend, params)
    # Removing a thing that is not in the group is a silent success, as for thing groups.
    if thing.billing_group_name == group.name:
        group.thing_names.discard(thing.name)
        thing.billing_group_name = None
    return {}
