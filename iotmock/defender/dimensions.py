"""Device Defender Detect dimensions: CreateDimension, DescribeDimension,
UpdateDimension, DeleteDimension, ListDimensions.

A TOPIC_FILTER dimension scopes a message metric to MQTT topics matching its filters.
Security profiles record which of them use a dimension (`users`), so a dimension in use
cannot be deleted and ListSecurityProfiles(dimensionName) pages in O(page).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iotmock.core import clock, tagging
from iotmock.core.backend import Backend
from iotmock.core.errors import already_exists, invalid_request, limit_exceeded, not_found
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex, page_of
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


def find_dimension(backend: Backend, name: str) -> Dimension | None:
    return dimension_store(backend).dimensions.get(name)


def get_dimension(backend: Backend, name: str) -> Dimension:
    found = find_dimension(backend, name)
    if found is None:
        raise not_found(f"Dimension {name} does not exist.")
    return found


@tagging.taggable("dimension")
def _dimension_exists(backend: Backend, name: str) -> bool:
    return name in dimension_store(backend).dimensions


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


@operation("iot", "CreateDimension")
def create_dimension(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    dimensions = dimension_store(backend).dimensions
    name = params["name"]
    token = params["clientRequestToken"]
    existing = dimensions.get(name)
    if existing is not None:
        # A retry with the same client request token and definition is idempotent.
        same = (
            existing.client_request_token == token
            and existing.dimension_type == params["type"]
            and existing.string_values == params["stringValues"]
        )
        if same:
            return {"name": name, "arn": existing.arn}
        raise already_exists(f"Dimension {name} already exists.", name, existing.arn)
    if len(dimensions) >= MAX_DIMENSIONS:
        raise limit_exceeded(
            f"An account can have at most {MAX_DIMENSIONS} dimensions in a region."
        )
    _check_values(params["stringValues"])
    now = clock.now()
    dimension = Dimension(
        name=name,
        arn=backend.arn(f"dimension/{name}"),
        dimension_type=params["type"],
        string_values=list(params["stringValues"]),
        client_request_token=token,
        created_at=now,
        last_modified_at=now,
    )
    tagging.tag_on_create(backend, dimension.arn, params.get("tags"))
    dimensions[name] = dimension
    return {"name": name, "arn": dimension.arn}


@operation("iot", "DescribeDimension")
def describe_dimension(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return _description(get_dimension(ctx.backend, params["name"]))


@operation("iot", "UpdateDimension")
def update_dimension(ctx: RequestContext, params: Params) -> dict[str, Any]:
    dimension = get_dimension(ctx.backend, params["name"])
    _check_values(params["stringValues"])
    dimension.string_values = list(params["stringValues"])
    dimension.last_modified_at = clock.now()
    return _description(dimension)


@operation("iot", "DeleteDimension")
def delete_dimension(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = dimension_store(ctx.backend)
    name = params["name"]
    users = store.users.get(name)
    if users:
        raise invalid_request(
            f"Dimension {name} is used by security profiles ({', '.join(users)}). "
            "Remove it from every security profile before deleting it."
        )
    # The model lists no ResourceNotFoundException: deleting a missing dimension succeeds.
    dimension = store.dimensions.pop(name)
    if dimension is not None:
        tagging.drop(ctx.backend, dimension.arn)
    return {}


@operation("iot", "ListDimensions")
def list_dimensions(ctx: RequestContext, params: Params) -> dict[str, Any]:
    page, token = page_of("ListDimensions", dimension_store(ctx.backend).dimensions, params)
    return {"dimensionNames": [d.name for d in page], "nextToken": token}
