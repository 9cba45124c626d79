"""Answers for aiobotocore clients: the same parsed responses as for botocore, wrapped in
aiobotocore's own response and streaming-body classes (so `await resp["payload"].read()`
works as against AWS), and the worker thread a slowed answer waits in. Imported only when
an aiobotocore endpoint makes a request; the retry replay is `intercept._answer_async`."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from aiobotocore.awsrequest import AioAWSResponse
from aiobotocore.response import AioStreamingBody
from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.model import OperationModel

from iotmock.core.intercept import _to_botocore
from iotmock.core.protocol import RawResponse

T = TypeVar("T")


class _Content:
    """The part of aiohttp's `StreamReader` AioStreamingBody reads from."""

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._position = 0

    async def read(self, amount: int = -1) -> bytes:
        end = len(self._body) if amount < 0 else self._position + amount
        chunk = self._body[self._position : end]
        self._position += len(chunk)
        return chunk

    def at_eof(self) -> bool:
        return self._position >= len(self._body)


class _RawResponse:
    """The part of aiohttp's `ClientResponse` aiobotocore reads a response from."""

    def __init__(self, url: str, body: bytes) -> None:
        self.url = url
        self.content = _Content(body)

    async def read(self) -> bytes:
        return await self.content.read()

    def close(self) -> None:
        pass

    def release(self) -> None:
        pass


def to_aiobotocore(
    response: RawResponse, operation_model: OperationModel, url: str
) -> tuple[AWSResponse, dict[str, Any]]:
    http_response = AioAWSResponse(
        url, response.status, HeadersDict(response.headers), _RawResponse(url, response.body)
    )

    def streaming(body: bytes) -> Any:
        return AioStreamingBody(_RawResponse(url, body), len(body))

    return _to_botocore(response, operation_model, url, http_response, streaming)


async def in_thread(call: Callable[[], T]) -> T:
    """`call()` run in a worker thread (with this context), awaited without blocking the
    event loop: asyncio's, or trio's through anyio (aiobotocore's httpx backend)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # not asyncio: the anyio endpoint on trio (anyio comes with httpx)
        to_thread: Any = importlib.import_module("anyio.to_thread")
        result: T = await to_thread.run_sync(call)
        return result
    return await asyncio.to_thread(call)
