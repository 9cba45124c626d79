"""Dynamic thing-group membership: evaluated from the group's query on every read.

A dynamic group stores no members. Its members are the things of the AWS_Things index
that match its query at the moment of the call, so a thing joins or leaves the group as
soon as its registry data, shadow or connectivity changes (AWS updates the group
asynchronously, within seconds; the mock has no delay).
"""

from __future__ import annotations

from iotmock.core.backend import Backend
from iotmock.indexing.config import THINGS_INDEX, IndexingStore
from iotmock.indexing.documents import IndexView
from iotmock.indexing.query import matches, parse
from iotmock.registry.records import Thing, ThingGroup, registry_of


def _view(backend: Backend) -> IndexView | None:
    store = backend.store(IndexingStore)
    if not store.things_enabled:
        return None
    return IndexView(backend, store, THINGS_INDEX)


def dynamic_members(backend: Backend, group: ThingGroup) -> set[str]:
    """Names of the things that match a dynamic group's query (O(things))."""
    view = _view(backend)
    if view is None or group.query_string is None:
        return set()
    query = parse(group.query_string)
    return {name for name, _ in view.matching(query)}


def dynamic_groups_of(backend: Backend, thing: Thing) -> set[str]:
    """Names of the dynamic groups whose query matches `thing` (O(dynamic groups))."""
    view = _view(backend)
    if view is None or not view.store.dynamic_groups:
        return set()
    fields = view.thing_fields(thing)
    found = set()
    for name in view.store.dynamic_groups:
        group = registry_of(backend).thing_groups.get(name)
        if (
            group is not None
            and group.query_string is not None
            and matches(parse(group.query_string), fields, view.field_type)
        ):
            found.add(name)
    return found
