"""Fleet indexing: the query language, index documents built from the registry, shadows
and connectivity, aggregations, and dynamic thing-group membership."""

from __future__ import annotations

from iotmock.indexing.membership import dynamic_groups_of, dynamic_members

__all__ = ["dynamic_groups_of", "dynamic_members"]
