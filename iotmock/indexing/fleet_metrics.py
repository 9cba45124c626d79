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

from iotmock.core import clock, tagging
from iotmock.core.backend import Backend
from iotmock.core.errors import already_exists, invalid_request, not_found
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex, page_of
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


@tagging.taggable("fleetmetric")
def _fleet_metric_exists(backend: Backend, name: str) -> bool:
    return name in backend.store(FleetMetricStore).metrics


def _get(backend: Backend, name: str) -> FleetMetric:
    metric = backend.store(FleetMetricStore).metrics.get(name)
    if metric is None:
        raise not_found(f"The fleet metric {name} does not exist.")
    return metric


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


@operation("iot", "CreateFleetMetric")
def create_fleet_metric(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    metrics = backend.store(FleetMetricStore).metrics
    name = params["metricName"]
    arn = backend.arn(f"fleetmetric/{name}")
    existing = metrics.get(name)
    if existing is not None:
        raise already_exists(f"Fleet metric {name} already exists.", name, existing.arn)
    now = clock.now()
    metric = FleetMetric(
        name=name,
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
    tagging.tag_on_create(backend, arn, params.get("tags"))
    metrics[name] = metric
    return {"metricName": name, "metricArn": arn}


@operation("iot", "DescribeFleetMetric")
def describe_fleet_metric(ctx: RequestContext, params: Params) -> dict[str, Any]:
    metric = _get(ctx.backend, params["metricName"])
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


@operation("iot", "UpdateFleetMetric")
def update_fleet_metric(ctx: RequestContext, params: Params) -> dict[str, Any]:
    metric = _get(ctx.backend, params["metricName"])
    check_expected_version(
        "fleet metric", metric.name, metric.version, params.get("expectedVersion")
    )
    changes = {attr: params[member] for member, attr in _UPDATABLE.items() if member in params}
    if "aggregationType" in params:
        changes["aggregation_type"] = _aggregation(params["aggregationType"])
    # Validate the updated metric as a whole before changing the stored one.
    _check(ctx, dataclasses.replace(metric, **changes))
    for attr, value in changes.items():
        setattr(metric, attr, value)
    metric.version += 1
    metric.last_modified_at = clock.now()
    return {}


@operation("iot", "DeleteFleetMetric")
def delete_fleet_metric(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    metrics = backend.store(FleetMetricStore).metrics
    name = params["metricName"]
    metric = metrics.get(name)
    if metric is None:
        return {}  # deleting a missing fleet metric succeeds (API:DeleteFleetMetric)
    check_expected_version("fleet metric", name, metric.version, params.get("expectedVersion"))
    metrics.pop(name)
    tagging.drop(backend, metric.arn)
    return {}


@operation("iot", "ListFleetMetrics")
def list_fleet_metrics(ctx: RequestContext, params: Params) -> dict[str, Any]:
    metrics = ctx.backend.store(FleetMetricStore).metrics
    page, token = page_of("ListFleetMetrics", metrics, params)
    return {
        "fleetMetrics": [{"metricName": m.name, "metricArn": m.arn} for m in page],
        "nextToken": token,
    }
