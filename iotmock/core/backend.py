"""The state of one AWS account in one region: a container of family stores.

Each family keeps its records in store classes of its own (`registry.records.RegistryState`,
`identity.records.IdentityState`, `jobs.engine.JobsStore`, ...), created on first use and
reached with `backend.store(Kind)` or the family's accessor (`registry_of(backend)`), with
the indexes its relations need so every lookup is O(1) and every list page O(page). Only
what every family shares lives here: the account, the region, ARNs and tags.

Tests may read this state (`IotMock.backend(...)`); changing it by hand is not supported:
go through the API, which keeps the indexes consistent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

S = TypeVar("S")


@dataclass(slots=True)
class Backend:
    """All IoT state of one (account, region)."""

    account_id: str
    region: str

    # resource ARN -> {tag key: value}; see iotmock.core.tagging.
    tags: dict[str, dict[str, str]] = field(default_factory=dict)

    # Family stores, created on first use (see `store`).
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
