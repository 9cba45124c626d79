"""Fleet metrics: CRUD, validation, versions, tags and paging, through boto3."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import code_of
from freezegun import freeze_time

ARN = "arn:aws:iot:us-east-1:123456789012"


@pytest.fixture
def indexed(iot: Any) -> Any:
    iot.update_indexing_configuration(
        thingIndexingConfiguration={
            "thingIndexingMode": "REGISTRY",
            "customFields": [{"name": "attributes.temp", "type": "Number"}],
        }
    )
    return iot


def create(iot: Any, name: str = "hot", **overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "metricName": name,
        "queryString": "attributes.temp>30",
        "aggregationType": {"name": "Statistics", "values": ["average", "maximum"]},
        "period": 60,
        "aggregationField": "attributes.temp",
        **overrides,
    }
    result: dict[str, Any] = iot.create_fleet_metric(**request)
    return result


def test_create_and_describe(indexed: Any) -> None:
    with freeze_time("2026-03-01T12:00:00Z"):
        created = create(
            indexed,
            description="hot sensors",
            unit="Count",
            queryVersion="2017-09-30",
            indexName="AWS_Things",
            tags=[{"Key": "team", "Value": "ops"}],
        )
    assert created["metricName"] == "hot"
    assert created["metricArn"] == f"{ARN}:fleetmetric/hot"
    described = indexed.describe_fleet_metric(metricName="hot")
    assert described["metricName"] == "hot"
    assert described["metricArn"] == f"{ARN}:fleetmetric/hot"
    assert described["queryString"] == "attributes.temp>30"
    assert described["aggregationType"] == {"name": "Statistics", "values": ["average", "maximum"]}
    assert described["period"] == 60
    assert described["aggregationField"] == "attributes.temp"
    assert described["description"] == "hot sensors"
    assert described["unit"] == "Count"
    assert described["queryVersion"] == "2017-09-30"
    assert described["indexName"] == "AWS_Things"
    assert described["version"] == 1
    moment = dt.datetime(2026, 3, 1, 12, tzinfo=dt.timezone.utc)
    assert described["creationDate"] == moment
    assert described["lastModifiedDate"] == moment
    tags = indexed.list_tags_for_resource(resourceArn=created["metricArn"])["tags"]
    assert tags == [{"Key": "team", "Value": "ops"}]


def test_defaults(indexed: Any) -> None:
    create(indexed, aggregationType={"name": "Cardinality"}, aggregationField="thingName")
    described = indexed.describe_fleet_metric(metricName="hot")
    assert described["indexName"] == "AWS_Things"
    assert described["queryVersion"] == "2017-09-30"
    assert described["aggregationType"] == {"name": "Cardinality", "values": []}
    assert "unit" not in described and "description" not in described


def test_duplicate_name(indexed: Any) -> None:
    create(indexed)
    with pytest.raises(ClientError) as exc:
        create(indexed)
    assert code_of(exc) == ("ResourceAlreadyExistsException", 409)
    assert exc.value.response["resourceArn"] == f"{ARN}:fleetmetric/hot"


def test_needs_the_index(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        create(iot)
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    assert "AWS_Things" in exc.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"period": 90}, "InvalidRequestException"),
        ({"queryString": "*temp"}, "InvalidQueryException"),
        ({"queryVersion": "1999-01-01"}, "InvalidRequestException"),
        ({"indexName": "AWS_ThingGroups"}, "ResourceNotFoundException"),
        ({"aggregationField": "attributes.color"}, "InvalidAggregationException"),
        (
            {
                "aggregationType": {"name": "Percentiles", "values": ["50"]},
                "aggregationField": "thingName",
            },
            "InvalidAggregationException",
        ),
        (
            {
                "aggregationType": {"name": "Statistics", "values": ["sum"]},
                "aggregationField": "thingName",
            },
            "InvalidAggregationException",
        ),
        (
            {"aggregationType": {"name": "Statistics", "values": ["median"]}},
            "InvalidRequestException",
        ),
        (
            {"aggregationType": {"name": "Percentiles", "values": ["101"]}},
            "InvalidRequestException",
        ),
        (
            {"aggregationType": {"name": "Cardinality", "values": ["count"]}},
            "InvalidRequestException",
        ),
    ],
)
def test_create_validation(indexed: Any, overrides: dict[str, Any], code: str) -> None:
    with pytest.raises(ClientError) as exc:
        create(indexed, **overrides)
    assert code_of(exc)[0] == code
    assert indexed.list_fleet_metrics()["fleetMetrics"] == []


def test_valid_aggregation_combinations(indexed: Any) -> None:
    create(
        indexed,
        "count-names",
        aggregationType={"name": "Statistics", "values": ["count"]},
        aggregationField="thingName",
    )
    create(indexed, "p90", aggregationType={"name": "Percentiles", "values": ["50", "90"]})
    create(indexed, "distinct", aggregationType={"name": "Cardinality", "values": ["cardinality"]})
    names = [m["metricName"] for m in indexed.list_fleet_metrics()["fleetMetrics"]]
    assert names == ["count-names", "distinct", "p90"]


def test_update(indexed: Any) -> None:
    with freeze_time("2026-03-01T12:00:00Z"):
        create(indexed)
    with freeze_time("2026-03-01T13:00:00Z"):
        indexed.update_fleet_metric(
            metricName="hot",
            indexName="AWS_Things",
            queryString="attributes.temp>50",
            period=300,
            description="hotter",
            aggregationType={"name": "Percentiles", "values": ["99"]},
            unit="None",
            expectedVersion=1,
        )
    described = indexed.describe_fleet_metric(metricName="hot")
    assert described["version"] == 2
    assert described["queryString"] == "attributes.temp>50"
    assert described["period"] == 300
    assert described["description"] == "hotter"
    assert described["aggregationType"] == {"name": "Percentiles", "values": ["99"]}
    assert described["unit"] == "None"
    assert described["aggregationField"] == "attributes.temp"  # unchanged
    assert described["creationDate"] == dt.datetime(2026, 3, 1, 12, tzinfo=dt.timezone.utc)
    assert described["lastModifiedDate"] == dt.datetime(2026, 3, 1, 13, tzinfo=dt.timezone.utc)


def test_update_is_checked_as_a_whole(indexed: Any) -> None:
    create(indexed)
    with pytest.raises(ClientError) as exc:
        indexed.update_fleet_metric(metricName="hot", indexName="AWS_Things", expectedVersion=3)
    assert code_of(exc) == ("VersionConflictException", 409)
    with pytest.raises(ClientError) as exc:
        # Percentiles of the String field thingName: refused, and nothing changes.
        indexed.update_fleet_metric(
            metricName="hot",
            indexName="AWS_Things",
            aggregationField="thingName",
            aggregationType={"name": "Percentiles"},
        )
    assert code_of(exc) == ("InvalidAggregationException", 400)
    with pytest.raises(ClientError) as exc:
        indexed.update_fleet_metric(metricName="hot", indexName="AWS_Things", queryString="(a")
    assert code_of(exc) == ("InvalidQueryException", 400)
    described = indexed.describe_fleet_metric(metricName="hot")
    assert described["version"] == 1
    assert described["aggregationField"] == "attributes.temp"
    with pytest.raises(ClientError) as exc:
        indexed.update_fleet_metric(metricName="ghost", indexName="AWS_Things")
    assert code_of(exc) == ("ResourceNotFoundException", 404)


def test_describe_missing(indexed: Any) -> None:
    with pytest.raises(ClientError) as exc:
        indexed.describe_fleet_metric(metricName="ghost")
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    assert "ghost" in exc.value.response["Error"]["Message"]


def test_delete(indexed: Any) -> None:
    arn = create(indexed, tags=[{"Key": "k", "Value": "v"}])["metricArn"]
    with pytest.raises(ClientError) as exc:
        indexed.delete_fleet_metric(metricName="hot", expectedVersion=2)
    assert code_of(exc) == ("VersionConflictException", 409)
    indexed.delete_fleet_metric(metricName="hot", expectedVersion=1)
    with pytest.raises(ClientError) as exc:
        indexed.describe_fleet_metric(metricName="hot")
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        indexed.list_tags_for_resource(resourceArn=arn)
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    # Deleting a missing metric succeeds (API:DeleteFleetMetric).
    response = indexed.delete_fleet_metric(metricName="hot")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_tag_and_untag(indexed: Any) -> None:
    arn = create(indexed)["metricArn"]
    indexed.tag_resource(resourceArn=arn, tags=[{"Key": "a", "Value": "1"}])
    assert indexed.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "a", "Value": "1"}]
    indexed.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert indexed.list_tags_for_resource(resourceArn=arn)["tags"] == []


def test_list_pages(indexed: Any) -> None:
    for i in range(5):
        create(indexed, f"m{i}")
    first = indexed.list_fleet_metrics(maxResults=2)
    assert [m["metricName"] for m in first["fleetMetrics"]] == ["m0", "m1"]
    assert first["fleetMetrics"][0]["metricArn"] == f"{ARN}:fleetmetric/m0"
    second = indexed.list_fleet_metrics(maxResults=2, nextToken=first["nextToken"])
    assert [m["metricName"] for m in second["fleetMetrics"]] == ["m2", "m3"]
    third = indexed.list_fleet_metrics(maxResults=2, nextToken=second["nextToken"])
    assert [m["metricName"] for m in third["fleetMetrics"]] == ["m4"]
    assert "nextToken" not in third
    paginator = indexed.get_paginator("list_fleet_metrics")
    names = [
        m["metricName"]
        for page in paginator.paginate(PaginationConfig={"PageSize": 3})
        for m in page["fleetMetrics"]
    ]
    assert names == [f"m{i}" for i in range(5)]
    with pytest.raises(ClientError) as exc:
        indexed.list_fleet_metrics(nextToken="not-a-token")
    assert code_of(exc) == ("InvalidRequestException", 400)


def test_indexing_cannot_be_turned_off_under_fleet_metrics(indexed: Any) -> None:
    create(indexed)
    with pytest.raises(ClientError) as exc:
        indexed.update_indexing_configuration(
            thingIndexingConfiguration={"thingIndexingMode": "OFF"}
        )
    assert code_of(exc) == ("InvalidRequestException", 400)
    assert "hot" in exc.value.response["Error"]["Message"]
    indexed.delete_fleet_metric(metricName="hot")
    indexed.update_indexing_configuration(thingIndexingConfiguration={"thingIndexingMode": "OFF"})
