"""Device Defender Detect dimensions: CreateDimension, DescribeDimension,
UpdateDimension, DeleteDimension, ListDimensions.

A TOPIC_FILTER dimension scopes a message metric to MQTT topics matching its filters.
Security profiles record which of them use a dimension (`users`), so a dimension in use
cannot be deleted and ListSecurityProfiles(dimensionName) pages in O(page).
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
from iotmock.messaging.log import topic_matches

# AWS IoT Device Defender quota: dimensions per account and region.
MAX_DIMENSIONS = 100


@dataclass(slots=True)
class Dimension:
    name: str
    arn: str
    dimension_type: str
    string_values: list[str]
    client_request_token: str
    created_at: float
    last_modified_at: float

    def matches(self, topic: str) -> bool:
        """Whether `topic` matches one of the dimension's topic filters."""
        return any(topic_matches(value, topic) for value in self.string_values)


@dataclass(slots=True)
class DimensionStore:
    dimensions: SortedIndex[Dimension] = field(default_factory=SortedIndex)
    # dimension name -> names of the security profiles that use it.
    users: dict[str, SortedIndex[str]] = field(default_factory=dict)


def dimension_store(backend: Backend) -> DimensionStore:
    return backend.store(DimensionStore)


def _check_values(values: list[str]) -> None:
    for value in values:
        if not value:
            raise invalid_request(
                "A TOPIC_FILTER dimension value must be a non-empty topic filter."
            )
        levels = value.split("/")
        for position, level in enumerate(levels):
            wildcard_misplaced = "#" in level and (level != "#" or position != len(levels) - 1)
            if wildcard_misplaced or ("+" in level and level != "+"):
                raise invalid_request(f"{value} is not a valid MQTT topic filter.")


def _description(dimension: Dimension) -> dict[str, Any]:
    return {
        "name": dimension.name,
        "arn": dimension.arn,
        "type": dimension.dimension_type,
        "stringValues": dimension.string_values,
        "creationDate": dimension.created_at,
        "lastModifiedDate": dimension.last_modified_at,
    }


DIMENSIONS: crud.ResourceKind[Dimension] = crud.ResourceKind(
    label="Dimension",
    arn_type="dimension",
    index=lambda backend: dimension_store(backend).dimensions,
    describe=_description,
    summary=lambda dimension: dimension.name,
    list_member="dimensionNames",
    quota=MAX_DIMENSIONS,
)
find_dimension = DIMENSIONS.find
get_dimension = DIMENSIONS.get


@operation("iot", "CreateDimension")
def create_dimension(ctx: RequestContext, params: Params) -> dict[str, Any]:
    name = params["name"]
    token = params["clientRequestToken"]

    def build(arn: str, now: float) -> Dimension:
        _check_values(params["stringValues"])
        return Dimension(
            name=name,
            arn=arn,
            dimension_type=params["type"],
            string_values=list(params["stringValues"]),
            client_request_token=token,
            created_at=now,
            last_modified_at=now,
        )

    def retry(existing: Dimension) -> bool:
        # A retry with the same client request token and definition is idempotent.
        return (
            existing.client_request_token == token
            and existing.dimension_type == params["type"]
            and existing.string_values == list(params["stringValues"])
        )

    dimension = crud.create(DIMENSIONS, ctx.backend, name, build, params.get("tags"), retry=retry)
    return {"name": name, "arn": dimension.arn}


@operation("iot", "DescribeDimension")
def describe_dimension(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return crud.describe(DIMENSIONS, ctx.backend, params["name"])


@operation("iot", "UpdateDimension")
def update_dimension(ctx: RequestContext, params: Params) -> dict[str, Any]:
    dimension = get_dimension(ctx.backend, params["name"])
    _check_values(params["stringValues"])
    crud.apply(dimension, {"string_values": list(params["stringValues"])})
    return _description(dimension)


@operation("iot", "DeleteDimension")
def delete_dimension(ctx: RequestContext, params: Params) -> dict[str, Any]:
    name = params["name"]
    check_unused(DIMENSIONS.label, name, dimension_store(ctx.backend).users.get(name))
    # The model lists no ResourceNotFoundException: deleting a missing dimension succeeds.
    crud.discard(DIMENSIONS, ctx.backend, name)
    return {}


@operation("iot", "ListDimensions")
def list_dimensions(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return crud.list_page(DIMENSIONS, ctx, params)
