"""Device Defender Detect custom metrics: CreateCustomMetric, DescribeCustomMetric,
UpdateCustomMetric, DeleteCustomMetric, ListCustomMetrics.

Security profiles record which of their behaviors use a custom metric (`users`), so a
metric in use cannot be deleted and ListSecurityProfiles(metricName) pages in O(page).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iotmock.core import crud
from iotmock.core.backend import Backend
from iotmock.core.errors import invalid_request
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex
from iotmock.defender.in_use import check_unused

# AWS IoT Device Defender quota: custom metrics per account and region.
MAX_CUSTOM_METRICS = 100
DEFAULT_PAGE_SIZE = 25


@dataclass(slots=True)
class CustomMetric:
    name: str
    arn: str
    metric_type: str
    display_name: str | None
    client_request_token: str
    created_at: float
    last_modified_at: float


@dataclass(slots=True)
class CustomMetricStore:
    metrics: SortedIndex[CustomMetric] = field(default_factory=SortedIndex)
    # metric name -> names of the security profiles that use it (kept by security_profiles).
    users: dict[str, SortedIndex[str]] = field(default_factory=dict)


def metric_store(backend: Backend) -> CustomMetricStore:
    return backend.store(CustomMetricStore)


def _description(metric: CustomMetric) -> dict[str, Any]:
    return {
        "metricName": metric.name,
        "metricArn": metric.arn,
        "metricType": metric.metric_type,
        "displayName": metric.display_name,
        "creationDate": metric.created_at,
        "lastModifiedDate": metric.last_modified_at,
    }


CUSTOM_METRICS: crud.ResourceKind[CustomMetric] = crud.ResourceKind(
    label="Custom metric",
    arn_type="custommetric",
    index=lambda backend: metric_store(backend).metrics,
    describe=_description,
    summary=lambda metric: metric.name,
    list_member="metricNames",
    page_size=DEFAULT_PAGE_SIZE,
    quota=MAX_CUSTOM_METRICS,
)
find_custom_metric = CUSTOM_METRICS.find
get_custom_metric = CUSTOM_METRICS.get


@operation("iot", "CreateCustomMetric")
def create_custom_metric(ctx: RequestContext, params: Params) -> dict[str, Any]:
    name = params["metricName"]
    if name.lower().startswith("aws:"):
        raise invalid_request(f"Custom metric name {name} cannot begin with aws:.")
    token = params["clientRequestToken"]

    def build(arn: str, now: float) -> CustomMetric:
        return CustomMetric(
            name=name,
            arn=arn,
            metric_type=params["metricType"],
            display_name=params.get("displayName"),
            client_request_token=token,
            created_at=now,
            last_modified_at=now,
        )

    metric = crud.create(
        CUSTOM_METRICS,
        ctx.backend,
        name,
        build,
        params.get("tags"),
        # A retry with the same client request token and definition is idempotent.
        retry=lambda m: m.client_request_token == token and m.metric_type == params["metricType"],
    )
    return {"metricName": name, "metricArn": metric.arn}


@operation("iot", "DescribeCustomMetric")
def describe_custom_metric(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return crud.describe(CUSTOM_METRICS, ctx.backend, params["metricName"])


@operation("iot", "UpdateCustomMetric")
def update_custom_metric(ctx: RequestContext, params: Params) -> dict[str, Any]:
    metric = get_custom_metric(ctx.backend, params["metricName"])
    crud.apply(metric, {"display_name": params["displayName"]})
    return _description(metric)


@operation("iot", "DeleteCustomMetric")
def delete_custom_metric(ctx: RequestContext, params: Params) -> dict[str, Any]:
    name = params["metricName"]
    check_unused(CUSTOM_METRICS.label, name, metric_store(ctx.backend).users.get(name))
    # The model lists no ResourceNotFoundException: deleting a missing metric succeeds.
    crud.discard(CUSTOM_METRICS, ctx.backend, name)
    return {}


@operation("iot", "ListCustomMetrics")
def list_custom_metrics(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return crud.list_page(CUSTOM_METRICS, ctx, params)
