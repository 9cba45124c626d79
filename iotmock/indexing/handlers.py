"""Fleet indexing (spec §11): the indexing configuration, the AWS_Things and
AWS_ThingGroups indexes, SearchIndex, the aggregation queries and the live connectivity
status of a thing.

Indexes are ACTIVE as soon as they are enabled and always current: every query builds
its documents from the present registry, shadow and connectivity state (see
iotmock/indexing). Turning thing indexing OFF is refused while dynamic thing groups or
fleet metrics depend on the index.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from iotmock.core.errors import invalid_request
from iotmock.core.model import service_model
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import paginate
from iotmock.indexing.aggregate import (
    DEFAULT_PERCENTS,
    aggregation_type,
    buckets,
    cardinality,
    percentiles,
    statistics,
    values_of,
)
from iotmock.indexing.config import (
    MAX_CUSTOM_FIELDS,
    MAX_GEO_LOCATIONS,
    MAX_NAMED_SHADOW_NAMES,
    THING_GROUPS_INDEX,
    THINGS_INDEX,
    Fields,
    IndexingStore,
    check_query_version,
)
from iotmock.indexing.connectivity import (
    ConnectivityStore,
    session_details,
    status_of,
)
from iotmock.indexing.documents import Fields as DocumentFields
from iotmock.indexing.documents import IndexView, open_view
from iotmock.indexing.fleet_metrics import FleetMetricStore
from iotmock.indexing.query import Node, parse
from iotmock.registry.things import get_thing

MAX_SEARCH_RESULTS = 100  # SearchIndex pages hold at most 100 documents (API:SearchIndex)
MAX_PERCENTS = 100
DEFAULT_MAX_BUCKETS = 10


def _disconnect_reasons() -> frozenset[str]:
    """GetThingConnectivityData's disconnectReason enum in the installed model."""
    output = service_model("iot").operation_model("GetThingConnectivityData").output_shape
    assert output is not None
    return frozenset(output.members["disconnectReason"].enum)


_DISCONNECT_REASONS = _disconnect_reasons()
# Lifecycle events report API_INITIATED_DISCONNECT (iot-data DeleteConnection); models
# before botocore 1.44 lack it in the enum, so it reads as the service's own disconnect.
_REASON_ALIASES = (
    {}
    if "API_INITIATED_DISCONNECT" in _DISCONNECT_REASONS
    else {"API_INITIATED_DISCONNECT": "SERVER_INITIATED_DISCONNECT"}
)
_SOCKET_API = "GET_THING_CONNECTIVITY_DATA"
# The IndexingStore settings of thing indexing (reset together when it is turned off).
_THING_SETTINGS = (
    "thing_mode",
    "connectivity_mode",
    "device_defender_mode",
    "named_shadow_mode",
    "named_shadow_names",
    "geo_locations",
    "socket_information_apis",
    "thing_custom_fields",
)


def indexing_store(ctx: RequestContext) -> IndexingStore:
    return ctx.backend.store(IndexingStore)


def open_index(ctx: RequestContext, index_name: str | None) -> IndexView:
    return open_view(ctx.backend, index_name)


# ---------------------------------------------------------------- configuration


def _field_list(fields: Fields) -> list[dict[str, str]]:
    return [{"name": name, "type": kind} for name, kind in fields.items()]


def _custom_fields(
    given: list[dict[str, Any]], managed: Fields, prefixes: tuple[str, ...]
) -> Fields:
    """Checked customFields: typed, unique, not managed, of an indexable data source."""
    fields: Fields = {}
    for item in given:
        name, kind = item.get("name"), item.get("type")
        if not name or not kind:
            raise invalid_request("Each custom field needs a name and a type.")
        if name in managed:
            raise invalid_request(
                f"{name} is a managed field; custom fields cannot contain managed fields."
            )
        if not name.startswith(prefixes):
            raise invalid_request(
                f"Custom field {name} must start with one of: {', '.join(prefixes)}."
            )
        if fields.get(name, kind) != kind:
            raise invalid_request(f"Custom field {name} is given twice with different types.")
        fields[name] = kind
    if len(fields) > MAX_CUSTOM_FIELDS:
        raise invalid_request(
            f"At most {MAX_CUSTOM_FIELDS} custom fields can be indexed; {len(fields)} were given."
        )
    return fields


