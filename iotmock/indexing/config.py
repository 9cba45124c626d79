"""The fleet-indexing configuration of one account and region, and the types of the
fields it makes searchable and aggregatable (managed fields plus custom fields).

The mock's indexes are ACTIVE the moment they are enabled: documents are built from the
current registry, shadow and connectivity state on every query, so there is no BUILDING
phase and IndexNotReadyException is never answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iotmock.core.errors import ServiceError, invalid_request, not_found

THINGS_INDEX = "AWS_Things"
THING_GROUPS_INDEX = "AWS_ThingGroups"
QUERY_VERSION = "2017-09-30"

Fields = dict[str, str]  # field name -> "String" | "Number" | "Boolean"

# Managed fields (AWS IoT developer guide, "Managing thing indexing" / "Managed fields").
REGISTRY_FIELDS: Fields = {
    "thingId": "String",
    "thingName": "String",
    "registry.version": "Number",
    "thingTypeName": "String",
    "thingGroupNames": "String",
}
SHADOW_FIELDS: Fields = {"shadow.version": "Number", "shadow.hasDelta": "Boolean"}
CONNECTIVITY_FIELDS: Fields = {
    "connectivity.timestamp": "Number",
    "connectivity.version": "Number",
    "connectivity.connected": "Boolean",
    "connectivity.disconnectReason": "String",
}
DEVICE_DEFENDER_FIELDS: Fields = {"deviceDefender.violationCount": "Number"}
NAMED_SHADOW_FIELDS: Fields = {
    "shadow.name.*.version": "Number",
    "shadow.name.*.hasDelta": "Boolean",
}
THING_GROUP_FIELDS: Fields = {
    "thingGroupName": "String",
    "thingGroupId": "String",
    "thingGroupDescription": "String",
    "parentGroupNames": "String",
    "version": "Number",
}

MAX_CUSTOM_FIELDS = 5  # spec §11
MAX_NAMED_SHADOW_NAMES = 10  # the documented default quota of the namedShadowNames filter
MAX_GEO_LOCATIONS = 1  # the documented default quota of the geoLocations filter


@dataclass(slots=True)
class IndexingStore:
    """UpdateIndexingConfiguration's state, plus the names of the dynamic thing groups
    (so a thing's dynamic memberships are found without scanning every group)."""

    thing_mode: str = "OFF"
    connectivity_mode: str = "OFF"
    device_defender_mode: str = "OFF"
    named_shadow_mode: str = "OFF"
    named_shadow_names: list[str] = field(default_factory=list)
    geo_locations: list[dict[str, Any]] = field(default_factory=list)
    # filter.connectivity.includeSocketInformation (botocore 1.44+): the APIs that may
    # answer socket information; today only GET_THING_CONNECTIVITY_DATA.
    socket_information_apis: list[str] = field(default_factory=list)
    thing_custom_fields: Fields = field(default_factory=dict)
    group_mode: str = "OFF"
    group_custom_fields: Fields = field(default_factory=dict)
    dynamic_groups: set[str] = field(default_factory=set)

    @property
    def things_enabled(self) -> bool:
        return self.thing_mode != "OFF"

    @property
    def shadows_enabled(self) -> bool:
        return self.thing_mode == "REGISTRY_AND_SHADOW"

    @property
    def connectivity_enabled(self) -> bool:
        return self.things_enabled and self.connectivity_mode == "STATUS"

    @property
    def named_shadows_enabled(self) -> bool:
        return self.things_enabled and self.named_shadow_mode == "ON"

    @property
    def groups_enabled(self) -> bool:
        return self.group_mode == "ON"

    def thing_managed_fields(self) -> Fields:
        if not self.things_enabled:
            return {}
        fields = dict(REGISTRY_FIELDS)
        if self.shadows_enabled:
            fields.update(SHADOW_FIELDS)
        if self.connectivity_enabled:
            fields.update(CONNECTIVITY_FIELDS)
        if self.device_defender_mode == "VIOLATIONS":
            fields.update(DEVICE_DEFENDER_FIELDS)
        if self.named_shadows_enabled:
            fields.update(NAMED_SHADOW_FIELDS)
        return fields

    def group_managed_fields(self) -> Fields:
        return dict(THING_GROUP_FIELDS) if self.groups_enabled else {}

    def indexes(self) -> list[str]:
        """The names of the indexes that exist (enabled), in name order."""
        found = []
        if self.things_enabled:
            found.append(THINGS_INDEX)
        if self.groups_enabled:
            found.append(THING_GROUPS_INDEX)
        return sorted(found)


def index_missing(index_name: str) -> ServiceError:
    return not_found(
        f"Index '{index_name}' does not exist. Enable it with UpdateIndexingConfiguration "
        "(thingIndexingMode for AWS_Things, thingGroupIndexingMode for AWS_ThingGroups)."
    )


def check_index(store: IndexingStore, index_name: str | None) -> str:
    """The name of an existing index (default AWS_Things), or ResourceNotFoundException."""
    name = index_name or THINGS_INDEX
    if name not in store.indexes():
        raise index_missing(name)
    return name


def _named_shadow_key(name: str) -> str:
    """`shadow.name.<n>.version` -> `shadow.name.*.version` (the managed-field form)."""
    parts = name.split(".")
    if len(parts) == 4 and parts[:2] == ["shadow", "name"]:
        return f"shadow.name.*.{parts[3]}"
    return name


def field_type(store: IndexingStore, index_name: str, name: str) -> str | None:
    """The declared type of a field of an index: a managed or custom field's type, else
    None (the field is searchable when present in documents, but not aggregatable)."""
    if index_name == THING_GROUPS_INDEX:
        return store.group_managed_fields().get(name) or store.group_custom_fields.get(name)
    managed = store.thing_managed_fields()
    return (
        managed.get(name)
        or managed.get(_named_shadow_key(name))
        or store.thing_custom_fields.get(name)
    )


def check_query_version(version: str | None) -> None:
    """Only query version 2017-09-30 exists (the default when omitted)."""
    if version is not None and version != QUERY_VERSION:
        raise invalid_request(
            f"Query version {version} is not supported; the only query version is {QUERY_VERSION}."
        )
