"""The botocore seam: a class-level wrapper around `Endpoint.make_request`.

At that point botocore has validated and serialized the request but not yet signed or
sent it, so the wrapper needs no credentials, reaches clients created before the mock
started, and wins over handlers registered on `before-send` (moto's). Requests to every
other service go to the original method untouched.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
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
_active: list[IotMock] = []  # innermost (most recently started) last
_original: MakeRequest | None = None
# Whether botocore has retried any mocked call in this process (see `_make_request`).
_retried = False


def activate(mock: IotMock) -> None:
    global _original
    with _lock:
        if not _active:
            _original = Endpoint.make_request
            Endpoint.make_request = _make_request
        _active.append(mock)


def deactivate(mock: IotMock) -> None:
    global _original
    with _lock:
        # Remove the most recent activation of this mock (mocks may stop out of order).
        for index in range(len(_active) - 1, -1, -1):
            if _active[index] is mock:
                del _active[index]
                break
        if not _active and _original is not None:
            Endpoint.make_request = _original
            _original = None


def active_mock() -> IotMock | None:
    # No lock on this per-call path: another thread may empty the stack between a
    # check and an index, so read the last item once and treat an empty stack as None.
    try:
        return _active[-1]
    except IndexError:
        return None


def _make_request(
    self: Endpoint, operation_model: OperationModel, request_dict: dict[str, Any]
) -> tuple[AWSResponse, dict[str, Any]]:
    service = SERVICE_BY_ID.get(operation_model.service_model.service_id)
    mock = active_mock()
    if service is None or mock is None:
        original = _original or _unpatched
        return original(self, operation_model, request_dict)  # type: ignore[no-any-return]
    request = _raw_request(request_dict)
    context = request_dict.setdefault("context", {})
    region = context.get("client_region") or mock.region
    url = request_dict.get("url", "")
    # botocore's retry loop (Endpoint._send_request) sits above this seam, so it is
    # replayed here: each answer goes to the client's retry handler through the same
    # `needs-retry` event, which decides, sleeps its backoff and keeps the retry quota
    # (standard, legacy and adaptive modes, max_attempts) exactly as for AWS.
    global _retried
    attempts = 1
    while True:
        context.setdefault("retries", {})["attempt"] = attempts
        _, response = dispatch(mock, service, request, mock.account_id, region, attempt=attempts)
        result = _to_botocore(response, operation_model, url)
        # Until some call of the process has been retried, a success changes nothing in
        # any retry handler (the standard quota is full, the adaptive limiter is off,
        # legacy keeps no state): skipping the event then keeps the common path fast.
        if response.status < 300 and not _retried:
            break
        if not self._needs_retry(attempts, operation_model, request_dict, result):
            break
        _retried = True
        attempts += 1
    result[1]["ResponseMetadata"]["RetryAttempts"] = attempts - 1
    return result


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
    response: RawResponse, operation_model: OperationModel, url: str
) -> tuple[AWSResponse, dict[str, Any]]:
    headers = HeadersDict(response.headers)
    http_response = AWSResponse(url, response.status, headers, _RawBody(response.body))
    body: Any = response.body
    if response.status < 300 and operation_model.has_streaming_output:
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
