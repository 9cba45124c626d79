"""Things: create idempotency, versions, attributes, types, billing groups, delete, list."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import error_of

from iotmock import IotMock
from iotmock.registry.records import registry_of

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_create_thing_returns_identity(iot: Any) -> None:
    created = iot.create_thing(thingName="sensor-1")
    assert created["thingName"] == "sensor-1"
    assert created["thingArn"] == "arn:aws:iot:us-east-1:123456789012:thing/sensor-1"
    assert UUID.match(created["thingId"])
    described = iot.describe_thing(thingName="sensor-1")
    assert described["thingId"] == created["thingId"]
    assert described["defaultClientId"] == "sensor-1"
    assert described["version"] == 1
    assert described["attributes"] == {}
    assert "thingTypeName" not in described


def test_create_thing_is_idempotent_for_identical_configuration(iot: Any) -> None:
    first = iot.create_thing(thingName="t", attributePayload={"attributes": {"a": "1"}})
    again = iot.create_thing(thingName="t", attributePayload={"attributes": {"a": "1"}})
    assert again["thingId"] == first["thingId"]
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_create_thing_with_different_configuration_conflicts(iot: Any) -> None:
    first = iot.create_thing(thingName="t", attributePayload={"attributes": {"a": "1"}})
    with pytest.raises(ClientError) as exc:
        iot.create_thing(thingName="t", attributePayload={"attributes": {"a": "2"}})
    assert error_of(exc)[:2] == ("ResourceAlreadyExistsException", 409)
    assert exc.value.response["resourceId"] == first["thingId"]
    assert exc.value.response["resourceArn"] == first["thingArn"]


def test_update_thing_increments_version_and_checks_expected_version(iot: Any) -> None:
    iot.create_thing(thingName="t")
    iot.update_thing(thingName="t", attributePayload={"attributes": {"a": "1"}})
    iot.update_thing(thingName="t", attributePayload={"attributes": {"b": "2"}}, expectedVersion=2)
    described = iot.describe_thing(thingName="t")
    assert described["version"] == 3
    assert described["attributes"] == {"b": "2"}  # no merge: replaced
    with pytest.raises(ClientError) as exc:
        iot.update_thing(thingName="t", attributePayload={"attributes": {}}, expectedVersion=1)
    assert error_of(exc)[:2] == ("VersionConflictException", 409)
    assert iot.describe_thing(thingName="t")["version"] == 3


def test_update_thing_merge_and_empty_value_removes(iot: Any) -> None:
    iot.create_thing(thingName="t", attributePayload={"attributes": {"a": "1", "b": "2"}})
    iot.update_thing(
        thingName="t", attributePayload={"attributes": {"b": "", "c": "3"}, "merge": True}
    )
    assert iot.describe_thing(thingName="t")["attributes"] == {"a": "1", "c": "3"}


def test_update_missing_thing_is_not_found(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.update_thing(thingName="ghost", attributePayload={"attributes": {}})
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_attribute_limit_without_type_is_three(iot: Any) -> None:
    attributes = {f"a{i}": "v" for i in range(4)}
    with pytest.raises(ClientError) as exc:
        iot.create_thing(thingName="t", attributePayload={"attributes": attributes})
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "at most 3 attributes" in message
    assert iot.list_things()["things"] == []


def test_attribute_limit_with_type_is_fifty(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="big")
    iot.create_thing(
        thingName="t",
        thingTypeName="big",
        attributePayload={"attributes": {f"a{i}": "v" for i in range(50)}},
    )
    with pytest.raises(ClientError) as exc:
        iot.update_thing(
            thingName="t", attributePayload={"attributes": {"extra": "v"}, "merge": True}
        )
    assert error_of(exc)[0] == "InvalidRequestException"
    assert "at most 50 attributes" in error_of(exc)[2]
    # Removing the type brings back the limit of 3.
    with pytest.raises(ClientError) as exc:
        iot.update_thing(thingName="t", removeThingType=True)
    assert "at most 3 attributes" in error_of(exc)[2]


def test_thing_type_assignment_and_removal(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="lamp")
    iot.create_thing(thingName="t", thingTypeName="lamp")
    assert iot.describe_thing(thingName="t")["thingTypeName"] == "lamp"
    iot.update_thing(thingName="t", removeThingType=True)
    assert "thingTypeName" not in iot.describe_thing(thingName="t")
    iot.update_thing(thingName="t", thingTypeName="lamp")
    assert iot.describe_thing(thingName="t")["thingTypeName"] == "lamp"
    with pytest.raises(ClientError) as exc:
        iot.update_thing(thingName="t", thingTypeName="lamp", removeThingType=True)
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


def test_missing_thing_type_or_billing_group_is_not_found(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_thing(thingName="t", thingTypeName="nope")
    assert error_of(exc) == ("ResourceNotFoundException", 404, "Thing Type nope cannot be found.")
    with pytest.raises(ClientError) as exc:
        iot.create_thing(thingName="t", billingGroupName="nope")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    iot.create_thing(thingName="t")
    with pytest.raises(ClientError) as exc:
        iot.update_thing(thingName="t", thingTypeName="nope")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_deprecated_thing_type_refuses_new_things(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="old")
    iot.deprecate_thing_type(thingTypeName="old")
    with pytest.raises(ClientError) as exc:
        iot.create_thing(thingName="t", thingTypeName="old")
    assert error_of(exc) == (
        "InvalidRequestException",
        400,
        "Can not create new thing with depreated thing type:old",
    )
    iot.create_thing(thingName="t")
    with pytest.raises(ClientError) as exc:
        iot.update_thing(thingName="t", thingTypeName="old")
    assert error_of(exc)[0] == "InvalidRequestException"


def test_create_thing_in_billing_group(iot: Any) -> None:
    iot.create_billing_group(billingGroupName="bg")
    iot.create_thing(thingName="t", billingGroupName="bg")
    assert iot.describe_thing(thingName="t")["billingGroupName"] == "bg"
    assert iot.list_things_in_billing_group(billingGroupName="bg")["things"] == ["t"]


def test_delete_thing_with_principal_is_refused(iot: Any) -> None:
    iot.create_thing(thingName="t")
    iot.attach_thing_principal(
        thingName="t", principal="us-east-1:11111111-2222-3333-4444-555555555555"
    )
    with pytest.raises(ClientError) as exc:
        iot.delete_thing(thingName="t")
    assert error_of(exc) == (
        "InvalidRequestException",
        400,
        "Cannot delete. Thing t is still attached to one or more principals",
    )
    iot.detach_thing_principal(
        thingName="t", principal="us-east-1:11111111-2222-3333-4444-555555555555"
    )
    iot.delete_thing(thingName="t")
    with pytest.raises(ClientError) as exc:
        iot.describe_thing(thingName="t")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_delete_missing_thing_succeeds(iot: Any) -> None:
    response = iot.delete_thing(thingName="ghost")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_delete_thing_expected_version(iot: Any) -> None:
    iot.create_thing(thingName="t")
    with pytest.raises(ClientError) as exc:
        iot.delete_thing(thingName="t", expectedVersion=5)
    assert error_of(exc)[:2] == ("VersionConflictException", 409)
    iot.delete_thing(thingName="t", expectedVersion=1)
    assert iot.list_things()["things"] == []


def test_delete_thing_leaves_groups_and_billing_group(iot: Any, iot_mock: IotMock) -> None:
    iot.create_thing_group(thingGroupName="g")
    iot.create_billing_group(billingGroupName="bg")
    iot.create_thing_type(thingTypeName="ty")
    iot.create_thing(thingName="t", billingGroupName="bg", thingTypeName="ty")
    iot.add_thing_to_thing_group(thingGroupName="g", thingName="t")
    iot.delete_thing(thingName="t")
    assert iot.list_things_in_thing_group(thingGroupName="g")["things"] == []
    assert iot.list_things_in_billing_group(billingGroupName="bg")["things"] == []
    assert iot.list_things(thingTypeName="ty")["things"] == []
    backend = iot_mock.backend()
    assert registry_of(backend).thing_groups["g"].thing_names == set()
    assert registry_of(backend).billing_groups["bg"].thing_names == set()


def test_list_things_filters(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="lamp")
    iot.create_thing(thingName="a", attributePayload={"attributes": {"color": "red"}})
    iot.create_thing(thingName="b", attributePayload={"attributes": {"color": "reddish"}})
    iot.create_thing(
        thingName="c", thingTypeName="lamp", attributePayload={"attributes": {"color": "blue"}}
    )
    iot.create_thing(thingName="d")

    def names(**filters: Any) -> list[str]:
        return [t["thingName"] for t in iot.list_things(**filters)["things"]]

    assert names() == ["a", "b", "c", "d"]
    assert names(attributeName="color", attributeValue="red") == ["a"]
    assert names(attributeName="color", attributeValue="red", usePrefixAttributeValue=True) == [
        "a",
        "b",
    ]
    assert names(attributeName="color") == ["a", "b", "c"]
    assert names(thingTypeName="lamp") == ["c"]
    assert names(thingTypeName="lamp", attributeName="color", attributeValue="red") == []
    item = iot.list_things(thingTypeName="lamp")["things"][0]
    assert item == {
        "thingName": "c",
        "thingTypeName": "lamp",
        "thingArn": "arn:aws:iot:us-east-1:123456789012:thing/c",
        "attributes": {"color": "blue"},
        "version": 1,
    }
