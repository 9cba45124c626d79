"""Every registry list operation pages with nextToken/maxResults and refuses bad tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

N = 7


def populate(iot: Any) -> list[str]:
    """N things, thing groups, billing groups and thing types, all related, and N
    certificates, each attached to the hub and to one thing; returns the certificate ARNs."""
    iot.create_thing_group(thingGroupName="parent")
    iot.create_billing_group(billingGroupName="bills")
    iot.create_thing(thingName="hub")
    certificates = []
    for i in range(N):
        iot.create_thing_type(thingTypeName=f"type-{i}")
        iot.create_billing_group(billingGroupName=f"bg-{i}")
        iot.create_thing_group(thingGroupName=f"child-{i}", parentGroupName="parent")
        iot.create_thing(thingName=f"thing-{i}", thingTypeName="type-0", billingGroupName="bills")
        iot.add_thing_to_thing_group(thingGroupName="parent", thingName=f"thing-{i}")
        arn = iot.create_keys_and_certificate(setAsActive=True)["certificateArn"]
        certificates.append(arn)
        iot.attach_thing_principal(thingName="hub", principal=arn)
        iot.attach_thing_principal(thingName=f"thing-{i}", principal=arn)
    for i in range(N):
        if i < 3:  # ListThingGroupsForThing: a thing is in at most 10 groups
            iot.create_thing_group(thingGroupName=f"solo-{i}")
            iot.add_thing_to_thing_group(thingGroupName=f"solo-{i}", thingName="hub")
    return certificates


LISTS: dict[str, tuple[Callable[[Any], Callable[..., Any]], dict[str, Any], str]] = {
    "ListThings": (lambda c: c.list_things, {}, "things"),
    "ListThings(type)": (lambda c: c.list_things, {"thingTypeName": "type-0"}, "things"),
    "ListThingTypes": (lambda c: c.list_thing_types, {}, "thingTypes"),
    "ListThingGroups": (lambda c: c.list_thing_groups, {}, "thingGroups"),
    "ListThingGroups(parent)": (
        lambda c: c.list_thing_groups,
        {"parentGroup": "parent"},
        "thingGroups",
    ),
    "ListBillingGroups": (lambda c: c.list_billing_groups, {}, "billingGroups"),
    "ListThingsInThingGroup": (
        lambda c: c.list_things_in_thing_group,
        {"thingGroupName": "parent"},
        "things",
    ),
    "ListThingsInBillingGroup": (
        lambda c: c.list_things_in_billing_group,
        {"billingGroupName": "bills"},
        "things",
    ),
    "ListThingPrincipals": (lambda c: c.list_thing_principals, {"thingName": "hub"}, "principals"),
    "ListThingPrincipalsV2": (
        lambda c: c.list_thing_principals_v2,
        {"thingName": "hub"},
        "thingPrincipalObjects",
    ),
    "ListThingGroupsForThing": (
        lambda c: c.list_thing_groups_for_thing,
        {"thingName": "hub"},
        "thingGroups",
    ),
}


@pytest.mark.parametrize("name", list(LISTS))
def test_pages_cover_everything_once(iot: Any, name: str) -> None:
    populate(iot)
    method, filters, member = LISTS[name]
    call = method(iot)
    everything = call(**filters)[member]
    assert "nextToken" not in call(**filters)
    collected: list[Any] = []
    token = None
    pages = 0
    while True:
        response = call(**filters, maxResults=2, **({"nextToken": token} if token else {}))
        assert len(response[member]) <= 2
        collected += response[member]
        pages += 1
        token = response.get("nextToken")
        if token is None:
            break
    assert collected == everything
    assert pages == (len(everything) + 1) // 2
    with pytest.raises(ClientError) as exc:
        call(**filters, nextToken="not-a-token")
    assert exc.value.response["Error"]["Code"] == "InvalidRequestException"


def test_token_of_another_listing_is_refused(iot: Any) -> None:
    populate(iot)
    token = iot.list_things(maxResults=1)["nextToken"]
    with pytest.raises(ClientError) as exc:
        iot.list_thing_types(nextToken=token)
    assert exc.value.response["Error"]["Code"] == "InvalidRequestException"
    with pytest.raises(ClientError) as exc:
        iot.list_things(thingTypeName="type-0", nextToken=token)
    assert exc.value.response["Error"]["Code"] == "InvalidRequestException"


def test_paging_survives_deletion_between_pages(iot: Any) -> None:
    for name in ("a", "b", "c", "d"):
        iot.create_thing(thingName=name)
    first = iot.list_things(maxResults=2)
    iot.delete_thing(thingName="b")
    iot.delete_thing(thingName="c")
    rest = iot.list_things(maxResults=2, nextToken=first["nextToken"])
    assert [t["thingName"] for t in rest["things"]] == ["d"]


def test_principal_things_pages(iot: Any) -> None:
    arn = populate(iot)[0]
    first = iot.list_principal_things(principal=arn, maxResults=1)
    second = iot.list_principal_things(principal=arn, maxResults=1, nextToken=first["nextToken"])
    assert first["things"] + second["things"] == ["hub", "thing-0"]
    assert "nextToken" not in second
    v2 = iot.list_principal_things_v2(principal=arn, maxResults=1)
    assert v2["principalThingObjects"] == [
        {"thingName": "hub", "thingPrincipalType": "NON_EXCLUSIVE_THING"}
    ]
