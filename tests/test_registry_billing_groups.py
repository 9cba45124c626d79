"""Billing groups: one per thing, moves between groups, metadata, versions, deletion."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import code_of

from iotmock import IotMock
from iotmock.registry import billing_groups

ARN = "arn:aws:iot:us-east-1:123456789012"


def test_create_describe_billing_group(iot: Any) -> None:
    created = iot.create_billing_group(
        billingGroupName="bg",
        billingGroupProperties={"billingGroupDescription": "cost centre 7"},
        tags=[{"Key": "cc", "Value": "7"}],
    )
    assert created["billingGroupArn"] == f"{ARN}:billinggroup/bg"
    described = iot.describe_billing_group(billingGroupName="bg")
    assert described["billingGroupId"] == created["billingGroupId"]
    assert described["version"] == 1
    assert described["billingGroupProperties"] == {"billingGroupDescription": "cost centre 7"}
    assert "creationDate" in described["billingGroupMetadata"]
    assert iot.list_tags_for_resource(resourceArn=created["billingGroupArn"])["tags"] == [
        {"Key": "cc", "Value": "7"}
    ]
    with pytest.raises(ClientError) as exc:
        iot.describe_billing_group(billingGroupName="ghost")
    assert code_of(exc) == ("ResourceNotFoundException", 404)


def test_create_billing_group_idempotency(iot: Any) -> None:
    first = iot.create_billing_group(billingGroupName="bg")
    assert (
        iot.create_billing_group(billingGroupName="bg")["billingGroupId"]
        == (first["billingGroupId"])
    )
    with pytest.raises(ClientError) as exc:
        iot.create_billing_group(
            billingGroupName="bg", billingGroupProperties={"billingGroupDescription": "x"}
        )
    assert code_of(exc) == ("ResourceAlreadyExistsException", 409)


def test_add_and_remove_things(iot: Any) -> None:
    iot.create_billing_group(billingGroupName="bg")
    iot.create_thing(thingName="t1")
    iot.create_thing(thingName="t2")
    iot.add_thing_to_billing_group(billingGroupName="bg", thingName="t1")
    iot.add_thing_to_billing_group(
        billingGroupArn=f"{ARN}:billinggroup/bg", thingArn=f"{ARN}:thing/t2"
    )
    assert iot.list_things_in_billing_group(billingGroupName="bg")["things"] == ["t1", "t2"]
    assert iot.describe_thing(thingName="t1")["billingGroupName"] == "bg"
    iot.remove_thing_from_billing_group(billingGroupName="bg", thingName="t1")
    iot.remove_thing_from_billing_group(billingGroupName="bg", thingName="t1")  # no-op
    assert iot.list_things_in_billing_group(billingGroupName="bg")["things"] == ["t2"]
    assert "billingGroupName" not in iot.describe_thing(thingName="t1")


def test_missing_sides_are_not_found(iot: Any) -> None:
    iot.create_billing_group(billingGroupName="bg")
    iot.create_thing(thingName="t")
    with pytest.raises(ClientError) as exc:
        iot.add_thing_to_billing_group(billingGroupName="ghost", thingName="t")
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.add_thing_to_billing_group(billingGroupName="bg", thingArn=f"{ARN}:thing/ghost")
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.list_things_in_billing_group(billingGroupName="ghost")
    assert code_of(exc) == ("ResourceNotFoundException", 404)


def test_adding_to_a_second_billing_group_moves_the_thing(iot: Any, iot_mock: IotMock) -> None:
    iot.create_billing_group(billingGroupName="a")
    iot.create_billing_group(billingGroupName="b")
    iot.create_thing(thingName="t", billingGroupName="a")
    iot.add_thing_to_billing_group(billingGroupName="b", thingName="t")
    assert iot.describe_thing(thingName="t")["billingGroupName"] == "b"
    assert iot.list_things_in_billing_group(billingGroupName="a")["things"] == []
    assert iot.list_things_in_billing_group(billingGroupName="b")["things"] == ["t"]
    # Removing from the group it left is a no-op.
    iot.remove_thing_from_billing_group(billingGroupName="a", thingName="t")
    assert iot.describe_thing(thingName="t")["billingGroupName"] == "b"


def test_refusing_mode_keeps_the_thing(iot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(billing_groups, "MOVE_BETWEEN_BILLING_GROUPS", False)
    iot.create_billing_group(billingGroupName="a")
    iot.create_billing_group(billingGroupName="b")
    iot.create_thing(thingName="t", billingGroupName="a")
    with pytest.raises(ClientError) as exc:
        iot.add_thing_to_billing_group(billingGroupName="b", thingName="t")
    assert code_of(exc) == ("InvalidRequestException", 400)
    assert "already in billing group a" in exc.value.response["Error"]["Message"]
    assert iot.describe_thing(thingName="t")["billingGroupName"] == "a"


def test_update_billing_group_versions(iot: Any) -> None:
    iot.create_billing_group(billingGroupName="bg")
    response = iot.update_billing_group(
        billingGroupName="bg",
        billingGroupProperties={"billingGroupDescription": "new"},
        expectedVersion=1,
    )
    assert response["version"] == 2
    described = iot.describe_billing_group(billingGroupName="bg")
    assert described["billingGroupProperties"]["billingGroupDescription"] == "new"
    with pytest.raises(ClientError) as exc:
        iot.update_billing_group(
            billingGroupName="bg", billingGroupProperties={}, expectedVersion=1
        )
    assert code_of(exc) == ("VersionConflictException", 409)
    with pytest.raises(ClientError) as exc:
        iot.update_billing_group(billingGroupName="ghost", billingGroupProperties={})
    assert code_of(exc) == ("ResourceNotFoundException", 404)


def test_delete_billing_group(iot: Any) -> None:
    arn = iot.create_billing_group(billingGroupName="bg", tags=[{"Key": "k", "Value": "v"}])[
        "billingGroupArn"
    ]
    iot.create_thing(thingName="t", billingGroupName="bg")
    with pytest.raises(ClientError) as exc:
        iot.delete_billing_group(billingGroupName="bg", expectedVersion=3)
    assert code_of(exc) == ("VersionConflictException", 409)
    iot.delete_billing_group(billingGroupName="bg", expectedVersion=1)
    assert "billingGroupName" not in iot.describe_thing(thingName="t")
    assert iot.list_billing_groups()["billingGroups"] == []
    with pytest.raises(ClientError) as exc:
        iot.list_tags_for_resource(resourceArn=arn)
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    response = iot.delete_billing_group(billingGroupName="bg")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_list_billing_groups(iot: Any) -> None:
    for name in ("east-1", "east-2", "west-1"):
        iot.create_billing_group(billingGroupName=name)
    listed = iot.list_billing_groups()["billingGroups"]
    assert listed[0] == {"groupName": "east-1", "groupArn": f"{ARN}:billinggroup/east-1"}
    assert [g["groupName"] for g in listed] == ["east-1", "east-2", "west-1"]
    east = iot.list_billing_groups(namePrefixFilter="east", maxResults=1)
    assert [g["groupName"] for g in east["billingGroups"]] == ["east-1"]
    more = iot.list_billing_groups(
        namePrefixFilter="east", maxResults=1, nextToken=east["nextToken"]
    )
    assert [g["groupName"] for g in more["billingGroups"]] == ["east-2"]
    assert "nextToken" not in more
