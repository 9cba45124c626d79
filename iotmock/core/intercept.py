"""The botocore seam: a class-level wrapper around `Endpoint.make_request`.

At that point botocore has validated and serialized the request but not yet signed or
sent it, so the wrapper needs no credentials, reaches clients created before the mock
started, and wins over handlers registered on `before-send` (moto's). Requests to every
other service go to the original method untouched. aiobotocore's `AioEndpoint` inherits
the same method and awaits it: for its endpoints the wrapper answers with an awaitable.
The client's retry loop sits above the seam, so the wrapper replays it, through the
endpoint's own `_needs_retry` (awaited for aiobotocore, whose backoff sleep is async).

Which mock answers a call: the innermost active mock started in the calling thread or
asyncio task (a context variable: a task sees the mocks of the context it was created in,
never the ones its children start); a thread that started none (a worker pool of the code
under test, which copies no context) gets the most recently started active mock.
"""

from __future__ import annotations

import contextvars
import io
import threading
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.endpoint import Endpoint
from botocore.model import OperationModel
from botocore.parsers import RestJSONParser
from botocore.response import StreamingBody

from iotmock.core.dispatch import dispatch
from iotmock.core.model import SERVICE_BY_ID
from iotmock.core.protocol import RawRequest, RawResponse

if TYPE_CHECKING:
    from iotmock._mock import IotMock

MakeRequest = Callable[[Endpoint, OperationModel, dict[str, Any]], Any]

_lock = threading.RLock()
_active: list[IotMock] = []  # every activation, process-wide; most recent last
# The activations made in this thread or task, most recent last. A tuple: a task copies
# its parent's context, and must never change the parent's stack in place.
_local: contextvars.ContextVar[tuple[IotMock, ...]] = contextvars.ContextVar(
    "iotmock_active", default=()
)
_original: MakeRequest | None = None
# Whether botocore (or aiobotocore) has retried any mocked call in this process
# (see `_make_request`).
_retried = False


def activate(mock: IotMock) -> None:
    global _original
    with _lock:
        if not _active:
            _original = Endpoint.make_request
            Endpoint.make_request = _make_request
        _active.append(mock)
    _local.set((*_local.get(), mock))


def deactivate(mock: IotMock) -> None:
    global _original
    with _lock:
        # Remove the most recent activation of this mock (mocks may stop out of order).
        _remove_last(_active, mock)
        if not _active and _original is not None:
            Endpoint.make_request = _original
            _original = None
    local = list(_local.get())
    if _remove_last(local, mock):
        _local.set(tuple(local))


def _remove_last(stack: list[IotMock], mock: IotMock) -> bool:
    for index in range(len(stack) - 1, -1, -1):
        if stack[index] is mock:
            del stack[index]
            return True
    return False


def active_mock() -> IotMock | None:
    """The mock answering calls made here (see the module docstring)."""
    local = _local.get()
    if local:
        top = local[-1]
        if top.started:
            return top
        # Stopped from another thread or task: its entry here is stale, and the next
        # one down (or the process-wide fallback) answers.
        for mock in reversed(local):
            if mock.started:
                return mock
    # No lock on this per-call path: another thread may empty the stack between a
    # check and an index, so read the last item once and treat an empty stack as None.
    try:
        return _active[-1]
    except IndexError:
        return None


def _make_request(
    self: Endpoint, operation_model: OperationModel, request_dict: dict[str, Any]
) -> Any:
    service = SERVICE_BY_ID.get(operation_model.service_model.service_id)
    mock = active_mock()
    if service is None or mock is None:
        original = _original or _unpatched
        return original(self, operation_model, request_dict)
    request = _raw_request(request_dict)
    # botocore knows which operation it serialized: URLs two operations share (an empty
    # label) are settled by it, never guessed.
    request.operation = operation_model.name
    context = request_dict.setdefault("context", {})
    region = context.get("client_region") or mock.region
    if type(self) in _async_endpoints or _is_async(type(self)):
        # Answered when awaited, in the task that awaits (as aiobotocore sends then).
        return _answer_async(self, mock, service, request, region, operation_model, request_dict)
    url = request_dict.get("url", "")
    # botocore's retry loop (Endpoint._send_request) sits above this seam, so it is
    # replayed here: each answer goes to the client's retry handler through the same
    # `needs-retry` event, which decides, sleeps its backoff and keeps the retry quota
    # (standard, legacy and adaptive modes, max_attempts) exactly as for AWS.
    attempts = 1
    while True:
        response = _attempt(mock, service, request, region, context, attempts)
        result = _to_botocore(response, operation_model, url)
        # Until some call of the process has been retried, a success changes nothing in
        # any retry handler (the standard quota is full, the adaptive limiter is off,
        # legacy keeps no state): skipping the event then keeps the common path fast.
        if (response.status < 300 and not _retried) or not self._needs_retry(
            attempts, operation_model, request_dict, result
        ):
            return _count_retries(result, attempts)
        attempts += 1


