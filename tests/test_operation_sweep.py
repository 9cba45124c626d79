"""Every operation of the installed models, called with generated inputs: never a crash.

Each operation is called through boto3 with only its required members and again with
every member filled in. Whatever the answer (success or a modeled error), it must never
be a 500 or an exception escaping the mock, and never a 501: an operation that the
installed botocore models and no handler serves fails here (except the few listed in
tests/pending.py), so a botocore upgrade shows up as a failing test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError
from modelgen import valid_value
from pending import PENDING_OPERATIONS

from iotmock import mock_iot
from iotmock.core.model import all_operations, operation_model

pytestmark = pytest.mark.model_wide


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, Any]]:
    config = Config(retries={"max_attempts": 1})
    with mock_iot():
        yield {
            service: boto3.client(service, region_name="us-east-1", config=config)
            for service in ("iot", "iot-data", "iot-jobs-data")
        }


@pytest.mark.parametrize("full", [False, True], ids=["required", "full"])
@pytest.mark.parametrize(("service", "operation"), all_operations(), ids=str)
def test_operation_never_answers_500(
    service: str, operation: str, full: bool, clients: dict[str, Any]
) -> None:
    shape = operation_model(service, operation).input_shape
    params = valid_value(shape, full=full) if shape is not None else {}
    method = getattr(clients[service], xform_name(operation))
    try:
        method(**params)
    except ClientError as error:
        status = error.response["ResponseMetadata"]["HTTPStatusCode"]
        assert status != 500, error.response["Error"]
        if status == 501:
            assert (service, operation) in PENDING_OPERATIONS, error.response["Error"]
            return
        assert "validation error" not in error.response["Error"]["Message"], (
            "a generated valid input was rejected: " + error.response["Error"]["Message"]
        )
