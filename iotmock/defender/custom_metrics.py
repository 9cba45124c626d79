"""Device Defender Detect custom metrics: CreateCustomMetric, DescribeCustomMetric,
UpdateCustomMetric, DeleteCustomMetric, ListCustomMetrics.

Security profiles record which of their behaviors use a custom metric (`users`), so a
metric in use cannot be deleted and ListSecurityProfiles(metricName) pages in O(page).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iotmock.core import clock, tagging
from iotmock.core.backend import Backend
from iotmock.core.errors import already_exists, invalid_request, limit_exceeded, not_found
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex, page_of

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


def find_custom_metric(backend: Backend, name: str) -> CustomMetric | None:
    return metric_store(backend).metrics.get(name)


def get_custom_metric(backend: Backend, name: str) -> CustomMetric:
    found = find_custom_metric(backend, name)
    if found is None:
        raise not_found(f"Custom metric {name} does not exist.")
    return found


@tagging.taggable("custommetric")
def _custom_metric_exists(backend: Backend, name: str) -> bool:
    return name in metric_store(backend).metrics


def _description(metric: CustomMetric) -> dict[str, Any]:
    return {
        "metricName": metric.name,
        "metricArn": metric.arn,
        "metricType": metric.metric_type,
        "displayName": metric.display_name,
        "creationDate": metric.created_at,
        "lastModifiedDate": metric.last_modified_at,
    }


@operation("iot", "CreateCustomMetric")
def create_custom_metric(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    metrics = metric_store(backend).metrics
    name = params["metricName"]
    if name.lower().startswith("aws:"):
        raise invalid_request(f"Custom metric name {name} cannot begin with aws:.")
    token = params["clientRequestToken"]
    existing = metrics.get(name)
    if existing is not None:
        # A retry with the same client request token and definition is idempotent.
        if existing.client_request_token == token and existing.metric_type == params["metricType"]:
            return {"metricName": name, "metricArn": existing.arn}
        raise already_exists(f"Custom metric {name} already exists.", name, existing.arn)
    if len(metrics) >= MAX_CUSTOM_METRICS:
        raise limit_exceeded(
            f"An account can have at most {MAX_CUSTOM_METRICS} custom metrics in a region."
        )
    now = clock.now()
    metric = CustomMetric(
        name=name,
        arn=backend.arn(f"custommetric/{name}"),
        metric_type=params["metricType"],
        display_name=params.get("displayName"),
        client_request_token=token,
        created_at=now,
        last_modified_at=now,
    )
    tagging.tag_on_create(backend, metric.arn, params.get("tags"))
    metrics[name] = metric
    return {"metricName": name, "metricArn": metric.arn}


@operation("iot", "DescribeCustomMetric")
def describe_custom_metric(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return _description(get_custom_metric(ctx.backend, params["metricName"]))


@operation("iot", "UpdateCustomMetric")
def update_custom_metric(ctx: RequestContext, params: Params) -> dict[str, Any]:
    metric = get_custom_metric(ctx.backend, params["metricName"])
    metric.display_name = params["displayName"]
    metric.last_modified_at = clock.now()
    return _description(metric)


@operation("iot", "DeleteCustomMetric")
def delete_custom_metric(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = metric_store(ctx.backend)
    name = params["metricName"]
    users = store.users.get(name)
    if users:
        raise invalid_request(
            f"Custom metric {name} is used by security profiles ({', '.join(users)}). "
            "Remove it from every security profile before deleting it."
        )
    # The model lists no ResourceNotFoundException: deleting a missing metric succeeds.
    metric = store.metrics.pop(name)
    if metric is not None:
        tagging.drop(ctx.backend, metric.arn)
    return {}


@operation("iot", "ListCustomMetrics")
def list_custom_metrics(ctx: RequestContext, params: Params) -> dict[str, Any]:
    page, token = page_of(
        "ListCustomMetrics",
        metric_store(ctx.backend).metrics,
        params,
        default_limit=DEFAULT_PAGE_SIZE,
    )
    return {"metricNames": [m.name for m in page], "nextToken": token}
