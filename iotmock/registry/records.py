"""Records of the thing registry and their indexes.

Other families read them through `registry_of(backend)` (things, thing types, thing and
billing groups, the thing-principal relation) and change them only through the registry's
public functions, which keep the indexes consistent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iotmock.core.backend import Backend
from iotmock.core.paging import SortedIndex, SortedSet


@dataclass(slots=True)
class Thing:
    name: str
    thing_id: str
    arn: str
    thing_type_name: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    version: int = 1
    billing_group_name: str | None = None
    created_at: float = 0.0
    # Static thing groups the thing belongs to, by name.
    group_names: set[str] = field(default_factory=set)


@dataclass(slots=True)
class ThingType:
    name: str
    thing_type_id: str
    arn: str
    description: str | None = None
    searchable_attributes: list[str] = field(default_factory=list)
    mqtt5_configuration: dict[str, Any] | None = None
    deprecated: bool = False
    deprecation_date: float | None = None
    created_at: float = 0.0


@dataclass(slots=True)
class ThingGroup:
    name: str
    group_id: str
    arn: str
    description: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    parent_name: str | None = None
    child_names: set[str] = field(default_factory=set)
    thing_names: SortedSet = field(default_factory=SortedSet)
    version: int = 1
    created_at: float = 0.0
    # Dynamic groups (fleet indexing): a query instead of explicit members.
    query_string: str | None = None
    index_name: str | None = None
    query_version: str | None = None
    status: str | None = None

    @property
    def is_dynamic(self) -> bool:
        return self.query_string is not None


@dataclass(slots=True)
class BillingGroup:
    name: str
    group_id: str
    arn: str
    description: str | None = None
    thing_names: SortedSet = field(default_factory=SortedSet)
    version: int = 1
    created_at: float = 0.0


@dataclass(slots=True)
class RegistryState:
    """The registry of one (account, region)."""

    things: SortedIndex[Thing] = field(default_factory=SortedIndex)
    thing_types: SortedIndex[ThingType] = field(default_factory=SortedIndex)
    thing_groups: SortedIndex[ThingGroup] = field(default_factory=SortedIndex)
    billing_groups: SortedIndex[BillingGroup] = field(default_factory=SortedIndex)
    # thing name -> {principal: thingPrincipalType}; principal -> {thing name: type}.
    thing_principals: dict[str, dict[str, str]] = field(default_factory=dict)
    principal_things: dict[str, dict[str, str]] = field(default_factory=dict)


def registry_of(backend: Backend) -> RegistryState:
    """The registry records of `backend`."""
    return backend.store(RegistryState)
