"""Marker-style pages (`marker`, `pageSize`, `ascendingOrder` -> `nextMarker`) shared by
the identity list operations (policies, attachments, authorizers, role aliases, domain
configurations)."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from typing import TypeVar

from iotmock.core.operations import Params
from iotmock.core.paging import SortedIndex, page_of, paginate

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
    if params.get("ascendingOrder", default_ascending):
        return page_of(
            scope, index, params, keep=keep, token_member="marker", limit_member="pageSize"
        )
    # SortedIndex only pages forward; descending pages walk a snapshot of its keys.
    keys = list(index)

    def source(after: str | None) -> Iterator[tuple[str, V]]:
        end = len(keys) if after is None else bisect.bisect_left(keys, after)
        for position in range(end - 1, -1, -1):
            yield keys[position], index[keys[position]]

    return paginate(
        f"{scope}:descending", source, params.get("marker"), params.get("pageSize"), keep=keep
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
            for position in range(end - 1, -1, -1):
                yield keys[position], keys[position]
        else:
            start = 0 if after is None else bisect.bisect_right(keys, after)
            for position in range(start, len(keys)):
                yield keys[position], keys[position]

    return paginate(f"{scope}:{descending}", source, params.get("marker"), params.get("pageSize"))
