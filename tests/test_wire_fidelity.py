"""Wire-level type checks as AWS applies them (issue 10): booleans are only `true` or
`false`, integers beyond Java's int/long are malformed (never compared with the member's
range), Java's `.` does not match line terminators, and an empty URI label never turns a
describe into a list."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from iotmock import IotMock
from iotmock.core.dispatch import dispatch
from iotmock.core.protocol import RawRequest, router
from iotmock.core.validation import compile_java_pattern

RAW = Config(parameter_validation=False, retries={"max_attempts": 1})


@pytest.fixture
def raw_iot(iot_mock: IotMock) -> Iterator[Any]:
    """An iot client whose own parameter validation is off, as a raw HTTP caller."""
    yield boto3.client("iot", region_name="us-east-1", config=RAW)


@pytest.fixture
def raw_data(iot_mock: IotMock) -> Iterator[Any]:
    yield boto3.client("iot-data", region_name="us-east-1", config=RAW)


def _refused(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400, response
    assert response["Error"]["Code"] == "InvalidRequestException", response
    return str(response["Error"]["Message"])


def _send(iot_mock: IotMock, method: str, path: str, query: dict[str, list[str]]) -> Any:
    request = RawRequest(method, path, query)
    _, response = dispatch(iot_mock, "iot", request, iot_mock.account_id, iot_mock.region)
    return response


@pytest.mark.parametrize("text", ["yes", "1", "True", "TRUE", ""])
def test_a_boolean_query_value_must_be_true_or_false(iot_mock: IotMock, text: str) -> None:
    response = _send(iot_mock, "GET", "/thing-groups", {"recursive": [text]})
    assert response.status == 400
    assert {k.lower(): v for k, v in response.headers.items()}["x-amzn-errortype"].startswith(
        "InvalidRequestException"
    )
    assert b"is not a boolean" in response.body


def test_boolean_query_literals_are_read(iot_mock: IotMock, iot: Any) -> None:
    iot.create_thing_group(thingGroupName="root")
    iot.create_thing_group(thingGroupName="child", parentGroupName="root")
    answer = _send(iot_mock, "GET", "/thing-groups", {"recursive": ["false"]})
    assert answer.status == 200
    assert b'"child"' not in answer.body


def test_header_values_use_the_same_strict_converters() -> None:
    # The three models have no boolean or integer header member today; a newer model's
    # would be read by the same converters as query values and labels.
    from iotmock.core.protocol import _scalar_from_text

    convert = _scalar_from_text("boolean")
    assert (convert("true"), convert("false")) == (True, False)
    with pytest.raises(ValueError, match="not a boolean"):
        convert("yes")
    with pytest.raises(ValueError, match="out of range"):
        _scalar_from_text("integer")(str(2**31))
    assert _scalar_from_text("long")(str(2**63 - 1)) == 2**63 - 1


def test_integer_beyond_java_int_is_malformed_not_compared(raw_iot: Any) -> None:
    message = _refused(raw_iot.list_things, maxResults=2**31)
    assert "out of range for a Java integer" in message
    assert "less than or equal to 250" not in message
    # Inside Java's range, the member's own range applies.
    message = _refused(raw_iot.list_things, maxResults=2**31 - 1)
    assert "Member must have value less than or equal to 250" in message


def test_long_beyond_java_long_is_malformed(raw_iot: Any) -> None:
    message = _refused(
        raw_iot.describe_job_execution, jobId="j", thingName="t", executionNumber=2**63
    )
    assert "out of range for a Java long" in message


def test_integer_in_a_json_body_beyond_java_int_is_malformed(raw_iot: Any) -> None:
    behavior = {
        "name": "b",
        "metric": "aws:num-messages-sent",
        "criteria": {"consecutiveDatapointsToAlarm": 2**31},
    }
    message = _refused(
        raw_iot.create_security_profile, securityProfileName="sp", behaviors=[behavior]
    )
    assert "out of range for a Java integer" in message


def test_dot_does_not_match_a_line_terminator(raw_data: Any) -> None:
    # ClientId is `^[^$].*`: "a\nb" breaks the pattern, so no lookup happens (not a 404).
    message = _refused(raw_data.delete_connection, clientId="a\nb")
    assert "Member must satisfy regular expression pattern: ^[^$].*" in message
    for terminator in ("\r", "\u0085", "\u2028", "\u2029"):
        assert compile_java_pattern("^[^$].*").fullmatch(f"a{terminator}b") is None
    assert compile_java_pattern("^[^$].*").fullmatch("a b") is not None
    assert compile_java_pattern("[.]+").fullmatch("..") is not None  # a literal in a class


def test_an_empty_label_is_a_400_for_describe_thing(raw_iot: Any) -> None:
    assert "at 'thingName'" in _refused(raw_iot.describe_thing, thingName="")


def test_the_router_prefers_the_operation_the_caller_serialized() -> None:
    # DescribeCertificateProvider with an empty name has ListCertificateProviders' URL.
    iot = router("iot")
    assert iot.route("GET", "/certificate-providers/", {})[0] == "ListCertificateProviders"
    assert iot.route("GET", "/certificate-providers/", {}, "DescribeCertificateProvider") == (
        "DescribeCertificateProvider",
        {"certificateProviderName": ""},
    )
    # A hint that does not fit the URL changes nothing.
    assert iot.route("GET", "/things/x", {}, "ListThings")[0] == "DescribeThing"


def test_an_empty_label_is_a_400_for_describe_certificate_provider(raw_iot: Any) -> None:
    message = _refused(raw_iot.describe_certificate_provider, certificateProviderName="")
    assert "at 'certificateProviderName'" in message
