"""Shared fixtures: boto3 clients of the three services inside a fresh mock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from iotmock import IotMock
from iotmock.core import intercept
from iotmock.core.dispatch import modeled_errors
from iotmock.core.faults import GENERIC_ERRORS

REGION = "us-east-1"
ACCOUNT = "123456789012"


@pytest.fixture
def iot(iot_mock: IotMock) -> Iterator[Any]:
    yield boto3.client("iot", region_name=REGION)


@pytest.fixture
def iot_data(iot_mock: IotMock) -> Iterator[Any]:
    yield boto3.client("iot-data", region_name=REGION)


@pytest.fixture
def jobs_data(iot_mock: IotMock) -> Iterator[Any]:
    yield boto3.client("iot-jobs-data", region_name=REGION)


class _RecordedSleep:
    """Stands in for the `time` module of botocore.endpoint: records the backoff sleeps
    of botocore's retry handler instead of sleeping them."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def backoff(monkeypatch: pytest.MonkeyPatch) -> _RecordedSleep:
    """Retries without waiting: botocore still decides and computes every backoff (read
    them in `.sleeps`), only the sleep itself is skipped."""
    import botocore.endpoint

    recorded = _RecordedSleep()
    monkeypatch.setattr(botocore.endpoint, "time", recorded)
    return recorded


# Codes an operation may answer although its model does not list them: the mock's own
# answers, and deliberate choices documented in docs/ (Publish: AWS refuses payloads over
# 128 KB with 413, docs/messages.md).
UNMODELED_BUT_EXPECTED = {
    "NotImplemented",
    "InternalFailureException",
    "UnknownOperationException",
    "InvalidRequestException",  # validation of operations that model no validation error
}
DELIBERATE = {("iot-data", "Publish", "RequestEntityTooLargeException")}


@pytest.fixture(autouse=True)
def answers_use_modeled_errors(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail a test in which any operation answered an error code its model does not list:
    boto3 users catch the modeled exception classes."""
    unmodeled: list[tuple[str, str, str]] = []
    original = intercept.dispatch

    def checked(*args: Any, **kwargs: Any) -> Any:
        operation, response = original(*args, **kwargs)
        code = response.headers.get("x-amzn-errortype")
        service = args[1]
        if (
            code is not None
            and operation != "?"
            and code not in UNMODELED_BUT_EXPECTED
            and (service, operation, code) not in DELIBERATE
            and code not in modeled_errors(service, operation)
            and not (code in GENERIC_ERRORS and args[0].calls.last().injected)
        ):
            unmodeled.append((service, operation, code))
        return operation, response

    monkeypatch.setattr(intercept, "dispatch", checked)
    yield
    assert not unmodeled, f"errors the model does not list for the operation: {unmodeled}"