def _check_managed(given: list[dict[str, Any]] | None, managed: Fields) -> None:
    """managedFields cannot be changed: only the current managed fields may be echoed."""
    for item in given or ():
        kind = managed.get(item.get("name") or "")
        if kind is None or item.get("type", kind) != kind:
            raise invalid_request(
                f"You can't modify managed fields: {item.get('name')} is not a managed field "
                "of this indexing configuration."
            )


def _check_not_in_use(ctx: RequestContext, index_name: str) -> None:
    """An index cannot be turned off while dynamic groups or fleet metrics use it."""
    store = indexing_store(ctx)
    if index_name == THINGS_INDEX and store.dynamic_groups:
        raise invalid_request(
            "Thing indexing cannot be turned off while dynamic thing groups exist "
            f"({', '.join(sorted(store.dynamic_groups))}); delete them first."
        )
    metrics = ctx.backend.store(FleetMetricStore).metrics
    users = sorted(m.name for m in metrics.values() if m.index_name == index_name)
    if users:
        raise invalid_request(
            f"Index {index_name} cannot be turned off while fleet metrics use it "
            f"({', '.join(users)}); delete them first."
        )


def _turn_things_off(ctx: RequestContext, store: IndexingStore, config: dict[str, Any]) -> None:
    if any(
        config.get(mode, "OFF") != "OFF"
        for mode in (
            "thingConnectivityIndexingMode",
            "deviceDefenderIndexingMode",
            "namedShadowIndexingMode",
        )
    ):
        raise invalid_request(
            "Connectivity, Device Defender and named shadow indexing need thing "
            "indexing: thingIndexingMode must not be OFF."
        )
    if store.things_enabled:
        _check_not_in_use(ctx, THINGS_INDEX)
    # Turning the index off deletes it with its whole configuration.
    off = IndexingStore()
    for name in _THING_SETTINGS:
        setattr(store, name, getattr(off, name))


@dataclasses.dataclass(slots=True, frozen=True)
class _Selection:
    """What the `filter` of a thing indexing configuration selects."""

    shadow_names: list[str]
    geo_locations: list[dict[str, Any]]
    socket_information_apis: list[str]


def _selection(config: dict[str, Any]) -> _Selection:
    """The named shadows, geolocation targets and socket-information APIs of the
    `filter`, within their quotas."""
    selection = config.get("filter") or {}
    shadow_names = list(dict.fromkeys(selection.get("namedShadowNames") or ()))
    if len(shadow_names) > MAX_NAMED_SHADOW_NAMES:
        raise invalid_request(
            f"At most {MAX_NAMED_SHADOW_NAMES} named shadows can be indexed; "
            f"{len(shadow_names)} were given."
        )
    geo_locations = list(selection.get("geoLocations") or ())
    if len(geo_locations) > MAX_GEO_LOCATIONS:
        raise invalid_request(
            f"At most {MAX_GEO_LOCATIONS} geolocation target can be indexed; "
            f"{len(geo_locations)} were given."
        )
    connectivity = selection.get("connectivity") or {}
    apis = list(dict.fromkeys(connectivity.get("includeSocketInformation") or ()))
    return _Selection(shadow_names, geo_locations, apis)


def _update_things(ctx: RequestContext, store: IndexingStore, config: dict[str, Any]) -> None:
    if config["thingIndexingMode"] == "OFF":
        _turn_things_off(ctx, store, config)
        return
    selection = _selection(config)
    candidate = IndexingStore(
        thing_mode=config["thingIndexingMode"],
        connectivity_mode=config.get("thingConnectivityIndexingMode") or "OFF",
        device_defender_mode=config.get("deviceDefenderIndexingMode") or "OFF",
        named_shadow_mode=config.get("namedShadowIndexingMode") or "OFF",
        named_shadow_names=selection.shadow_names,
        geo_locations=selection.geo_locations,
        socket_information_apis=selection.socket_information_apis,
    )
    managed = candidate.thing_managed_fields()
    _check_managed(config.get("managedFields"), managed)
    custom = config.get("customFields")
    if custom is not None:
        store.thing_custom_fields = _custom_fields(
            custom, managed, ("attributes.", "shadow.", "deviceDefender.")
        )
    for name in _THING_SETTINGS:
        if name != "thing_custom_fields":
            setattr(store, name, getattr(candidate, name))


