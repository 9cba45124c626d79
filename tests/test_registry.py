"""The handler registry against the model; not-implemented and crash answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from iotmock import mock_iot
from iotmock.core.model import all_operations
from iotmock.core.operations import HANDLERS, RequestContext, operation
from iotmock.devices.handlers import NEWER_OPERATIONS


def test_every_registered_handler_names_an_operation_of_the_model() -> None:
    # Handlers may exist for operations only newer botocore models define (NEWER_OPERATIONS);
    # every other handler must name an operation of the installed model.
    known = set(all_operations())
    assert HANDLERS, "no handler registered"
    unknown = set(HANDLERS) - known - NEWER_OPERATIONS
    assert unknown == set(), sorted(unknown)


def test_newer_operations_have_handlers_and_are_not_yet_in_an_older_model() -> None:
    assert set(HANDLERS) >= NEWER_OPERATIONS
    known = set(all_operations())
    # Either the installed model has all of them (newest botocore), or none of them: a
    # model with only some would mean the list is stale.
    present = NEWER_OPERATIONS & known
    assert present in (set(), NEWER_OPERATIONS), sorted(present)


def test_registering_twice_is_refused() -> None:
    with pytest.raises(RuntimeError, match="two handlers"):
        operation("iot", "DescribeThing")(lambda ctx, params: {})


@pytest.fixture
def unhandled() -> Iterator[tuple[str, str]]:
    """A real operation whose handler is removed for the duration of the test."""
    key = ("iot", "DescribeThing")
    saved = HANDLERS.pop(key)
    yield key
    HANDLERS[key] = saved


def test_operation_without_handler_answers_501_not_implemented(
    unhandled: tuple[str, str],
) -> None:
    with mock_iot():
        iot = boto3.client("iot", region_name="us-east-1")
        with pytest.raises(iot.exceptions.ClientError) as caught:
            iot.describe_thing(thingName="x")
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert response["Error"]["Code"] == "NotImplemented"
    assert "iot DescribeThing" in response["Error"]["Message"]


@pytest.fixture
def crashing() -> Iterator[None]:
    key = ("iot", "DescribeThing")
    saved = HANDLERS.pop(key)

    def crash(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("boom")

    HANDLERS[key] = crash
    yield
    HANDLERS[key] = saved


def test_exception_in_a_handler_is_a_modeled_internal_failure(crashing: None, backoff: Any) -> None:
    with mock_iot():
        iot = boto3.client("iot", region_name="us-east-1")
        with pytest.raises(iot.exceptions.InternalFailureException) as caught:
            iot.describe_thing(thingName="x")
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "DescribeThing" in response["Error"]["Message"]
    assert "KeyError" in response["Error"]["Message"]
    # A 500 is retried by botocore as AWS's own would be (legacy mode: 5 attempts).
    assert response["ResponseMetadata"]["RetryAttempts"] == 4
    assert len(backoff.sleeps) == 4
