"""Fleet metrics: CreateFleetMetric, DescribeFleetMetric, UpdateFleetMetric,
DeleteFleetMetric, ListFleetMetrics.

A fleet metric is a stored aggregation query over a fleet index that AWS runs every
`period` seconds and sends to CloudWatch. The mock stores and validates fleet metrics
exactly as AWS does but never emits CloudWatch metrics (there is no CloudWatch here);
run the same aggregation with GetStatistics / GetPercentiles / GetCardinality to see the
value a metric would report.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from iotmock.core import crud
from iotmock.core.errors import invalid_request
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex
from iotmock.indexing.aggregate import STATISTICS, aggregation_type, invalid_aggregation
from iotmock.indexing.config import QUERY_VERSION, check_query_version
from iotmock.indexing.documents import open_view
from iotmock.indexing.query import parse
from iotmock.registry.things import check_expected_version

# Per aggregation type: the field types it can aggregate and the values it accepts.
_FIELD_TYPES = {
    "Statistics": ("Number", "String", "Boolean"),
    "Percentiles": ("Number",),
    "Cardinality": ("String", "Number", "Boolean"),
}


@dataclass(slots=True)
class FleetMetric:
    name: str
    arn: str
    query_string: str
    aggregation_type: dict[str, Any]
    period: int
    aggregation_field: str
    index_name: str
    query_version: str = QUERY_VERSION
    description: str | None = None
    unit: str | None = None
    created_at: float = 0.0
    last_modified_at: float = 0.0
    version: int = 1


@dataclass(slots=True)
class FleetMetricStore:
    metrics: SortedIndex[FleetMetric] = field(default_factory=SortedIndex)


def _check_aggregation_values(aggregation: dict[str, Any]) -> None:
    name = aggregation["name"]
    values = aggregation.get("values") or []
    if name == "Statistics":
        wrong = [v for v in values if v not in STATISTICS]
        if wrong:
            raise invalid_request(
                f"Invalid Statistics values {wrong}: use any of {', '.join(STATISTICS)}."
            )
    elif name == "Cardinality":
        if any(v != "cardinality" for v in values):
            raise invalid_request("The only value of the Cardinality aggregation is cardinality.")
    else:
        for value in values:
            if not value.isdigit() or int(value) > 100:
                raise invalid_request(
                    f"Invalid Percentiles value {value}: percentiles are integers 0 to 100."
                )


def _check(ctx: RequestContext, metric: FleetMetric) -> None:
    """What AWS checks of a new or updated fleet metric: period, index, query,
    aggregation field and aggregation type (in that order)."""
    if metric.period % 60:
        raise invalid_request(
            f"The period {metric.period} is not a multiple of 60 seconds (60 to 86400)."
        )
    check_query_version(metric.query_version)
    view = open_view(ctx.backend, metric.index_name)
    parse(metric.query_string)
    _check_aggregation_values(metric.aggregation_type)
    kind = metric.aggregation_type["name"]
    declared = aggregation_type(view, metric.aggregation_field, allowed=_FIELD_TYPES[kind])
    values = metric.aggregation_type.get("values") or []
    if declared == "String" and kind == "Statistics" and set(values) - {"count"}:
        raise invalid_aggregation(
            f"{metric.aggregation_field} is a String field: only the count statistic applies."
        )


def _aggregation(value: dict[str, Any]) -> dict[str, Any]:
    return {"name": value["name"], "values": list(value.get("values") or [])}


def _description(metric: FleetMetric) -> dict[str, Any]:
    return {
        "metricName": metric.name,
        "queryString": metric.query_string,
        "aggregationType": _aggregation(metric.aggregation_type),
        "period": metric.period,
        "aggregationField": metric.aggregation_field,
        "description": metric.description,
        "queryVersion": metric.query_version,
        "indexName": metric.index_name,
        "creationDate": metric.created_at,
        "lastModifiedDate": metric.last_modified_at,
        "unit": metric.unit,
        "version": metric.version,
        "metricArn": metric.arn,
    }


FLEET_METRICS: crud.ResourceKind[FleetMetric] = crud.ResourceKind(
    label="Fleet metric",
    arn_type="fleetmetric",
    index=lambda backend: backend.store(FleetMetricStore).metrics,
    describe=_description,
    summary=lambda metric: {"metricName": metric.name, "metricArn": metric.arn},
    list_member="fleetMetrics",
    missing="The fleet metric {name} does not exist.",
)


@operation("iot", "CreateFleetMetric")
def create_fleet_metric(ctx: RequestContext, params: Params) -> dict[str, Any]:
    def build(arn: str, now: float) -> FleetMetric:
        metric = FleetMetric(
            name=params["metricName"],
            arn=arn,
            query_string=params["queryString"],
            aggregation_type=_aggregation(params["aggregationType"]),
            period=params["period"],
            aggregation_field=params["aggregationField"],
            index_name=params.get("indexName") or "AWS_Things",
            query_version=params.get("queryVersion") or QUERY_VERSION,
            description=params.get("description"),
            unit=params.get("unit"),
            created_at=now,
            last_modified_at=now,
        )
        _check(ctx, metric)
        return metric

    metric = crud.create(
        FLEET_METRICS, ctx.backend, params["metricName"], build, params.get("tags")
    )
    return {"metricName": metric.name, "metricArn": metric.arn}


@operation("iot", "DescribeFleetMetric")
def describe_fleet_metric(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return crud.describe(FLEET_METRICS, ctx.backend, params["metricName"])


# UpdateFleetMetric request members -> FleetMetric attributes.
_UPDATABLE = {
    "queryString": "query_string",
    "period": "period",
    "aggregationField": "aggregation_field",
    "description": "description",
    "queryVersion": "query_version",
    "indexName": "index_name",
    "unit": "unit",
}


def _check_version(metric: FleetMetric, params: Params) -> None:
    check_expected_version(
        "fleet metric", metric.name, metric.version, params.get("expectedVersion")
    )


@operation("iot", "UpdateFleetMetric")
def update_fleet_metric(ctx: RequestContext, params: Params) -> dict[str, Any]:
    metric = FLEET_METRICS.get(ctx.backend, params["metricName"])
    _check_version(metric, params)
    changes = crud.changes(params, _UPDATABLE)
    if "aggregationType" in params:
        changes["aggregation_type"] = _aggregation(params["aggregationType"])
    # Validate the updated metric as a whole before changing the stored one.
    _check(ctx, dataclasses.replace(metric, **changes))
    metric.version += 1
    crud.apply(metric, changes)
    return {}


@operation("iot", "DeleteFleetMetric")
def delete_fleet_metric(ctx: RequestContext, params: Params) -> dict[str, Any]:
    # Deleting a missing fleet metric succeeds (API:DeleteFleetMetric).
    crud.discard(
        FLEET_METRICS,
        ctx.backend,
        params["metricName"],
        check=lambda metric: _check_version(metric, params),
    )
    return {}


@operation("iot", "ListFleetMetrics")
def list_fleet_metrics(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return crud.list_page(FLEET_METRICS, ctx, params)
