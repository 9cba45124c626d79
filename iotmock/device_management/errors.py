"""Errors of the newer IoT families (commands, command executions, software packages).

Their operations model `ValidationException` instead of `InvalidRequestException` (and
`ServiceQuotaExceededException` instead of `LimitExceededException`); the dispatcher
translates the classic codes raised by shared helpers (paging, tagging), and handlers of
these families raise `validation_error` for their own refusals.
"""

from __future__ import annotations

from iotmock.core.errors import ServiceError


def validation_error(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


def conflict_error(message: str, resource_id: str) -> ServiceError:
    """ConflictException naming the resource (its `resourceId` member)."""
    return ServiceError("ConflictException", message, resourceId=resource_id)
