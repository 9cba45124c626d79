"""Dynamic thing groups: CRUD, and membership evaluated from the query, through boto3."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import code_of

from iotmock import IotMock

ARN = "arn:aws:iot:us-east-1:123456789012"


@pytest.fixture
def indexed(iot: Any) -> Any:
    iot.update_indexing_configuration(
        thingIndexingConfiguration={
            "thingIndexingMode": "REGISTRY_AND_SHADOW",
            "thingConnectivityIndexingMode": "STATUS",
            "customFields": [{"name": "attributes.temp", "type": "Number"}],
        }
    )
    for name, temp in (("a", "10"), ("b", "50"), ("c", "90")):
        iot.create_thing(thingName=name, attributePayload={"attributes": {"temp": temp}})
    return iot


def members(iot: Any, group: str) -> list[str]:
    things: list[str] = iot.list_things_in_thing_group(thingGroupName=group)["things"]
    return things


def groups_of(iot: Any, thing: str) -> list[str]:
    return [g["groupName"] for g in iot.list_thing_groups_for_thing(thingName=thing)["thingGroups"]]


def test_create_and_describe(indexed: Any) -> None:
    created = indexed.create_dynamic_thing_group(
        thingGroupName="hot",
        queryString="attributes.temp>40",
        thingGroupProperties={
            "thingGroupDescription": "warm things",
            "attributePayload": {"attributes": {"owner": "ops"}},
        },
        tags=[{"Key": "team", "Value": "ops"}],
    )
    assert created["thingGroupName"] == "hot"
    assert created["thingGroupArn"] == f"{ARN}:thinggroup/hot"
    assert created["thingGroupId"]
    assert created["indexName"] == "AWS_Things"
    assert created["queryString"] == "attributes.temp>40"
    assert created["queryVersion"] == "2017-09-30"
    described = indexed.describe_thing_group(thingGroupName="hot")
    assert described["status"] == "ACTIVE"  # BUILDING completes at once in the mock
    assert described["queryString"] == "attributes.temp>40"
    assert described["indexName"] == "AWS_Things"
    assert described["queryVersion"] == "2017-09-30"
    assert described["version"] == 1
    assert described["thingGroupProperties"]["thingGroupDescription"] == "warm things"
    assert described["thingGroupProperties"]["attributePayload"]["attributes"] == {"owner": "ops"}
    tags = indexed.list_tags_for_resource(resourceArn=created["thingGroupArn"])["tags"]
    assert tags == [{"Key": "team", "Value": "ops"}]


def test_membership_follows_the_query(indexed: Any, iot_data: Any, iot_mock: IotMock) -> None:
    indexed.create_dynamic_thing_group(thingGroupName="hot", queryString="attributes.temp>40")
    assert members(indexed, "hot") == ["b", "c"]
    assert groups_of(indexed, "b") == ["hot"]
    assert groups_of(indexed, "a") == []
    indexed.update_thing(thingName="a", attributePayload={"attributes": {"temp": "70"}})
    assert members(indexed, "hot") == ["a", "b", "c"]
    indexed.delete_thing(thingName="c")
    assert members(indexed, "hot") == ["a", "b"]
    # Shadows and connectivity drive membership too.
    indexed.create_dynamic_thing_group(
        thingGroupName="online", queryString="connectivity.connected:true"
    )
    indexed.create_dynamic_thing_group(thingGroupName="low", queryString="shadow.reported.batt<20")
    iot_mock.devices.connect("a")
    iot_data.update_thing_shadow(
        thingName="b", payload=json.dumps({"state": {"reported": {"batt": 5}}})
    )
    assert members(indexed, "online") == ["a"]
    assert members(indexed, "low") == ["b"]
    assert groups_of(indexed, "b") == ["hot", "low"]


def test_static_and_dynamic_memberships_are_listed_together(indexed: Any) -> None:
    indexed.create_thing_group(thingGroupName="static")
    indexed.add_thing_to_thing_group(thingGroupName="static", thingName="c")
    indexed.create_dynamic_thing_group(thingGroupName="hot", queryString="attributes.temp>40")
    assert groups_of(indexed, "c") == ["hot", "static"]
    page = indexed.list_thing_groups_for_thing(thingName="c", maxResults=1)
    assert [g["groupName"] for g in page["thingGroups"]] == ["hot"]
    rest = indexed.list_thing_groups_for_thing(thingName="c", nextToken=page["nextToken"])
    assert [g["groupName"] for g in rest["thingGroups"]] == ["static"]
    # Static groups are searchable; dynamic memberships are not indexed.
    found = indexed.search_index(queryString="thingGroupNames:static")["things"]
    assert [t["thingName"] for t in found] == ["c"]
    assert indexed.search_index(queryString="thingGroupNames:hot")["things"] == []


def test_members_page(indexed: Any) -> None:
    indexed.create_dynamic_thing_group(thingGroupName="all", queryString="*")
    first = indexed.list_things_in_thing_group(thingGroupName="all", maxResults=2)
    assert first["things"] == ["a", "b"]
    second = indexed.list_things_in_thing_group(thingGroupName="all", nextToken=first["nextToken"])
    assert second["things"] == ["c"]
    recursive = indexed.list_things_in_thing_group(thingGroupName="all", recursive=True)
    assert recursive["things"] == ["a", "b", "c"]


def test_dynamic_groups_cannot_be_populated_or_parented(indexed: Any) -> None:
    indexed.create_dynamic_thing_group(thingGroupName="hot", queryString="attributes.temp>40")
    with pytest.raises(ClientError) as exc:
        indexed.add_thing_to_thing_group(thingGroupName="hot", thingName="a")
    assert code_of(exc) == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        indexed.create_thing_group(thingGroupName="child", parentGroupName="hot")
    assert code_of(exc) == ("InvalidRequestException", 400)


def test_create_needs_fleet_indexing(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_dynamic_thing_group(thingGroupName="g", queryString="*")
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    assert "AWS_Things" in exc.value.response["Error"]["Message"]
    assert iot.list_thing_groups()["thingGroups"] == []


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"queryString": "*bad"}, "InvalidQueryException"),
        ({"queryString": "a AND"}, "InvalidQueryException"),
        ({"queryString": "*", "indexName": "AWS_ThingGroups"}, "InvalidRequestException"),
        ({"queryString": "*", "queryVersion": "2000-01-01"}, "InvalidRequestException"),
    ],
)
def test_create_refuses_bad_queries(indexed: Any, extra: dict[str, Any], code: str) -> None:
    with pytest.raises(ClientError) as exc:
        indexed.create_dynamic_thing_group(thingGroupName="g", **extra)
    assert code_of(exc) == (code, 400)
    assert "g" not in {g["groupName"] for g in indexed.list_thing_groups()["thingGroups"]}


def test_create_existing_name(indexed: Any) -> None:
    first = indexed.create_dynamic_thing_group(
        thingGroupName="hot", queryString="attributes.temp>40"
    )
    again = indexed.create_dynamic_thing_group(
        thingGroupName="hot", queryString="attributes.temp>40"
    )
    assert again["thingGroupId"] == first["thingGroupId"]
    with pytest.raises(ClientError) as exc:
        indexed.create_dynamic_thing_group(thingGroupName="hot", queryString="attributes.temp>50")
    assert code_of(exc) == ("ResourceAlreadyExistsException", 409)
    assert exc.value.response["resourceId"] == first["thingGroupId"]
    indexed.create_thing_group(thingGroupName="static")
    with pytest.raises(ClientError) as exc:
        indexed.create_dynamic_thing_group(thingGroupName="static", queryString="*")
    assert code_of(exc) == ("ResourceAlreadyExistsException", 409)


def test_dynamic_group_limit(indexed: Any, iot_mock: IotMock) -> None:
    from iotmock.indexing.config import IndexingStore

    # Fill the quota directly: 100 creations through the API would only slow the suite.
    iot_mock.backend().store(IndexingStore).dynamic_groups.update(f"x{i}" for i in range(100))
    with pytest.raises(ClientError) as exc:
        indexed.create_dynamic_thing_group(thingGroupName="one-more", queryString="*")
    assert code_of(exc) == ("LimitExceededException", 410)


def test_update(indexed: Any) -> None:
    indexed.create_dynamic_thing_group(thingGroupName="hot", queryString="attributes.temp>40")
    result = indexed.update_dynamic_thing_group(
        thingGroupName="hot",
        thingGroupProperties={"thingGroupDescription": "very hot"},
        queryString="attributes.temp>80",
        expectedVersion=1,
    )
    assert result["version"] == 2
    described = indexed.describe_thing_group(thingGroupName="hot")
    assert described["queryString"] == "attributes.temp>80"
    assert described["status"] == "ACTIVE"
    assert described["thingGroupProperties"]["thingGroupDescription"] == "very hot"
    assert members(indexed, "hot") == ["c"]
    with pytest.raises(ClientError) as exc:
        indexed.update_dynamic_thing_group(
            thingGroupName="hot", thingGroupProperties={}, expectedVersion=1
        )
    assert code_of(exc) == ("VersionConflictException", 409)
    with pytest.raises(ClientError) as exc:
        indexed.update_dynamic_thing_group(
            thingGroupName="hot", thingGroupProperties={}, queryString="(x"
        )
    assert code_of(exc) == ("InvalidQueryException", 400)
    assert indexed.describe_thing_group(thingGroupName="hot")["version"] == 2


def test_update_missing_or_static(indexed: Any) -> None:
    with pytest.raises(ClientError) as exc:
        indexed.update_dynamic_thing_group(thingGroupName="ghost", thingGroupProperties={})
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    indexed.create_thing_group(thingGroupName="static")
    with pytest.raises(ClientError) as exc:
        indexed.update_dynamic_thing_group(
            thingGroupName="static", thingGroupProperties={}, queryString="*"
        )
    assert code_of(exc) == ("InvalidRequestException", 400)


def test_delete(indexed: Any) -> None:
    created = indexed.create_dynamic_thing_group(
        thingGroupName="hot", queryString="attributes.temp>40", tags=[{"Key": "k", "Value": "v"}]
    )
    with pytest.raises(ClientError) as exc:
        indexed.delete_dynamic_thing_group(thingGroupName="hot", expectedVersion=5)
    assert code_of(exc) == ("VersionConflictException", 409)
    indexed.delete_dynamic_thing_group(thingGroupName="hot", expectedVersion=1)
    assert indexed.list_thing_groups()["thingGroups"] == []
    assert groups_of(indexed, "c") == []
    with pytest.raises(ClientError) as exc:
        indexed.list_tags_for_resource(resourceArn=created["thingGroupArn"])
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    # Deleting a missing group succeeds; a static group is refused.
    assert (
        indexed.delete_dynamic_thing_group(thingGroupName="hot")["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 200
    )
    indexed.create_thing_group(thingGroupName="static")
    with pytest.raises(ClientError) as exc:
        indexed.delete_dynamic_thing_group(thingGroupName="static")
    assert code_of(exc) == ("InvalidRequestException", 400)


def test_indexing_cannot_be_turned_off_under_dynamic_groups(indexed: Any) -> None:
    indexed.create_dynamic_thing_group(thingGroupName="hot", queryString="*")
    with pytest.raises(ClientError) as exc:
        indexed.update_indexing_configuration(
            thingIndexingConfiguration={"thingIndexingMode": "OFF"}
        )
    assert code_of(exc) == ("InvalidRequestException", 400)
    assert "hot" in exc.value.response["Error"]["Message"]
    # DeleteThingGroup also removes a dynamic group; then indexing can be turned off.
    indexed.delete_thing_group(thingGroupName="hot")
    indexed.update_indexing_configuration(thingIndexingConfiguration={"thingIndexingMode": "OFF"})


def test_jobs_target_dynamic_group_members(indexed: Any) -> None:
    group = indexed.create_dynamic_thing_group(
        thingGroupName="hot", queryString="attributes.temp>40"
    )
    indexed.create_job(jobId="j1", targets=[group["thingGroupArn"]], document="{}")
    executions = indexed.list_job_executions_for_job(jobId="j1")["executionSummaries"]
    assert sorted(e["thingArn"].rpartition("/")[2] for e in executions) == ["b", "c"]
