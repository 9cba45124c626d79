"""Fleet indexing: GetStatistics, GetCardinality, GetPercentiles and
GetBucketsAggregation, through boto3."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import code_of

TEMPS = [10, 20, 30, 40]


@pytest.fixture
def fleet(iot: Any, iot_data: Any) -> Any:
    """Four typed things with temp 10..40; shadows with batt on two; one untyped thing
    without attributes."""
    iot.update_indexing_configuration(
        thingIndexingConfiguration={
            "thingIndexingMode": "REGISTRY_AND_SHADOW",
            "customFields": [
                {"name": "attributes.temp", "type": "Number"},
                {"name": "attributes.zone", "type": "String"},
                {"name": "shadow.reported.batt", "type": "Number"},
                {"name": "shadow.reported.on", "type": "Boolean"},
            ],
        }
    )
    iot.create_thing_type(thingTypeName="sensor")
    for i, temp in enumerate(TEMPS):
        iot.create_thing(
            thingName=f"t{i}",
            thingTypeName="sensor",
            attributePayload={"attributes": {"temp": str(temp), "zone": "a" if i < 3 else "b"}},
        )
    iot.create_thing(thingName="bare")
    for name, batt, on in (("t0", 80, True), ("t1", 40, False), ("t2", 60, True)):
        iot_data.update_thing_shadow(
            thingName=name, payload=json.dumps({"state": {"reported": {"batt": batt, "on": on}}})
        )
    return iot


def test_statistics_of_a_number_field(fleet: Any) -> None:
    stats = fleet.get_statistics(
        queryString="thingTypeName:sensor", aggregationField="attributes.temp"
    )["statistics"]
    assert stats["count"] == 4
    assert stats["sum"] == 100
    assert stats["average"] == 25
    assert stats["minimum"] == 10
    assert stats["maximum"] == 40
    assert stats["sumOfSquares"] == 100 + 400 + 900 + 1600
    assert stats["variance"] == 125
    assert math.isclose(stats["stdDeviation"], math.sqrt(125))


def test_statistics_filter_by_query(fleet: Any) -> None:
    stats = fleet.get_statistics(
        queryString="shadow.reported.batt>50", aggregationField="shadow.reported.batt"
    )["statistics"]
    assert (stats["count"], stats["sum"], stats["minimum"], stats["maximum"]) == (2, 140, 60, 80)


def test_statistics_of_a_string_field_is_a_count(fleet: Any) -> None:
    stats = fleet.get_statistics(queryString="*", aggregationField="thingTypeName")["statistics"]
    assert stats == {"count": 4}


def test_statistics_of_a_boolean_field(fleet: Any) -> None:
    stats = fleet.get_statistics(queryString="*", aggregationField="shadow.reported.on")[
        "statistics"
    ]
    assert (stats["count"], stats["sum"], stats["minimum"], stats["maximum"]) == (3, 2, 0, 1)


def test_statistics_without_a_field_counts_matches(fleet: Any) -> None:
    assert fleet.get_statistics(queryString="*")["statistics"] == {"count": 5}
    assert fleet.get_statistics(queryString="thingName:t*")["statistics"] == {"count": 4}


def test_statistics_when_nothing_matches(fleet: Any) -> None:
    stats = fleet.get_statistics(queryString="thingName:none", aggregationField="attributes.temp")[
        "statistics"
    ]
    assert stats == {"count": 0, "sum": 0.0, "sumOfSquares": 0.0}


def test_cardinality(fleet: Any) -> None:
    assert (
        fleet.get_cardinality(queryString="*", aggregationField="attributes.zone")["cardinality"]
        == 2
    )
    assert fleet.get_cardinality(queryString="*", aggregationField="thingName")["cardinality"] == 5
    assert (
        fleet.get_cardinality(
            queryString="shadow.reported.on:true", aggregationField="shadow.reported.on"
        )["cardinality"]
        == 1
    )
    # No match is a 0, not an error.
    assert (
        fleet.get_cardinality(queryString="thingName:zzz", aggregationField="thingName")[
            "cardinality"
        ]
        == 0
    )


def test_percentiles(fleet: Any) -> None:
    result = fleet.get_percentiles(
        queryString="*", aggregationField="attributes.temp", percents=[0, 50, 100, 25]
    )["percentiles"]
    assert result == [
        {"percent": 0.0, "value": 10.0},
        {"percent": 50.0, "value": 25.0},
        {"percent": 100.0, "value": 40.0},
        {"percent": 25.0, "value": 17.5},
    ]


def test_percentiles_default_groups(fleet: Any) -> None:
    result = fleet.get_percentiles(queryString="*", aggregationField="attributes.temp")[
        "percentiles"
    ]
    assert [p["percent"] for p in result] == [1, 5, 25, 50, 75, 95, 99]
    values = [p["value"] for p in result]
    assert values == sorted(values)
    assert (
        fleet.get_percentiles(queryString="thingName:zzz", aggregationField="attributes.temp")[
            "percentiles"
        ]
        == []
    )


def test_percentiles_limits(fleet: Any) -> None:
    with pytest.raises(ClientError) as exc:
        fleet.get_percentiles(
            queryString="*", aggregationField="attributes.temp", percents=[1.0] * 101
        )
    assert code_of(exc) == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        fleet.get_percentiles(queryString="*", aggregationField="thingName")
    assert code_of(exc) == ("InvalidAggregationException", 400)
    assert "String field" in exc.value.response["Error"]["Message"]


def test_buckets_aggregation(fleet: Any) -> None:
    result = fleet.get_buckets_aggregation(
        queryString="*",
        aggregationField="attributes.zone",
        bucketsAggregationType={"termsAggregation": {"maxBuckets": 5}},
    )
    assert result["totalCount"] == 5
    assert result["buckets"] == [{"keyValue": "a", "count": 3}, {"keyValue": "b", "count": 1}]
    top = fleet.get_buckets_aggregation(
        queryString="*",
        aggregationField="thingName",
        bucketsAggregationType={"termsAggregation": {"maxBuckets": 2}},
    )
    assert top["buckets"] == [{"keyValue": "bare", "count": 1}, {"keyValue": "t0", "count": 1}]
    by_default = fleet.get_buckets_aggregation(
        queryString="*", aggregationField="shadow.reported.on", bucketsAggregationType={}
    )
    assert by_default["buckets"] == [
        {"keyValue": "true", "count": 2},
        {"keyValue": "false", "count": 1},
    ]
    numbers = fleet.get_buckets_aggregation(
        queryString="thingName:t*",
        aggregationField="shadow.reported.batt",
        bucketsAggregationType={"termsAggregation": {"maxBuckets": 10}},
    )
    assert numbers["totalCount"] == 4
    assert [b["keyValue"] for b in numbers["buckets"]] == ["40", "60", "80"]


@pytest.mark.parametrize(
    "call",
    [
        lambda iot: iot.get_statistics(queryString="*", aggregationField="attributes.other"),
        lambda iot: iot.get_cardinality(queryString="*", aggregationField="shadow.reported.x"),
        lambda iot: iot.get_cardinality(queryString="*"),
        lambda iot: iot.get_percentiles(queryString="*", aggregationField="thingId"),
        lambda iot: iot.get_buckets_aggregation(
            queryString="*", aggregationField="nope", bucketsAggregationType={}
        ),
    ],
)
def test_invalid_aggregation_fields(fleet: Any, call: Any) -> None:
    with pytest.raises(ClientError) as exc:
        call(fleet)
    assert code_of(exc) == ("InvalidAggregationException", 400)


def test_aggregations_need_the_index_and_a_valid_query(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.get_statistics(queryString="*")
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    iot.update_indexing_configuration(thingIndexingConfiguration={"thingIndexingMode": "REGISTRY"})
    with pytest.raises(ClientError) as exc:
        iot.get_cardinality(queryString="*abc", aggregationField="thingName")
    assert code_of(exc) == ("InvalidQueryException", 400)


def test_aggregations_on_the_thing_group_index(iot: Any) -> None:
    iot.update_indexing_configuration(
        thingGroupIndexingConfiguration={
            "thingGroupIndexingMode": "ON",
            "customFields": [{"name": "attributes.floor", "type": "Number"}],
        }
    )
    for name, floor in (("g1", "1"), ("g2", "3")):
        iot.create_thing_group(
            thingGroupName=name,
            thingGroupProperties={"attributePayload": {"attributes": {"floor": floor}}},
        )
    stats = iot.get_statistics(
        indexName="AWS_ThingGroups", queryString="*", aggregationField="attributes.floor"
    )["statistics"]
    assert (stats["count"], stats["average"]) == (2, 2)