def _attempt(
    mock: IotMock,
    service: str,
    request: RawRequest,
    region: str,
    context: dict[str, Any],
    attempt: int,
) -> RawResponse:
    """Answer attempt number `attempt` (from 1) of a call, as botocore numbers it."""
    global _retried
    if attempt > 1:
        _retried = True
    context.setdefault("retries", {})["attempt"] = attempt
    return dispatch(mock, service, request, mock.account_id, region, attempt=attempt)[1]


def _count_retries(
    result: tuple[AWSResponse, dict[str, Any]], attempts: int
) -> tuple[AWSResponse, dict[str, Any]]:
    """`result` with the retries botocore made (not the attempts), as botocore sets it."""
    result[1]["ResponseMetadata"]["RetryAttempts"] = attempts - 1
    return result


_async_endpoints: set[type] = set()
_sync_endpoints: set[type] = set()


def _is_async(kind: type) -> bool:
    """Whether `kind` is (a subclass of) aiobotocore's AioEndpoint; cached per class."""
    if kind in _sync_endpoints:
        return False
    if any(base.__module__.startswith("aiobotocore.") for base in kind.__mro__):
        _async_endpoints.add(kind)
        return True
    _sync_endpoints.add(kind)
    return False


async def _answer_async(
    endpoint: Endpoint,
    mock: IotMock,
    service: str,
    request: RawRequest,
    region: str,
    operation_model: OperationModel,
    request_dict: dict[str, Any],
) -> tuple[AWSResponse, dict[str, Any]]:
    """The same replay of the retry loop for aiobotocore's AioEndpoint, whose
    `_needs_retry` awaits the client's async `needs-retry` handlers and sleeps the
    backoff with the endpoint's own non-blocking sleep (asyncio's, or anyio's)."""
    from iotmock.core.aio import in_thread, to_aiobotocore  # imports aiobotocore

    url = request_dict.get("url", "")
    context = request_dict["context"]
    needs_retry: Callable[..., Awaitable[bool]] = endpoint._needs_retry
    attempts = 1
    while True:
        if any(fault.latency for fault in mock.faults.active()):
            # A fault's latency sleeps in dispatch: in a worker thread, the event loop
            # (and every other task on it) runs on meanwhile.
            answer = partial(_attempt, mock, service, request, region, context, attempts)
            response = await in_thread(answer)
        else:
            response = _attempt(mock, service, request, region, context, attempts)
        result = to_aiobotocore(response, operation_model, url)
        if (response.status < 300 and not _retried) or not await needs_retry(
            attempts, operation_model, request_dict, result
        ):
            return _count_retries(result, attempts)
        attempts += 1


_unpatched: MakeRequest = Endpoint.make_request


def _raw_request(request_dict: dict[str, Any]) -> RawRequest:
    query: dict[str, list[str]] = {}
    for key, value in (request_dict.get("query_string") or {}).items():
        query[key] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    body = request_dict.get("body") or b""
    if hasattr(body, "read"):
        position = body.tell() if hasattr(body, "tell") else None
        data = body.read()
        if position is not None and hasattr(body, "seek"):
            body.seek(position)
        body = data
    if isinstance(body, str):
        body = body.encode()
    headers = {
        k.lower(): v.decode() if isinstance(v, bytes) else str(v)
        for k, v in request_dict.get("headers", {}).items()
    }
    return RawRequest(request_dict["method"], request_dict["url_path"], query, headers, body)


class _RawBody:
    """The minimal urllib3-like body AWSResponse reads `.content` from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        yield self._body


_parser = RestJSONParser()


def _to_botocore(
    response: RawResponse,
    operation_model: OperationModel,
    url: str,
    http_response: AWSResponse | None = None,
    streaming_body: Callable[[bytes], Any] | None = None,
) -> tuple[AWSResponse, dict[str, Any]]:
    """The (http response, parsed) pair botocore's `make_request` returns; aiobotocore
    passes its own response class and streaming body."""
    headers = HeadersDict(response.headers)
    if http_response is None:
        http_response = AWSResponse(url, response.status, headers, _RawBody(response.body))
    body: Any = response.body
    if response.status < 300 and operation_model.has_streaming_output:
        if streaming_body is not None:
            body = streaming_body(response.body)
        else:
            body = StreamingBody(io.BytesIO(response.body), len(response.body))
    response_dict = {
        "headers": headers,
        "status_code": response.status,
        "body": body,
        "context": {"operation_name": operation_model.name},
    }
    parsed: dict[str, Any] = _parser.parse(response_dict, operation_model.output_shape)
    if response.status >= 300:
        code = parsed.get("Error", {}).get("Code")
        error_shape = operation_model.service_model.shape_for_error_code(code) if code else None
        if error_shape is not None:
            parsed.update(_parser.parse(response_dict, error_shape))
    parsed.setdefault("ResponseMetadata", {})["RetryAttempts"] = 0
    return http_response, parsed
