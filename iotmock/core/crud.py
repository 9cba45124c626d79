"""Simple resource kinds: one declaration for a kind of record that is plain CRUD + tags +
paging, and the generic steps its handlers share.

A family declares its kind once (`ResourceKind`: the label of its messages, the ARN
resource type, where its records live, its quota, its describe output and list item) and
its handlers stay in the family file, one `@operation` each, calling the steps below for
what every such kind does the same way:

- `kind.get` / `kind.find`: the record of a name, or ResourceNotFoundException;
- `create`: refuse a taken name (ResourceAlreadyExistsException, or the kind's own
  error), a full quota and refused tags, build the record (where the request is
  validated), and only then store it;
- `describe`: the kind's output for a name;
- `changes` / `apply`: the members an Update request gives, set on the record with its
  modification time (what each update validates stays in its handler);
- `delete` / `discard`: remove a record and forget its tags (`discard` where the model
  lists no not-found error and deleting a missing record succeeds);
- `list_page`: one page of the kind's list items in index order, either way (`page` is
  the same answer for any paging source: nested or computed lists).

What differs between kinds (validation rules, in-use guards, idempotent retries, version
checks, side effects) stays in the handlers, passed in as plain functions (`build`,
`retry`, `check`, `keep`), so it is read where the operation is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from iotmock.core import clock, tagging
from iotmock.core.backend import Backend
from iotmock.core.errors import ServiceError, already_exists, limit_exceeded, not_found
from iotmock.core.operations import Output, Params, RequestContext
from iotmock.core.paging import SortedIndex, paginate

V = TypeVar("V")


class Record(Protocol):
    """What the generic steps need of a record: its ARN (the key of its tags)."""

    @property
    def arn(self) -> str: ...


R = TypeVar("R", bound=Record)


class Index(Protocol[V]):
    """A name-keyed store of records that pages in its own order (`SortedIndex` pages by
    name, `CreationOrder` by creation time)."""

    def get(self, name: str) -> V | None: ...
    def __contains__(self, name: object) -> bool: ...
    def __len__(self) -> int: ...
    def __setitem__(self, name: str, value: V) -> None: ...
    def pop(self, name: str) -> V | None: ...
    def items_after(self, key: str | None) -> Iterator[tuple[str, V]]: ...
    def items_before(self, key: str | None) -> Iterator[tuple[str, V]]: ...


class CreationOrder(Generic[V]):
    """Records by name that page in creation order, oldest first (`items_after`) or newest
    first (`items_before`), in O(log N + page); page keys are creation sequence numbers,
    so a token stays valid while records are created or deleted between pages."""

    __slots__ = ("_keys", "_order", "_sequence")

    def __init__(self) -> None:
        self._keys: dict[str, str] = {}  # name -> its order key
        self._order: SortedIndex[V] = SortedIndex()
        self._sequence = 0

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, name: object) -> bool:
        return name in self._keys

    def __getitem__(self, name: str) -> V:
        return self._order[self._keys[name]]

    def get(self, name: str) -> V | None:
        key = self._keys.get(name)
        return None if key is None else self._order.get(key)

    def __setitem__(self, name: str, value: V) -> None:
        key = self._keys.get(name)
        if key is None:
            self._sequence += 1
            key = self._keys[name] = f"{self._sequence:016d}"
        self._order[key] = value

    def pop(self, name: str) -> V | None:
        key = self._keys.pop(name, None)
        return None if key is None else self._order.pop(key)

    def values(self) -> Iterator[V]:
        return self._order.values()

    def items_after(self, key: str | None) -> Iterator[tuple[str, V]]:
        return self._order.items_after(key)

    def items_before(self, key: str | None) -> Iterator[tuple[str, V]]:
        return self._order.items_before(key)


@dataclass(frozen=True, slots=True)
class Paging:
    """The request and response members of a list operation's pages."""

    token: str = "nextToken"
    limit: str = "maxResults"
    next: str = "nextToken"


TOKENS = Paging()
MARKERS = Paging(token="marker", limit="pageSize", next="nextMarker")


@dataclass(frozen=True, slots=True, eq=False)
class ResourceKind(Generic[R]):
    """One kind of simple resource, declared once by its family.

    `label` starts its messages ("Dimension" -> "Dimension d1 does not exist."); records
    have the ARN `<arn_type>/<name>`, which is also their tagging resource type (declared
    taggable here unless `taggable=False`, for a family that tags more than one kind
    under the type); `index` finds the store of a backend's records.
    """

    label: str
    arn_type: str
    index: Callable[[Backend], Index[R]]
    describe: Callable[[R], Output]
    # The list operation: its item per record, the member holding them and its pages.
    summary: Callable[[R], Any]
    list_member: str
    page_size: int = 100
    paging: Paging = TOKENS
    quota: int | None = None
    plural: str = ""  # of the label, in the quota message; label + "s" when empty
    quota_message: str = "An account can have at most {quota} {plural} in a region."
    missing: str = "{label} {name} does not exist."
    # The error for a taken name; ResourceAlreadyExistsException unless the model says else.
    taken: Callable[[str, R], ServiceError] | None = None
    taggable: bool = True
    # The resource id of a new record's ARN, where it is more than the name (domain
    # configurations: `<name>/<random suffix>`; such kinds declare their tagging).
    arn_id: Callable[[str], str] = str

    def __post_init__(self) -> None:
        if self.taggable:
            tagging.taggable(self.arn_type)(self.exists)

    def arn(self, backend: Backend, name: str) -> str:
        """The ARN of a new record `name`."""
        return backend.arn(f"{self.arn_type}/{self.arn_id(name)}")

    def exists(self, backend: Backend, name: str) -> bool:
        return name in self.index(backend)

    def find(self, backend: Backend, name: str) -> R | None:
        return self.index(backend).get(name)

    def get(self, backend: Backend, name: str) -> R:
        """The record `name`, or ResourceNotFoundException."""
        found = self.index(backend).get(name)
        if found is None:
            raise not_found(self.missing.format(label=self.label, name=name))
        return found


