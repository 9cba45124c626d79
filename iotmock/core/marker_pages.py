"""Marker-style pages (`marker`, `pageSize`, `ascendingOrder` -> `nextMarker`) shared by
the identity list operations of policies and policy attachments (the simple resource
kinds page with `crud.list_page`)."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from typing import TypeVar

from iotmock.core.operations import Params
from iotmock.core.paging import SortedIndex, paginate

V = TypeVar("V")


def name_page(
    scope: str,
    index: SortedIndex[V],
    params: Params,
    *,
    keep: Callable[[V], bool] | None = None,
    default_ascending: bool = True,
) -> tuple[list[V], str | None]:
    """A marker-style page (`marker`, `pageSize`) of a name-sorted index, in the order the
    request's `ascendingOrder` asks for, `default_ascending` when it is absent (each
    operation's model documentation says which)."""
    descending = not params.get("ascendingOrder", default_ascending)
    return paginate(
        f"{scope}:descending" if descending else scope,
        index.items_before if descending else index.items_after,
        params.get("marker"),
        params.get("pageSize"),
        keep=keep,
    )


def key_page(
    scope: str, keys: list[str], params: Params, *, default_ascending: bool = True
) -> tuple[list[str], str | None]:
    """A marker-style page of the sorted string list `keys`, in the order `ascendingOrder`
    asks for (`default_ascending` when it is absent)."""
    descending = not params.get("ascendingOrder", default_ascending)

    def source(after: str | None) -> Iterator[tuple[str, str]]:
        if descending:
            end = len(keys) if after is None else bisect.bisect_left(keys, after)
            positions = range(end - 1, -1, -1)
        else:
            start = 0 if after is None else bisect.bisect_right(keys, after)
            positions = range(start, len(keys))
        for position in positions:
            yield keys[position], keys[position]

    return paginate(f"{scope}:{descending}", source, params.get("marker"), params.get("pageSize"))