def _update_groups(ctx: RequestContext, store: IndexingStore, config: dict[str, Any]) -> None:
    mode = config["thingGroupIndexingMode"]
    if mode == "OFF":
        if store.groups_enabled:
            _check_not_in_use(ctx, THING_GROUPS_INDEX)
        store.group_mode, store.group_custom_fields = "OFF", {}
        return
    managed = IndexingStore(group_mode="ON").group_managed_fields()
    _check_managed(config.get("managedFields"), managed)
    custom = config.get("customFields")
    if custom is not None:
        store.group_custom_fields = _custom_fields(custom, managed, ("attributes.",))
    store.group_mode = mode


@operation("iot", "UpdateIndexingConfiguration")
def update_indexing_configuration(ctx: RequestContext, params: Params) -> dict[str, Any]:
    things = params.get("thingIndexingConfiguration")
    groups = params.get("thingGroupIndexingConfiguration")
    if things is None and groups is None:
        raise invalid_request(
            "Specify thingIndexingConfiguration, thingGroupIndexingConfiguration or both."
        )
    # Work on a copy and keep it only when both halves are accepted, so a refused call
    # changes nothing.
    store = indexing_store(ctx)
    trial = dataclasses.replace(store)
    if things is not None:
        _update_things(ctx, trial, things)
    if groups is not None:
        _update_groups(ctx, trial, groups)
    for setting in dataclasses.fields(IndexingStore):
        setattr(store, setting.name, getattr(trial, setting.name))
    return {}


