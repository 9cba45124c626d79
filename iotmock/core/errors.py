"""Errors are data: a handler raises `ServiceError(code, message)` and the wire layer turns
it into the HTTP status of the model's error shape, an `x-amzn-ErrorType` header and a JSON
body, which botocore turns into the modeled exception class."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """An AWS error answer.

    `code` is the error shape name of the model (`ResourceNotFoundException`, ...). `status`
    is taken from the model's error shape when not given. `fields` are extra members of the
    error shape (e.g. `resourceId` / `resourceArn` of ResourceAlreadyExistsException).
    """

    def __init__(
        self, code: str, message: str, *, status: int | None = None, **fields: Any
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields


def invalid_request(message: str) -> ServiceError:
    return ServiceError("InvalidRequestException", message)


def not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message)


def already_exists(message: str, resource_id: str, resource_arn: str) -> ServiceError:
    return ServiceError(
        "ResourceAlreadyExistsException",
        message,
        resourceId=resource_id,
        resourceArn=resource_arn,
    )


def version_conflict(message: str) -> ServiceError:
    return ServiceError("VersionConflictException", message)


def conflict(message: str) -> ServiceError:
    return ServiceError("ConflictException", message)


def delete_conflict(message: str) -> ServiceError:
    return ServiceError("DeleteConflictException", message)


def limit_exceeded(message: str) -> ServiceError:
    return ServiceError("LimitExceededException", message)
