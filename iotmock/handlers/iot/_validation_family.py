"""Errors of the newer IoT families (commands, command executions, software packages).

Their operations model `ValidationException` instead of `InvalidRequestException`, so
business-rule refusals and malformed pagination tokens must use that code too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ..._errors import ServiceError
from ..._paging import paginate
from ...state import Backend
from ...tagging import add_tags

T = TypeVar("T")


def validation_error(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


def apply_tags(backend: Backend, arn: str, tags: dict[str, str] | None) -> None:
    """Tag a new resource; refusals become the errors these operations model: too many
    tags is ServiceQuotaExceededException, any other (reserved key) ValidationException."""
    if not tags:
        return
    try:
        add_tags(backend, arn, tags)
    except ServiceError as error:
        code = "ServiceQuotaExceededException"
        if error.code != "LimitExceededException":
            code = "ValidationException"
        raise ServiceError(code, error.message) from None


def page(
    scope: str,
    source: Callable[[str | None], Iterator[tuple[str, T]]],
    params: dict[str, Any],
    *,
    default_limit: int,
    keep: Callable[[T], bool] | None = None,
) -> tuple[list[T], str | None]:
    """`paginate` with the request's `nextToken`/`maxResults`; a bad token is a
    ValidationException (these operations model no InvalidRequestException)."""
    try:
        return paginate(
            scope,
            source,
            params.get("nextToken"),
            params.get("maxResults"),
            default_limit=default_limit,
            keep=keep,
        )
    except ServiceError as error:
        raise validation_error(error.message) from None
