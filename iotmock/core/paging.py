"""Ordered collections and O(page) paging with opaque tokens.

`SortedIndex` keeps a dict and the sorted list of its keys side by side, so a page is a
bisect into the key list plus a slice: listing page k of N items costs O(log N + page),
never a scan from the start. Tokens name the last key of the previous page, so paging
stays correct while items are created or deleted between pages.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable, Iterable, Iterator, MutableSet
from typing import Any, Generic, TypeVar

from iotmock.core.errors import invalid_request

V = TypeVar("V")
T = TypeVar("T")


class SortedIndex(Generic[V]):
    """A str-keyed mapping that iterates in key order and pages in O(page)."""

    __slots__ = ("_items", "_keys")

    def __init__(self) -> None:
        self._items: dict[str, V] = {}
        self._keys: list[str] = []

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __getitem__(self, key: str) -> V:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def get(self, key: str) -> V | None:
        return self._items.get(key)

    def __setitem__(self, key: str, value: V) -> None:
        if key not in self._items:
            bisect.insort(self._keys, key)
        self._items[key] = value

    def pop(self, key: str) -> V | None:
        value = self._items.pop(key, None)
        if value is not None:
            del self._keys[bisect.bisect_left(self._keys, key)]
        return value

    def values(self) -> Iterator[V]:
        for key in self._keys:
            yield self._items[key]

    def items(self) -> Iterator[tuple[str, V]]:
        for key in self._keys:
            yield key, self._items[key]

    def items_after(self, key: str | None) -> Iterator[tuple[str, V]]:
        """(key, value) pairs whose key sorts after `key` (all when `key` is None)."""
        start = 0 if key is None else bisect.bisect_right(self._keys, key)
        keys, items = self._keys, self._items
        for position in range(start, len(keys)):
            found = keys[position]
            yield found, items[found]

    def items_before(self, key: str | None) -> Iterator[tuple[str, V]]:
        """(key, value) pairs whose key sorts before `key` (all when `key` is None), last
        key first: the `paginate` source of a descending list."""
        end = len(self._keys) if key is None else bisect.bisect_left(self._keys, key)
        keys, items = self._keys, self._items
        for position in range(end - 1, -1, -1):
            found = keys[position]
            yield found, items[found]


class SortedSet(MutableSet[str]):
    """A set of names that iterates in name order and pages in O(log N + page), for the
    membership relations that list operations page through (things of a group)."""

    __slots__ = ("_items", "_keys")

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._items: set[str] = set()
        self._keys: list[str] = []
        for name in names:
            self.add(name)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._keys))

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"SortedSet({self._keys!r})"

    def add(self, name: str) -> None:
        if name not in self._items:
            self._items.add(name)
            bisect.insort(self._keys, name)

    def discard(self, name: str) -> None:
        if name in self._items:
            self._items.remove(name)
            del self._keys[bisect.bisect_left(self._keys, name)]

    def items_after(self, after: str | None) -> Iterator[tuple[str, str]]:
        """(name, name) pairs after `after` in name order: a `paginate` source."""
        start = 0 if after is None else bisect.bisect_right(self._keys, after)
        for position in range(start, len(self._keys)):
            name = self._keys[position]
            yield name, name


def key_range(
    index: SortedIndex[V], low: str, high: str
) -> Callable[[str | None], Iterator[tuple[str, V]]]:
    """A `paginate` source of the (key, value) pairs of `index` whose keys sort after
    `low` and not after `high`, in O(log N + page): time windows of time-keyed indexes,
    and the keys under one prefix (`low` = the prefix, `high` = the prefix and a
    character above every key character)."""

    def source(after: str | None) -> Iterator[tuple[str, V]]:
        for key, value in index.items_after(after if after is not None and after > low else low):
            if key > high:
                return
            yield key, value

    return source


def encode_token(scope: str, last_key: str) -> str:
    raw = json.dumps([scope, last_key], separators=(",", ":")).encode()
    # Standard base64: the Marker shape of marker-paged lists allows only [A-Za-z0-9+/=].
    return base64.b64encode(raw).decode()


def decode_token(scope: str, token: str | None) -> str | None:
    """The last key of the previous page, or InvalidRequestException for a foreign or
    malformed token."""
    if not token:
        return None
    try:
        found_scope, last_key = json.loads(base64.b64decode(token.encode(), validate=True))
    except (ValueError, TypeError, binascii.Error):
        raise invalid_request(f"The pagination token {token} is invalid.") from None
    if found_scope != scope or not isinstance(last_key, str):
        raise invalid_request(f"The pagination token {token} is invalid.")
    return last_key


def paginate(
    scope: str,
    source: Callable[[str | None], Iterator[tuple[str, T]]],
    token: str | None,
    limit: int | None,
    *,
    default_limit: int = 100,
    keep: Callable[[T], bool] | None = None,
) -> tuple[list[T], str | None]:
    """One page of `source(after_key)` (key, item) pairs, filtered by `keep`, and the
    token of the next page (None on the last page).

    `scope` ties a token to the listing that issued it (operation and filters), so a
    token handed to another listing is refused.
    """
    after = decode_token(scope, token)
    size = limit or default_limit
    page: list[T] = []
    last_key = ""
    for key, item in source(after):
        if keep is not None and not keep(item):
            continue
        if len(page) == size:
            return page, encode_token(scope, last_key)
        page.append(item)
        last_key = key
    return page, None


def page_of(
    scope: str,
    index: SortedIndex[V],
    params: dict[str, Any],
    *,
    keep: Callable[[V], bool] | None = None,
    token_member: str = "nextToken",
    limit_member: str = "maxResults",
    default_limit: int = 100,
) -> tuple[list[V], str | None]:
    """`paginate` over a SortedIndex with the request's token and page-size members."""
    return paginate(
        scope,
        index.items_after,
        params.get(token_member),
        params.get(limit_member),
        default_limit=default_limit,
        keep=keep,
    )