def required(found: V | None, message: str) -> V:
    """`found`, or ResourceNotFoundException saying `message` when it is None: the lookup
    of a record a family keeps outside a ResourceKind (findings, suppressions)."""
    if found is None:
        raise not_found(message)
    return found


Tags = list[dict[str, Any]] | dict[str, str] | None


def create(
    kind: ResourceKind[R],
    backend: Backend,
    name: str,
    build: Callable[[str, float], R],
    tags: Tags = None,
    *,
    retry: Callable[[R], bool] | None = None,
) -> R:
    """Store the record `build(arn, now)` under `name` and tag it.

    A taken name is refused, unless `retry(existing)` says the request repeats the one
    that created the record (a client token retry), which answers the existing record;
    then a full quota is refused, then the tags (a Tag list, or a TagMap for the kinds
    whose model uses one). `build` validates the request (it may raise) and makes the
    record; nothing is stored before it returns, so a refused request leaves no trace.
    """
    index = kind.index(backend)
    existing = index.get(name)
    if existing is not None:
        if retry is not None and retry(existing):
            return existing
        if kind.taken is not None:
            raise kind.taken(name, existing)
        raise already_exists(f"{kind.label} {name} already exists.", name, existing.arn)
    if kind.quota is not None and len(index) >= kind.quota:
        plural = kind.plural or f"{kind.label.lower()}s"
        raise limit_exceeded(kind.quota_message.format(quota=kind.quota, plural=plural))
    new_tags = tags if isinstance(tags, dict) else tagging.from_list(tags)
    # Checked before `build`, which may act on other state (OTA updates create their job).
    arn = kind.arn(backend, name)
    tagging.check_new(arn, new_tags)
    record = build(arn, clock.now())
    tagging.add_tags(backend, record.arn, new_tags)
    index[name] = record
    return record


def changes(params: Params, members: Mapping[str, str]) -> dict[str, Any]:
    """What an Update request changes: {attribute: value} for each request member of
    `members` (request member -> record attribute) that the request gives."""
    return {
        attr: params[member] for member, attr in members.items() if params.get(member) is not None
    }


def apply(
    record: object, changed: Mapping[str, Any], stamp: str | None = "last_modified_at"
) -> float:
    """Set the `changed` attributes of `record` and its modification time (the attribute
    `stamp`, None for records without one), changed or not, as AWS's updates do; the time."""
    now = clock.now()
    for attr, value in changed.items():
        setattr(record, attr, value)
    if stamp is not None:
        setattr(record, stamp, now)
    return now


def describe(kind: ResourceKind[R], backend: Backend, name: str) -> Output:
    """The kind's describe output of the record `name` (ResourceNotFoundException if none)."""
    return kind.describe(kind.get(backend, name))


def delete(
    kind: ResourceKind[R],
    backend: Backend,
    name: str,
    check: Callable[[R], None] | None = None,
) -> R:
    """Remove the record `name` (ResourceNotFoundException if none) after `check(record)`
    (an in-use or version guard that raises), and forget its tags."""
    record = kind.get(backend, name)
    if check is not None:
        check(record)
    kind.index(backend).pop(name)
    tagging.drop(backend, record.arn)
    return record


def discard(
    kind: ResourceKind[R],
    backend: Backend,
    name: str,
    check: Callable[[R], None] | None = None,
) -> R | None:
    """`delete` for the operations whose model lists no not-found error: removing a
    missing record succeeds and returns None."""
    if kind.find(backend, name) is None:
        return None
    return delete(kind, backend, name, check)


def list_page(
    kind: ResourceKind[R],
    ctx: RequestContext,
    params: Params,
    *,
    descending: bool = False,
    keep: Callable[[R], bool] | None = None,
    scope: str = "",
) -> Output:
    """One page of the kind's list items in index order (reversed if `descending`),
    filtered by `keep`, with the token of the next page. `scope` names the filters, so a
    token is refused by a listing with other filters or order."""
    index = kind.index(ctx.backend)
    return page(
        ctx,
        params,
        index.items_before if descending else index.items_after,
        kind.list_member,
        kind.summary,
        scope=f"{scope}:{'descending' if descending else 'ascending'}",
        keep=keep,
        default_limit=kind.page_size,
        paging=kind.paging,
    )


def page(
    ctx: RequestContext,
    params: Params,
    source: Callable[[str | None], Iterator[tuple[str, V]]],
    member: str,
    item: Callable[[V], Any],
    *,
    scope: str = "",
    keep: Callable[[V], bool] | None = None,
    default_limit: int = 100,
    paging: Paging = TOKENS,
) -> Output:
    """The output of a list operation: `item(record)` for one page of the (key, record)
    pairs of `source` (see `paging.paginate`) in the list `member`, and the token of the
    next page. The token is tied to the operation and `scope` (its filters)."""
    found, token = paginate(
        f"{ctx.operation}:{scope}",
        source,
        params.get(paging.token),
        params.get(paging.limit),
        default_limit=default_limit,
        keep=keep,
    )
    return {member: [item(record) for record in found], paging.next: token}
