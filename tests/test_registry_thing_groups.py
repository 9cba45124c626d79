"""Static thing groups: hierarchy, listing, membership rules, versions, events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import code_of
from identity_state import insert_dynamic_thing_group

from iotmock import IotMock
from iotmock.core.events import _SUBSCRIBERS, subscribe
from iotmock.core.operations import RequestContext
from iotmock.registry.records import registry_of
from iotmock.registry.thing_groups import ancestors, group_members_recursive

ARN = "arn:aws:iot:us-east-1:123456789012"


def message_of(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Message"])


@pytest.fixture
def events() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """The registry events emitted during the test, in order."""
    seen: list[tuple[str, dict[str, Any]]] = []
    names = ("thing_added_to_group", "thing_removed_from_group", "thing_group_deleted")
    recorders = []
    for name in names:

        def record(ctx: RequestContext, _name: str = name, **details: Any) -> None:
            seen.append((_name, details))

        recorders.append((name, subscribe(name)(record)))
    yield seen
    for name, recorder in recorders:
        _SUBSCRIBERS[name].remove(recorder)


def make_tree(iot: Any) -> None:
    """root -> (a -> a1, b)"""
    iot.create_thing_group(thingGroupName="root")
    iot.create_thing_group(thingGroupName="a", parentGroupName="root")
    iot.create_thing_group(thingGroupName="b", parentGroupName="root")
    iot.create_thing_group(thingGroupName="a1", parentGroupName="a")


def test_create_and_describe_thing_group(iot: Any) -> None:
    created = iot.create_thing_group(
        thingGroupName="g",
        thingGroupProperties={
            "thingGroupDescription": "desc",
            "attributePayload": {"attributes": {"k": "v"}},
        },
        tags=[{"Key": "env", "Value": "test"}],
    )
    assert created["thingGroupArn"] == f"{ARN}:thinggroup/g"
    described = iot.describe_thing_group(thingGroupName="g")
    assert described["thingGroupId"] == created["thingGroupId"]
    assert described["version"] == 1
    assert described["thingGroupProperties"] == {
        "thingGroupDescription": "desc",
        "attributePayload": {"attributes": {"k": "v"}},
    }
    assert "parentGroupName" not in described["thingGroupMetadata"]
    assert "rootToParentThingGroups" not in described["thingGroupMetadata"]
    assert "creationDate" in described["thingGroupMetadata"]
    assert "queryString" not in described
    tags = iot.list_tags_for_resource(resourceArn=created["thingGroupArn"])["tags"]
    assert tags == [{"Key": "env", "Value": "test"}]


def test_create_thing_group_idempotency(iot: Any) -> None:
    first = iot.create_thing_group(thingGroupName="g")
    assert iot.create_thing_group(thingGroupName="g")["thingGroupId"] == first["thingGroupId"]
    with pytest.raises(ClientError) as exc:
        iot.create_thing_group(
            thingGroupName="g", thingGroupProperties={"thingGroupDescription": "other"}
        )
    assert code_of(exc) == ("ResourceAlreadyExistsException", 409)
    assert message_of(exc) == (
        "Thing Group g already exists in current account with different properties"
    )


def test_hierarchy_metadata(iot: Any, iot_mock: IotMock) -> None:
    make_tree(iot)
    metadata = iot.describe_thing_group(thingGroupName="a1")["thingGroupMetadata"]
    assert metadata["parentGroupName"] == "a"
    assert metadata["rootToParentThingGroups"] == [
        {"groupName": "root", "groupArn": f"{ARN}:thinggroup/root"},
        {"groupName": "a", "groupArn": f"{ARN}:thinggroup/a"},
    ]
    assert [g.name for g in ancestors(iot_mock.backend(), "a1")] == ["root", "a"]


def test_missing_parent_and_depth_limit(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_thing_group(thingGroupName="g", parentGroupName="ghost")
    assert code_of(exc) == ("InvalidRequestException", 400)
    parent = None
    for level in range(7):
        iot.create_thing_group(
            thingGroupName=f"l{level}", **({"parentGroupName": parent} if parent else {})
        )
        parent = f"l{level}"
    with pytest.raises(ClientError) as exc:
        iot.create_thing_group(thingGroupName="l7", parentGroupName="l6")
    assert code_of(exc) == ("InvalidRequestException", 400)
    assert "at most 7 levels" in message_of(exc)


def test_list_thing_groups(iot: Any) -> None:
    make_tree(iot)
    iot.create_thing_group(thingGroupName="other")

    def names(**filters: Any) -> list[str]:
        return [g["groupName"] for g in iot.list_thing_groups(**filters)["thingGroups"]]

    assert names() == ["a", "a1", "b", "other", "root"]
    assert names(parentGroup="root", recursive=False) == ["a", "b"]
    assert names(parentGroup="root") == ["a", "a1", "b"]  # recursive absent means true
    assert names(parentGroup="root", recursive=True) == ["a", "a1", "b"]
    assert names(namePrefixFilter="a") == ["a", "a1"]
    assert names(namePrefixFilter="o") == ["other"]
    assert names(namePrefixFilter="zz") == []
    assert names(parentGroup="root", recursive=True, namePrefixFilter="a") == ["a", "a1"]
    item = iot.list_thing_groups(namePrefixFilter="b")["thingGroups"][0]
    assert item == {"groupName": "b", "groupArn": f"{ARN}:thinggroup/b"}
    with pytest.raises(ClientError) as exc:
        iot.list_thing_groups(parentGroup="ghost")
    assert code_of(exc) == ("ResourceNotFoundException", 404)


def test_list_thing_groups_prefix_pages(iot: Any) -> None:
    for i in range(5):
        iot.create_thing_group(thingGroupName=f"p{i}")
        iot.create_thing_group(thingGroupName=f"q{i}")
    first = iot.list_thing_groups(namePrefixFilter="p", maxResults=3)
    assert [g["groupName"] for g in first["thingGroups"]] == ["p0", "p1", "p2"]
    rest = iot.list_thing_groups(namePrefixFilter="p", maxResults=3, nextToken=first["nextToken"])
    assert [g["groupName"] for g in rest["thingGroups"]] == ["p3", "p4"]
    assert "nextToken" not in rest
    with pytest.raises(ClientError) as exc:
        iot.list_thing_groups(namePrefixFilter="q", nextToken=first["nextToken"])
    assert code_of(exc) == ("InvalidRequestException", 400)


def test_things_in_group_recursive(iot: Any, iot_mock: IotMock) -> None:
    make_tree(iot)
    for name in ("t-root", "t-a1", "t-b"):
        iot.create_thing(thingName=name)
    iot.add_thing_to_thing_group(thingGroupName="root", thingName="t-root")
    iot.add_thing_to_thing_group(thingGroupName="a1", thingName="t-a1")
    iot.add_thing_to_thing_group(thingGroupArn=f"{ARN}:thinggroup/b", thingArn=f"{ARN}:thing/t-b")
    assert iot.list_things_in_thing_group(thingGroupName="root")["things"] == ["t-root"]
    assert iot.list_things_in_thing_group(thingGroupName="root", recursive=True)["things"] == [
        "t-a1",
        "t-b",
        "t-root",
    ]
    assert iot.list_things_in_thing_group(thingGroupName="a", recursive=True)["things"] == ["t-a1"]
    assert group_members_recursive(iot_mock.backend(), "a") == {"t-a1"}
    groups = iot.list_thing_groups_for_thing(thingName="t-b")["thingGroups"]
    assert groups == [{"groupName": "b", "groupArn": f"{ARN}:thinggroup/b"}]
    with pytest.raises(ClientError) as exc:
        iot.list_things_in_thing_group(thingGroupName="ghost")
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.list_thing_groups_for_thing(thingName="ghost")
    assert code_of(exc) == ("ResourceNotFoundException", 404)


def test_add_and_remove_are_idempotent_and_emit_events(
    iot: Any, events: list[tuple[str, dict[str, Any]]]
) -> None:
    iot.create_thing_group(thingGroupName="g")
    iot.create_thing(thingName="t")
    iot.add_thing_to_thing_group(thingGroupName="g", thingName="t")
    iot.add_thing_to_thing_group(thingGroupName="g", thingName="t")
    iot.remove_thing_from_thing_group(thingGroupName="g", thingName="t")
    iot.remove_thing_from_thing_group(thingGroupName="g", thingName="t")
    assert events == [
        ("thing_added_to_group", {"thing_name": "t", "group_name": "g"}),
        ("thing_removed_from_group", {"thing_name": "t", "group_name": "g"}),
    ]
    assert iot.list_things_in_thing_group(thingGroupName="g")["things"] == []


def test_add_with_missing_sides(iot: Any) -> None:
    iot.create_thing_group(thingGroupName="g")
    iot.create_thing(thingName="t")
    with pytest.raises(ClientError) as exc:
        iot.add_thing_to_thing_group(thingGroupName="ghost", thingName="t")
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.add_thing_to_thing_group(thingGroupName="g", thingName="ghost")
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.add_thing_to_thing_group(thingName="t")
    assert code_of(exc) == ("InvalidRequestException", 400)


def test_thing_in_at_most_ten_groups(iot: Any) -> None:
    iot.create_thing(thingName="t")
    for i in range(11):
        iot.create_thing_group(thingGroupName=f"g{i:02d}")
    for i in range(10):
        iot.add_thing_to_thing_group(thingGroupName=f"g{i:02d}", thingName="t")
    with pytest.raises(ClientError) as exc:
        iot.add_thing_to_thing_group(thingGroupName="g10", thingName="t")
    assert code_of(exc) == ("InvalidRequestException", 400)
    assert "more than 10 thing groups" in message_of(exc)
    assert len(iot.list_thing_groups_for_thing(thingName="t")["thingGroups"]) == 10


def test_one_group_per_hierarchy(iot: Any) -> None:
    make_tree(iot)
    iot.create_thing(thingName="t")
    iot.add_thing_to_thing_group(thingGroupName="a1", thingName="t")
    with pytest.raises(ClientError) as exc:
        iot.add_thing_to_thing_group(thingGroupName="b", thingName="t")
    assert code_of(exc) == ("InvalidRequestException", 400)
    assert "only one group of a hierarchy" in message_of(exc)
    # Moving within the hierarchy in one call is fine.
    iot.update_thing_groups_for_thing(
        thingName="t", thingGroupsToAdd=["b"], thingGroupsToRemove=["a1"]
    )
    groups = iot.list_thing_groups_for_thing(thingName="t")["thingGroups"]
    assert [g["groupName"] for g in groups] == ["b"]


def test_update_thing_groups_for_thing(iot: Any, events: list[tuple[str, dict[str, Any]]]) -> None:
    for name in ("g1", "g2", "g3"):
        iot.create_thing_group(thingGroupName=name)
    iot.create_thing(thingName="t")
    iot.add_thing_to_thing_group(thingGroupName="g1", thingName="t")
    iot.update_thing_groups_for_thing(
        thingName="t",
        thingGroupsToAdd=["g2", "g3"],
        thingGroupsToRemove=["g1"],
        overrideDynamicGroups=True,
    )
    groups = iot.list_thing_groups_for_thing(thingName="t")["thingGroups"]
    assert [g["groupName"] for g in groups] == ["g2", "g3"]
    assert ("thing_removed_from_group", {"thing_name": "t", "group_name": "g1"}) in events
    assert ("thing_added_to_group", {"thing_name": "t", "group_name": "g3"}) in events
    # A missing group rejects the whole call.
    with pytest.raises(ClientError) as exc:
        iot.update_thing_groups_for_thing(
            thingName="t", thingGroupsToAdd=["g1", "ghost"], thingGroupsToRemove=["g2"]
        )
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    groups = iot.list_thing_groups_for_thing(thingName="t")["thingGroups"]
    assert [g["groupName"] for g in groups] == ["g2", "g3"]
    with pytest.raises(ClientError) as exc:
        iot.update_thing_groups_for_thing(thingName="ghost", thingGroupsToAdd=["g1"])
    assert code_of(exc) == ("ResourceNotFoundException", 404)


def test_update_thing_group_versions(iot: Any) -> None:
    iot.create_thing_group(
        thingGroupName="g",
        thingGroupProperties={"attributePayload": {"attributes": {"a": "1", "b": "2"}}},
    )
    response = iot.update_thing_group(
        thingGroupName="g",
        thingGroupProperties={
            "thingGroupDescription": "new",
            "attributePayload": {"attributes": {"b": "", "c": "3"}, "merge": True},
        },
        expectedVersion=1,
    )
    assert response["version"] == 2
    described = iot.describe_thing_group(thingGroupName="g")
    assert described["version"] == 2
    assert described["thingGroupProperties"] == {
        "thingGroupDescription": "new",
        "attributePayload": {"attributes": {"a": "1", "c": "3"}},
    }
    with pytest.raises(ClientError) as exc:
        iot.update_thing_group(thingGroupName="g", thingGroupProperties={}, expectedVersion=1)
    assert code_of(exc) == ("VersionConflictException", 409)
    with pytest.raises(ClientError) as exc:
        iot.update_thing_group(thingGroupName="ghost", thingGroupProperties={})
    assert code_of(exc) == ("ResourceNotFoundException", 404)


def test_delete_thing_group(
    iot: Any, iot_mock: IotMock, events: list[tuple[str, dict[str, Any]]]
) -> None:
    make_tree(iot)
    iot.create_thing(thingName="t")
    iot.add_thing_to_thing_group(thingGroupName="a1", thingName="t")
    with pytest.raises(ClientError) as exc:
        iot.delete_thing_group(thingGroupName="a")
    assert code_of(exc) == ("InvalidRequestException", 400)
    assert message_of(exc) == (
        "Cannot delete thing group : a when there are still child groups attached to it"
    )
    with pytest.raises(ClientError) as exc:
        iot.delete_thing_group(thingGroupName="a1", expectedVersion=2)
    assert code_of(exc) == ("VersionConflictException", 409)
    iot.delete_thing_group(thingGroupName="a1", expectedVersion=1)
    assert ("thing_group_deleted", {"group_name": "a1", "arn": f"{ARN}:thinggroup/a1"}) in events
    assert iot.list_thing_groups_for_thing(thingName="t")["thingGroups"] == []
    assert registry_of(iot_mock.backend()).thing_groups["a"].child_names == set()
    iot.delete_thing_group(thingGroupName="a")
    assert (
        iot.delete_thing_group(thingGroupName="ghost")["ResponseMetadata"]["HTTPStatusCode"] == 200
    )
    with pytest.raises(ClientError) as exc:
        iot.list_tags_for_resource(resourceArn=f"{ARN}:thinggroup/a1")
    assert code_of(exc) == ("ResourceNotFoundException", 404)


def test_dynamic_group_cannot_be_populated_by_hand(iot: Any, iot_mock: IotMock) -> None:
    insert_dynamic_thing_group(iot, iot_mock, "dyn", "attributes.color:red")
    iot.create_thing(thingName="t")
    with pytest.raises(ClientError) as exc:
        iot.add_thing_to_thing_group(thingGroupName="dyn", thingName="t")
    assert code_of(exc) == ("InvalidRequestException", 400)
    assert iot.describe_thing_group(thingGroupName="dyn")["queryString"] == "attributes.color:red"
