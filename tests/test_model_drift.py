"""The installed botocore against the handler registry: the drift check.

`.ci/run` runs every `model_wide` test twice, under the pinned botocore and under the
newest one PyPI serves. Nothing here counts operations by hand: every number comes from
the installed model, so a botocore release that adds an operation makes these tests fail
(until a handler serves it) instead of a user meeting a 501.
"""

from __future__ import annotations

import re
from typing import Any

import boto3
import botocore
import pytest
from botocore import xform_name
from botocore.exceptions import ClientError
from modelgen import valid_value
from pending import PENDING_OPERATIONS

from iotmock import mock_iot
from iotmock.core.model import SERVICE_NAMES, all_operations, operation_model, operation_names
from iotmock.core.operations import HANDLERS
from iotmock.core.protocol import router
from iotmock.coverage import generated_from, render

pytestmark = pytest.mark.model_wide


def _unserved() -> list[tuple[str, str]]:
    return [key for key in all_operations() if key not in HANDLERS]


def test_every_operation_of_the_installed_model_has_a_handler() -> None:
    missing = sorted(set(_unserved()) - PENDING_OPERATIONS)
    assert not missing, (
        f"botocore {botocore.__version__} models operations no handler serves "
        f"(they answer 501 NotImplemented): {missing}"
    )


def test_pending_operations_are_still_pending() -> None:
    served = sorted(key for key in PENDING_OPERATIONS if key in HANDLERS)
    assert not served, f"handlers exist now: remove {served} from tests/pending.py"


def test_pending_operations_answer_501_naming_the_operation() -> None:
    pending = [key for key in _unserved() if key in PENDING_OPERATIONS]
    if not pending:
        pytest.skip(f"botocore {botocore.__version__} models none of the pending operations")
    with mock_iot():
        for service, operation in pending:
            client: Any = boto3.client(service, region_name="us-east-1")
            shape = operation_model(service, operation).input_shape
            params = valid_value(shape) if shape is not None else {}
            with pytest.raises(ClientError) as caught:
                getattr(client, xform_name(operation))(**params)
            assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
            assert caught.value.response["Error"]["Code"] == "NotImplemented"
            assert operation in caught.value.response["Error"]["Message"]


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_the_router_serves_exactly_the_installed_operations(service: str) -> None:
    routes = router(service)
    for name in operation_names(service):
        http = operation_model(service, name).http
        path = re.sub(r"\{[^}]+\}", "x", http["requestUri"].partition("?")[0])
        query: dict[str, list[str]] = {}
        for pair in filter(None, http["requestUri"].partition("?")[2].split("&")):
            key, _, value = pair.partition("=")
            query[key] = [value or "x"]
        assert routes.route(http["method"], path, query)[0] == name


def test_the_coverage_page_renders_the_installed_model() -> None:
    page = render()
    assert generated_from(page) == botocore.__version__
    total = len(all_operations())
    served = total - len(_unserved())
    assert f"**{served} of {total} operations implemented.**" in page
    for service in SERVICE_NAMES:
        names = operation_names(service)
        done = sum((service, name) in HANDLERS for name in names)
        assert f"## `{service}`: {done} of {len(names)} implemented" in page
