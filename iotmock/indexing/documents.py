"""Index documents, built on the fly from the registry, the shadow store and the
connectivity store (so the index is always current: the mock has no indexing delay).

A thing's document has the fields of the AWS developer guide ("Managing thing indexing"):
thingName, thingId, thingTypeName, thingGroupNames (static groups and the billing group),
attributes.<name>, registry.version; with REGISTRY_AND_SHADOW the classic shadow as
shadow.reported.<path>, shadow.desired.<path>, shadow.delta.<path>,
shadow.metadata.<path>, shadow.version and shadow.hasDelta; with named-shadow indexing
the selected named shadows as shadow.name.<shadow>.<same fields>; with connectivity
indexing connectivity.connected / timestamp (ms) / disconnectReason / version.
Only simple shadow values are indexed (scalars and arrays of scalars; null is not).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from iotmock.core.backend import Backend
from iotmock.indexing.config import THING_GROUPS_INDEX, IndexingStore, check_index, field_type
from iotmock.indexing.connectivity import ConnectivityStore, session_details, status_of
from iotmock.indexing.query import Node, Scalar, matches
from iotmock.registry.records import Thing, ThingGroup, registry_of
from iotmock.shadows.document import ShadowDocument, delta_of, shadows_of

Fields = dict[str, list[Scalar]]


def _flatten(prefix: str, value: Any, out: Fields) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _flatten(f"{prefix}.{key}", child, out)
    elif isinstance(value, list):
        scalars = [v for v in value if isinstance(v, (str, int, float, bool))]
        if scalars:
            out.setdefault(prefix, []).extend(scalars)
    elif isinstance(value, (str, int, float, bool)):
        out.setdefault(prefix, []).append(value)


def _shadow_fields(prefix: str, shadow: ShadowDocument, out: Fields) -> None:
    for section in ("desired", "reported"):
        if section in shadow.state:
            _flatten(f"{prefix}.{section}", shadow.state[section], out)
    delta = delta_of(shadow)
    if delta is not None:
        _flatten(f"{prefix}.delta", delta, out)
    _flatten(f"{prefix}.metadata", shadow.metadata, out)
    out[f"{prefix}.version"] = [shadow.version]
    out[f"{prefix}.hasDelta"] = [delta is not None]


def _shadow_json(shadow: ShadowDocument) -> dict[str, Any]:
    """A shadow as the `shadow` member of a ThingDocument shows it."""
    document: dict[str, Any] = {
        k: shadow.state[k] for k in ("desired", "reported") if k in shadow.state
    }
    delta = delta_of(shadow)
    if delta is not None:
        document["delta"] = delta
    document["metadata"] = shadow.metadata
    document["version"] = shadow.version
    # Indexed as shadow.hasDelta / shadow.name.<shadow>.hasDelta, and shown in the document.
    document["hasDelta"] = delta is not None
    return document


@dataclass(slots=True)
class IndexView:
    """One index of one backend as a query sees it."""

    backend: Backend
    store: IndexingStore
    index: str

    def field_type(self, name: str) -> str | None:
        return field_type(self.store, self.index, name)

    @property
    def is_groups(self) -> bool:
        return self.index == THING_GROUPS_INDEX

    # -- documents

    def _shadows(self, thing_name: str) -> Iterator[tuple[str | None, ShadowDocument]]:
        """The indexed shadows of a thing: classic (None) and the selected named ones."""
        shadows = shadows_of(self.backend)
        if self.store.shadows_enabled:
            classic = shadows.get(thing_name, None)
            if classic is not None:
                yield None, classic
        if self.store.named_shadows_enabled:
            for name in self.store.named_shadow_names:
                named = shadows.get(thing_name, name)
                if named is not None:
                    yield name, named

    def thing_fields(self, thing: Thing) -> Fields:
        fields: Fields = {
            "thingName": [thing.name],
            "thingId": [thing.thing_id],
            "registry.version": [thing.version],
        }
        if thing.thing_type_name:
            fields["thingTypeName"] = [thing.thing_type_name]
        groups = self.group_names(thing)
        if groups:
            fields["thingGroupNames"] = list(groups)
        for key, value in thing.attributes.items():
            fields[f"attributes.{key}"] = [value]
        for name, shadow in self._shadows(thing.name):
            _shadow_fields("shadow" if name is None else f"shadow.name.{name}", shadow, fields)
        if self.store.connectivity_enabled:
            for key, value in self._connectivity(thing).items():
                fields[f"connectivity.{key}"] = [value]
        if self.store.device_defender_mode == "VIOLATIONS":
            _flatten("deviceDefender", self._device_defender(thing), fields)
        return fields

    def _device_defender(self, thing: Thing) -> dict[str, Any]:
        """The thing's Device Defender data (VIOLATIONS mode): the number of active
        violations, and per security profile and behavior whether it is in violation."""
        # Imported here: defender reaches the registry, which imports this package.
        from iotmock.defender.violations import active_violations_of

        active = active_violations_of(self.backend, thing.name)
        found: dict[str, Any] = {"violationCount": len(active)}
        for violation in active:
            behaviors = found.setdefault(violation.profile_name, {})
            behaviors[violation.behavior["name"]] = {
                "inViolation": True,
                "lastViolationTime": int(violation.last_time * 1000),
            }
        return found

    @staticmethod
    def group_names(thing: Thing) -> list[str]:
        """Static thing groups and the billing group (dynamic groups are not indexed:
        their membership is itself computed from the index)."""
        names = sorted(thing.group_names)
        if thing.billing_group_name:
            names.append(thing.billing_group_name)
        return names

    def _connectivity(self, thing: Thing) -> dict[str, Any]:
        status = status_of(self.backend.store(ConnectivityStore), thing.name)
        if status is None:
            return {"connected": False}  # never connected
        found: dict[str, Any] = {
            "connected": status.connected,
            "timestamp": status.timestamp_ms,
            "version": status.version,
        }
        if status.disconnect_reason is not None:
            found["disconnectReason"] = status.disconnect_reason
        return found

    def thing_document(self, thing: Thing) -> dict[str, Any]:
        """The ThingDocument of SearchIndex."""
        shadow: dict[str, Any] = {}
        for name, found in self._shadows(thing.name):
            if name is None:
                shadow.update(_shadow_json(found))
            else:
                shadow.setdefault("name", {})[name] = _shadow_json(found)
        connectivity = None
        if self.store.connectivity_enabled:
            connectivity = self._connectivity(thing)
            connectivity.pop("version", None)
            if "timestamp" in connectivity:
                # Session details (botocore 1.44+ ThingConnectivity members) of a client
                # the session layer still remembers.
                connectivity.update(session_details(self.backend, thing.name))
        return {
            "thingName": thing.name,
            "thingId": thing.thing_id,
            "thingTypeName": thing.thing_type_name,
            "thingGroupNames": self.group_names(thing) or None,
            "attributes": dict(thing.attributes),
            "shadow": json.dumps(shadow, separators=(",", ":")) if shadow else None,
            "deviceDefender": (
                json.dumps(self._device_defender(thing), separators=(",", ":"))
                if self.store.device_defender_mode == "VIOLATIONS"
                else None
            ),
            "connectivity": connectivity,
        }

    def parent_names(self, group: ThingGroup) -> list[str]:
        # Imported here: the thing-group handlers import this package for dynamic groups.
        from iotmock.registry.thing_groups import ancestors

        return [g.name for g in ancestors(self.backend, group.name)]

    def group_fields(self, group: ThingGroup) -> Fields:
        fields: Fields = {
            "thingGroupName": [group.name],
            "thingGroupId": [group.group_id],
            "version": [group.version],
        }
        if group.description:
            fields["thingGroupDescription"] = [group.description]
        parents = self.parent_names(group)
        if parents:
            fields["parentGroupNames"] = list(parents)
        for key, value in group.attributes.items():
            fields[f"attributes.{key}"] = [value]
        return fields

    def group_document(self, group: ThingGroup) -> dict[str, Any]:
        """The ThingGroupDocument of SearchIndex."""
        return {
            "thingGroupName": group.name,
            "thingGroupId": group.group_id,
            "thingGroupDescription": group.description,
            "attributes": dict(group.attributes),
            "parentGroupNames": self.parent_names(group) or None,
        }

    # -- queries

    def documents(self, after: str | None = None) -> Iterator[tuple[str, Fields]]:
        """(key, fields) of every document after `after`, in key order."""
        if self.is_groups:
            for name, group in registry_of(self.backend).thing_groups.items_after(after):
                yield name, self.group_fields(group)
        else:
            for name, thing in registry_of(self.backend).things.items_after(after):
                yield name, self.thing_fields(thing)

    def matching(self, query: Node, after: str | None = None) -> Iterator[tuple[str, Fields]]:
        """(key, fields) of the documents matching `query`, in key order."""
        for key, fields in self.documents(after):
            if matches(query, fields, self.field_type):
                yield key, fields

    def output(self, key: str) -> dict[str, Any]:
        if self.is_groups:
            return self.group_document(registry_of(self.backend).thing_groups[key])
        return self.thing_document(registry_of(self.backend).things[key])


def open_view(backend: Backend, index_name: str | None) -> IndexView:
    """A view of an existing index (default AWS_Things), or ResourceNotFoundException."""
    store = backend.store(IndexingStore)
    return IndexView(backend, store, check_index(store, index_name))
