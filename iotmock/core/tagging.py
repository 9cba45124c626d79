"""One tagging mechanism for every taggable IoT resource, addressed by ARN.

Each resource family declares its ARN resource type and how to tell whether a resource
exists (`taggable("thinggroup", exists)`); TagResource, UntagResource,
ListTagsForResource and the `tags` members of Create* operations all go through here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from iotmock.core.backend import Backend
from iotmock.core.errors import ServiceError, invalid_request, not_found

MAX_TAGS = 50

Exists = Callable[[Backend, str], bool]
_TAGGABLE: dict[str, Exists] = {}


def taggable(resource_type: str) -> Callable[[Exists], Exists]:
    """Declare ARNs `arn:...:iot:<region>:<account>:<resource_type>/<id>` taggable;
    the decorated function tells whether the resource `<id>` exists."""

    def register(exists: Exists) -> Exists:
        _TAGGABLE[resource_type] = exists
        return exists

    return register


def _resource_of(backend: Backend, arn: str) -> tuple[str, str]:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iot":
        raise invalid_request(f"{arn} is not a valid IoT resource ARN.")
    if parts[3] != backend.region or parts[4] != backend.account_id:
        raise not_found(f"The resource {arn} does not exist in this account and region.")
    resource_type, _, resource_id = parts[5].partition("/")
    return resource_type, resource_id


def check_taggable(backend: Backend, arn: str) -> None:
    """Raise unless `arn` names an existing taggable resource of this backend."""
    resource_type, resource_id = _resource_of(backend, arn)
    exists = _TAGGABLE.get(resource_type)
    if exists is None:
        raise invalid_request(f"Resources of type {resource_type} cannot be tagged: {arn}")
    if not exists(backend, resource_id):
        raise not_found(f"The resource {arn} does not exist.")


def tags_of(backend: Backend, arn: str) -> dict[str, str]:
    return backend.tags.get(arn, {})


def tag_list(backend: Backend, arn: str) -> list[dict[str, str]]:
    """Tags as the `[{Key, Value}]` list of the Tag shape."""
    return [{"Key": k, "Value": v} for k, v in tags_of(backend, arn).items()]


def _check_keys(tags: dict[str, str]) -> None:
    for key in tags:
        if key.lower().startswith("aws:"):
            raise invalid_request(f"Tag keys starting with 'aws:' are reserved for AWS use: {key}")


def check_new(arn: str, tags: dict[str, str]) -> None:
    """Refuse the tags of a Create* request that the new resource could not take, before
    anything is created (AWS's tag rules, as `add_tags` enforces them)."""
    _check_keys(tags)
    if len(tags) > MAX_TAGS:
        raise ServiceError(
            "LimitExceededException",
            f"A resource can have at most {MAX_TAGS} tags; {arn} would have {len(tags)}.",
        )


def add_tags(backend: Backend, arn: str, tags: dict[str, str]) -> None:
    """Add or overwrite tags, enforcing AWS's tag rules."""
    if not tags:
        return
    _check_keys(tags)
    current = backend.tags.setdefault(arn, {})
    merged = {**current, **tags}
    if len(merged) > MAX_TAGS:
        raise ServiceError(
            "LimitExceededException",
            f"A resource can have at most {MAX_TAGS} tags; {arn} would have {len(merged)}.",
        )
    current.update(tags)


def remove_tags(backend: Backend, arn: str, keys: Iterable[str]) -> None:
    current = backend.tags.get(arn)
    if current:
        for key in keys:
            current.pop(key, None)


def drop(backend: Backend, arn: str) -> None:
    """Forget the tags of a deleted resource."""
    backend.tags.pop(arn, None)


def from_list(tags: list[dict[str, Any]] | None) -> dict[str, str]:
    """`[{Key, Value}]` (the Tag shape) to a dict; a missing Value is the empty string."""
    return {t["Key"]: t.get("Value") or "" for t in tags or ()}


def tag_on_create(backend: Backend, arn: str, tags: list[dict[str, Any]] | None) -> None:
    """Apply the `tags` member of a Create* request to the new resource."""
    if tags:
        add_tags(backend, arn, from_list(tags))
