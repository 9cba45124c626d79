"""Call recording: every call the mock answered, for assertions (`m.calls`).

The shared dispatch path (`iotmock.core.dispatch`) records each answer, whoever asked
(a botocore client in-process or an HTTP client of the server mode): one `Call` per
attempt, so a call botocore retried twice appears three times, with `attempt` 1, 2, 3.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, overload

from botocore.awsrequest import HeadersDict
from botocore.parsers import RestJSONParser

from iotmock.core.mock_api import FamilyApi
from iotmock.core.model import operation_model
from iotmock.core.protocol import RawResponse


# Not frozen: a frozen dataclass's __init__ costs several times more, on every call.
@dataclass(slots=True)
class Call:
    """One answered call.

    `params` are the decoded request parameters (the operation's input members);
    `response` is the operation's answer as a botocore client parses it (without
    `ResponseMetadata`), or None when it failed with `error` (the error code) and HTTP
    `status`. `time` is the mock's clock (seconds since the epoch); `attempt` counts
    botocore's retries of the same call from 1.
    """

    service: str
    operation: str
    params: dict[str, Any]
    error: str | None
    status: int
    account_id: str
    region: str
    time: float
    attempt: int
    injected: bool = False
    # The answer as sent; parsed on first read of `response`, so recording costs nothing
    # more and the recorded answer never changes with the state afterwards.
    raw: RawResponse | None = field(default=None, repr=False, compare=False)
    _parsed: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def response(self) -> dict[str, Any] | None:
        if self.error is not None or self.raw is None:
            return None
        if self._parsed is None:
            self._parsed = _parse_output(self.service, self.operation, self.raw)
        return self._parsed

    def __repr__(self) -> str:
        outcome = "ok" if self.error is None else f"{self.error} ({self.status})"
        if self.injected:
            outcome += ", injected"
        retry = f" attempt {self.attempt}" if self.attempt > 1 else ""
        return (
            f"<{self.service} {self.operation}({_short(self.params)}) -> {outcome}{retry} "
            f"[{self.account_id} {self.region}]>"
        )


_parser = RestJSONParser()


def _parse_output(service: str, operation: str, raw: RawResponse) -> dict[str, Any]:
    model = operation_model(service, operation)
    shape = model.output_shape
    if shape is None:
        return {}
    parsed: dict[str, Any] = _parser.parse(
        {"headers": HeadersDict(raw.headers), "status_code": raw.status, "body": raw.body},
        shape,
    )
    parsed.pop("ResponseMetadata", None)
    if model.has_streaming_output:
        # A client reads a streaming payload as bytes (a shadow document, say).
        parsed[shape.serialization["payload"]] = raw.body
    return parsed


def _short(params: dict[str, Any], limit: int = 120) -> str:
    text = ", ".join(f"{key}={value!r}" for key, value in params.items())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class CallList(list[Call]):
    """A list of calls whose repr puts one call on a line (readable in a failed assert)."""

    def __repr__(self) -> str:
        if not self:
            return "[] (no calls)"
        lines = [f"  {index}: {call!r}" for index, call in enumerate(self)]
        return f"{len(self)} call(s):\n" + "\n".join(lines)

    def operations(self) -> list[str]:
        """The operation names, in call order."""
        return [call.operation for call in self]


class CallsApi(FamilyApi):
    """`m.calls`: the calls the mock answered, oldest first (docs/testing-failures.md)."""

    def __init__(self, mock: Any) -> None:
        super().__init__(mock)
        self._lock = threading.Lock()
        self._calls: list[Call] = []

    # ------------------------------------------------------------------ sequence

    def __len__(self) -> int:
        return len(self._calls)

    def __iter__(self) -> Iterator[Call]:
        return iter(self.all())

    @overload
    def __getitem__(self, index: int) -> Call: ...

    @overload
    def __getitem__(self, index: slice) -> CallList: ...

    def __getitem__(self, index: int | slice) -> Call | CallList:
        if isinstance(index, slice):
            return CallList(self._calls[index])
        return self._calls[index]

    def __repr__(self) -> str:
        return repr(self.all())

    # ------------------------------------------------------------------ queries

    def all(self) -> CallList:
        """Every recorded call, oldest first."""
        with self._lock:
            return CallList(self._calls)

    def filter(
        self,
        operation: str | None = None,
        *,
        service: str | None = None,
        error: str | None = None,
        ok: bool | None = None,
        params: dict[str, Any] | None = None,
        account_id: str | None = None,
        region: str | None = None,
        where: Callable[[Call], bool] | None = None,
    ) -> CallList:
        """The calls matching every criterion given: `operation` ("Publish"), `service`,
        `error` (an error code), `ok` (succeeded or not), `params` (members that must be
        present with these values), `account_id`, `region`, `where` (any predicate)."""
        wanted = params or {}
        return CallList(
            call
            for call in self.all()
            if (operation is None or call.operation == operation)
            and (service is None or call.service == service)
            and (error is None or call.error == error)
            and (ok is None or call.ok == ok)
            and (account_id is None or call.account_id == account_id)
            and (region is None or call.region == region)
            and all(call.params.get(key, _MISSING) == value for key, value in wanted.items())
            and (where is None or where(call))
        )

    def last(
        self,
        operation: str | None = None,
        *,
        service: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Call:
        """The most recent call matching the criteria (see `filter`); raises an
        AssertionError listing the calls made when there is none."""
        found = self.filter(operation, service=service, params=params)
        if not found:
            wanted = " ".join(
                part
                for part in (
                    service or "",
                    operation or "any operation",
                    f"with {params}" if params else "",
                )
                if part
            )
            raise AssertionError(f"iotmock: no call to {wanted} was recorded; {self.all()!r}")
        return found[-1]

    def clear(self) -> None:
        """Forget the recorded calls."""
        with self._lock:
            self._calls.clear()

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)


_MISSING = object()
