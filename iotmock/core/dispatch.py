"""One request through the whole wire layer: route, decode, validate, handle, encode."""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from iotmock.core import clock
from iotmock.core.calls import Call
from iotmock.core.errors import ServiceError
from iotmock.core.faults import FaultPredicateError
from iotmock.core.model import operation_model
from iotmock.core.operations import HANDLERS, RequestContext, not_implemented
from iotmock.core.protocol import (
    RawRequest,
    RawResponse,
    decode_request,
    encode_error,
    encode_output,
    router,
)
from iotmock.core.validation import validate

if TYPE_CHECKING:
    from iotmock._mock import IotMock

logger = logging.getLogger("iotmock")


# Shared helpers (paging tokens, tagging, lookups) raise the classic IoT codes; an
# operation that does not model such a code answers the first equivalent it does model:
# the newer families model ValidationException / ServiceQuotaExceededException, and
# operations without a 404 report a missing referenced resource as an invalid request.
_EQUIVALENT_CODES: dict[str, tuple[str, ...]] = {
    "InvalidRequestException": ("ValidationException",),
    "LimitExceededException": ("ServiceQuotaExceededException",),
    "ResourceNotFoundException": ("InvalidRequestException", "ValidationException"),
}


@functools.cache
def modeled_errors(service: str, operation: str) -> frozenset[str]:
    """The error codes the model lists for an operation."""
    return frozenset(shape.name for shape in operation_model(service, operation).error_shapes)


def as_modeled(service: str, operation: str, error: ServiceError) -> ServiceError:
    """`error`, or its modeled equivalent when the operation does not model its code."""
    equivalents = _EQUIVALENT_CODES.get(error.code)
    if equivalents is None or operation == "?":
        return error
    modeled = modeled_errors(service, operation)
    if error.code in modeled:
        return error
    for code in equivalents:
        if code in modeled:
            return ServiceError(code, error.message, **error.fields)
    return error


def dispatch(
    mock: IotMock,
    service: str,
    request: RawRequest,
    account_id: str,
    region: str,
    served_address: str | None = None,
    attempt: int | None = None,
) -> tuple[str, RawResponse]:
    """Answer `request` to `service` as AWS would; returns (operation name, response).
    `served_address` is the server's address when the request came over HTTP.

    Every answer is recorded in `mock.calls`; `attempt` counts retries of one call from 1
    (None: read from botocore's `amz-sdk-request` header, as a server sees it).
    """
    operation = "?"
    params: dict[str, Any] = {}
    injected = False
    try:
        operation, labels = router(service).route(
            request.method, request.path, request.query, request.operation
        )
        params = decode_request(service, operation, labels, request)
        # Faults fire in front of the service, as throttling and outages do.
        fault = mock.faults._fire(service, operation, params)
        if fault is not None:
            injected = True
            raise fault
        validate(service, operation, params)
        handler = HANDLERS.get((service, operation))
        if handler is None:
            raise not_implemented(service, operation)
        with mock.lock:
            ctx = RequestContext(
                mock,
                mock._state(account_id, region),
                service,
                operation,
                account_id,
                region,
                served_address,
            )
            output = handler(ctx, params)
        response = encode_output(operation_model(service, operation), output)
    except ServiceError as error:
        response = encode_error(service, as_modeled(service, operation, error))
    except FaultPredicateError:
        raise  # the test's own predicate failed: tell the test, not the client
    except Exception as exc:  # a bug in iotmock: answer it as AWS answers its own bugs
        logger.exception("iotmock handler for %s %s crashed", service, operation)
        failure = ServiceError(
            "InternalFailureException",
            f"iotmock failed inside {service} {operation}: {type(exc).__name__}: {exc}. "
            "This is a bug in iotmock; please report it with this message.",
            status=500,
        )
        response = encode_error(service, failure)
    failed = response.status >= 300
    mock.calls._record(
        Call(
            service=service,
            operation=operation,
            params=params,
            error=response.headers.get("x-amzn-errortype") if failed else None,
            status=response.status,
            account_id=account_id,
            region=region,
            time=clock.now(),
            attempt=attempt if attempt is not None else _attempt_header(request),
            injected=injected,
            raw=response,
        )
    )
    return operation, response


def _attempt_header(request: RawRequest) -> int:
    """The attempt number botocore sends in `amz-sdk-request: attempt=2; max=3`."""
    header = request.headers.get("amz-sdk-request", "")
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == "attempt" and value.isdigit():
            return int(value)
    return 1
