"""Typed state of one AWS account in one region.

The records shared by several resource families live here (things, thing types, groups,
billing groups, certificates and the thing-principal relation) with the indexes their
relations need, so every lookup is O(1) and every list page O(page). A family's private
records live in its own module and hang off the backend through `Backend.store(Kind)`.

Tests may read this state (`IotMock.backend(...)`); changing it by hand is not supported:
go through the API, which keeps the indexes consistent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from iotmock.core.paging import SortedIndex, SortedSet

S = TypeVar("S")


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
class Certificate:
    """A device certificate (AWS-issued or registered)."""

    certificate_id: str
    arn: str
    pem: str
    status: str
    created_at: float
    last_modified_at: float
    ca_certificate_id: str | None = None
    owned_by: str = ""
    previous_owned_by: str | None = None
    customer_version: int = 1
    generation_id: str = ""
    not_before: float = 0.0
    not_after: float = 0.0
    certificate_mode: str = "DEFAULT"
    transfer_data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class PolicyVersion:
    version_id: str
    document: str
    created_at: float


@dataclass(slots=True)
class Policy:
    """An IoT policy: up to five versions, one of them the default."""

    name: str
    arn: str
    versions: dict[str, PolicyVersion] = field(default_factory=dict)
    default_version_id: str = "1"
    # The highest version id issued so far: ids are never reused after deletion.
    last_version_id: int = 1
    created_at: float = 0.0
    last_modified_at: float = 0.0
    generation_id: str = ""

    @property
    def default_version(self) -> PolicyVersion:
        return self.versions[self.default_version_id]


@dataclass(slots=True)
class Backend:
    """All IoT state of one (account, region)."""

    account_id: str
    region: str

    things: SortedIndex[Thing] = field(default_factory=SortedIndex)
    thing_types: SortedIndex[ThingType] = field(default_factory=SortedIndex)
    thing_groups: SortedIndex[ThingGroup] = field(default_factory=SortedIndex)
    billing_groups: SortedIndex[BillingGroup] = field(default_factory=SortedIndex)
    certificates: SortedIndex[Certificate] = field(default_factory=SortedIndex)

    # thing name -> {principal: thingPrincipalType}; principal -> {thing name: type}.
    thing_principals: dict[str, dict[str, str]] = field(default_factory=dict)
    principal_things: dict[str, dict[str, str]] = field(default_factory=dict)

    policies: SortedIndex[Policy] = field(default_factory=SortedIndex)
    # policy name -> targets (certificate ARNs, thing-group ARNs, Cognito identity ids)
    # and target -> policy names; dicts used as insertion-ordered sets.
    policy_targets: dict[str, dict[str, None]] = field(default_factory=dict)
    target_policies: dict[str, dict[str, None]] = field(default_factory=dict)

    # resource ARN -> {tag key: value}; see iotmock.core.tagging.
    tags: dict[str, dict[str, str]] = field(default_factory=dict)

    # Family-private stores, created on first use (see `store`).
    _stores: dict[type, Any] = field(default_factory=dict, repr=False)

    def store(self, kind: type[S]) -> S:
        """The store of type `kind` of this backend (created empty on first use)."""
        found = self._stores.get(kind)
        if found is None:
            found = self._stores[kind] = kind()
        return found

    def arn(self, resource: str, service: str = "iot") -> str:
        """`arn:aws:<service>:<region>:<account>:<resource>`."""
        return f"arn:{partition(self.region)}:{service}:{self.region}:{self.account_id}:{resource}"


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"