@operation("iot", "GetIndexingConfiguration")
def get_indexing_configuration(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = indexing_store(ctx)
    things: dict[str, Any] = {
        "thingIndexingMode": store.thing_mode,
        "thingConnectivityIndexingMode": store.connectivity_mode,
        "deviceDefenderIndexingMode": store.device_defender_mode,
        "namedShadowIndexingMode": store.named_shadow_mode,
        "managedFields": _field_list(store.thing_managed_fields()) or None,
        "customFields": _field_list(store.thing_custom_fields) or None,
    }
    if store.named_shadow_names or store.geo_locations or store.socket_information_apis:
        things["filter"] = {
            "namedShadowNames": list(store.named_shadow_names) or None,
            "geoLocations": [dict(g) for g in store.geo_locations] or None,
            "connectivity": (
                {"includeSocketInformation": list(store.socket_information_apis)}
                if store.socket_information_apis
                else None
            ),
        }
    return {
        "thingIndexingConfiguration": things,
        "thingGroupIndexingConfiguration": {
            "thingGroupIndexingMode": store.group_mode,
            "managedFields": _field_list(store.group_managed_fields()) or None,
            "customFields": _field_list(store.group_custom_fields) or None,
        },
    }


# ---------------------------------------------------------------- indexes


def _schema(store: IndexingStore, index_name: str) -> str:
    if index_name == THING_GROUPS_INDEX:
        return "REGISTRY"  # the thing-group index holds registry data only
    if store.named_shadows_enabled or store.device_defender_mode != "OFF":
        return "MULTI_INDEXING_MODE"
    schema = store.thing_mode
    if store.connectivity_enabled:
        schema += "_AND_CONNECTIVITY_STATUS"
    return schema


@operation("iot", "DescribeIndex")
def describe_index(ctx: RequestContext, params: Params) -> dict[str, Any]:
    view = open_index(ctx, params["indexName"])
    return {
        "indexName": view.index,
        "indexStatus": "ACTIVE",  # the mock's indexes never need building
        "schema": _schema(view.store, view.index),
    }


@operation("iot", "ListIndices")
def list_indices(ctx: RequestContext, params: Params) -> dict[str, Any]:
    names = indexing_store(ctx).indexes()

    def source(after: str | None) -> Iterator[tuple[str, str]]:
        return ((n, n) for n in names if after is None or n > after)

    page, token = paginate("ListIndices", source, params.get("nextToken"), params.get("maxResults"))
    return {"indexNames": page, "nextToken": token}


# ---------------------------------------------------------------- search


def _parsed(params: Params) -> Node:
    check_query_version(params.get("queryVersion"))
    return parse(params["queryString"])


@operation("iot", "SearchIndex")
def search_index(ctx: RequestContext, params: Params) -> dict[str, Any]:
    view = open_index(ctx, params.get("indexName"))
    query = _parsed(params)
    limit = min(params.get("maxResults") or MAX_SEARCH_RESULTS, MAX_SEARCH_RESULTS)

    def source(after: str | None) -> Iterator[tuple[str, str]]:
        return ((key, key) for key, _ in view.matching(query, after))

    keys, token = paginate(
        f"SearchIndex:{view.index}:{params['queryString']}",
        source,
        params.get("nextToken"),
        limit,
    )
    documents = [view.output(key) for key in keys]
    # Only the list of the searched index appears: AWS returns no `thingGroups` key for a
    # search of AWS_Things, and no `things` key for a search of AWS_ThingGroups.
    found = "thingGroups" if view.is_groups else "things"
    return {found: documents, "nextToken": token}


# ---------------------------------------------------------------- aggregations


def _matching(ctx: RequestContext, params: Params) -> tuple[IndexView, list[DocumentFields]]:
    """The index view and the documents matching the request's query."""
    view = open_index(ctx, params.get("indexName"))
    query = _parsed(params)
    return view, [fields for _, fields in view.matching(query)]


@operation("iot", "GetStatistics")
def get_statistics(ctx: RequestContext, params: Params) -> dict[str, Any]:
    view, documents = _matching(ctx, params)
    field = params.get("aggregationField")
    if field is None:
        # Without a field, the count of matching documents ("*" counts the whole index).
        return {"statistics": {"count": len(documents)}}
    declared = aggregation_type(view, field, allowed=("Number", "String", "Boolean"))
    return {"statistics": statistics(values_of(documents, field, declared), declared)}


@operation("iot", "GetCardinality")
def get_cardinality(ctx: RequestContext, params: Params) -> dict[str, Any]:
    view, documents = _matching(ctx, params)
    field = params.get("aggregationField")
    declared = aggregation_type(view, field, allowed=("String", "Number", "Boolean"))
    assert field is not None
    return {"cardinality": cardinality(values_of(documents, field, declared))}


@operation("iot", "GetPercentiles")
def get_percentiles(ctx: RequestContext, params: Params) -> dict[str, Any]:
    percents = params.get("percents")
    if percents is not None and len(percents) > MAX_PERCENTS:
        raise invalid_request(
            f"At most {MAX_PERCENTS} percents can be requested; {len(percents)} were given."
        )
    view, documents = _matching(ctx, params)
    field = params.get("aggregationField")
    declared = aggregation_type(view, field, allowed=("Number",))
    assert field is not None
    wanted = percents if percents else DEFAULT_PERCENTS
    return {"percentiles": percentiles(values_of(documents, field, declared), wanted)}


@operation("iot", "GetBucketsAggregation")
def get_buckets_aggregation(ctx: RequestContext, params: Params) -> dict[str, Any]:
    view, documents = _matching(ctx, params)
    field = params["aggregationField"]
    declared = aggregation_type(view, field, allowed=("String", "Number", "Boolean"))
    terms = params["bucketsAggregationType"].get("termsAggregation") or {}
    max_buckets = terms.get("maxBuckets") or DEFAULT_MAX_BUCKETS
    return {
        "totalCount": len(documents),
        "buckets": buckets(values_of(documents, field, declared), max_buckets),
    }


# ---------------------------------------------------------------- connectivity


@operation("iot", "GetThingConnectivityData")
def get_thing_connectivity_data(ctx: RequestContext, params: Params) -> dict[str, Any]:
    # The live status of the thing's MQTT client (client id = thing name); it does not
    # depend on fleet indexing. A client never seen answers connected=false and no
    # session details, as the operation's documentation says.
    thing = get_thing(ctx.backend, params["thingName"])
    status = status_of(ctx.backend.store(ConnectivityStore), thing.name)
    if status is None:
        return {"thingName": thing.name, "connected": False}
    reason = None
    if not status.connected and status.disconnect_reason is not None:
        reason = _REASON_ALIASES.get(status.disconnect_reason, status.disconnect_reason)
        if reason not in _DISCONNECT_REASONS:
            reason = "UNKNOWN"
    # Socket information needs the request flag and the indexing filter that allows it
    # for this API (developer guide, "Device connectivity status queries").
    socket = bool(params.get("includeSocketInformation")) and (
        _SOCKET_API in indexing_store(ctx).socket_information_apis
    )
    return {
        "thingName": thing.name,
        "connected": status.connected,
        "timestamp": status.timestamp_ms / 1000,
        "disconnectReason": reason,
        **session_details(ctx.backend, thing.name, socket=socket),
    }
