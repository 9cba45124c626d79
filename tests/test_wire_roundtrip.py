"""The wire layer against botocore itself, for every operation of the three models.

Inputs: a value for every member (optional ones included) is serialized by botocore's
own rest-json serializer into a real HTTP request (URL, headers, body); iotmock routes
that raw request and decodes it, and must recover exactly the parameters. Outputs: a
value for every output member is encoded by iotmock and parsed by botocore's parser,
which must return exactly that value.
"""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.awsrequest import prepare_request_dict
from botocore.parsers import RestJSONParser
from botocore.response import StreamingBody
from botocore.serialize import create_serializer
from modelgen import valid_value

from iotmock.core.model import SERVICE_NAMES, all_operations, operation_model, service_model
from iotmock.core.protocol import RawRequest, decode_request, encode_output, router

pytestmark = pytest.mark.model_wide

OPERATIONS = all_operations()
ENDPOINT = "https://iot.us-east-1.amazonaws.com"


def test_every_operation_of_the_installed_models_is_swept() -> None:
    # Counted from whatever botocore is installed (285 in 1.43, 288 in 1.44), never pinned.
    expected = sum(len(service_model(s).operation_names) for s in SERVICE_NAMES)
    assert len(OPERATIONS) == expected == len(set(OPERATIONS))


def _raw_request(service: str, operation: str, params: dict[str, Any]) -> RawRequest:
    model = operation_model(service, operation)
    serializer = create_serializer("rest-json", include_validation=False)
    request = serializer.serialize_to_request(params, model)
    prepare_request_dict(request, endpoint_url=ENDPOINT)
    url = urlsplit(request["url"])
    body = request["body"]
    if isinstance(body, str):
        body = body.encode()
    return RawRequest(
        method=request["method"],
        path=url.path,
        query=parse_qs(url.query, keep_blank_values=True),
        headers={k.lower(): v for k, v in request["headers"].items()},
        body=body or b"",
    )


@pytest.mark.parametrize(("service", "operation"), OPERATIONS, ids=lambda v: str(v))
def test_decoder_recovers_what_botocore_serialized(service: str, operation: str) -> None:
    model = operation_model(service, operation)
    params = valid_value(model.input_shape) if model.input_shape is not None else {}
    raw = _raw_request(service, operation, params)
    routed, labels = router(service).route(raw.method, raw.path, raw.query)
    assert routed == operation
    assert decode_request(service, operation, labels, raw) == params


def test_percent_encoded_and_greedy_labels_round_trip() -> None:
    params = {"thingName": "a b/c%d"}
    raw = _raw_request("iot", "DescribeThing", params)
    assert "%2F" in raw.path  # botocore encodes '/' inside a non-greedy label
    operation, labels = router("iot").route(raw.method, raw.path, raw.query)
    assert decode_request("iot", operation, labels, raw) == params
    arn = "arn:aws:iot:us-east-1:123456789012:ruledestination/http/abc"
    raw = _raw_request("iot", "GetTopicRuleDestination", {"arn": arn})
    operation, labels = router("iot").route(raw.method, raw.path, raw.query)
    assert operation == "GetTopicRuleDestination"
    assert decode_request("iot", operation, labels, raw) == {"arn": arn}


def _normalize(value: Any) -> Any:
    if isinstance(value, StreamingBody):
        return value.read()
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    return value


@pytest.mark.parametrize(("service", "operation"), OPERATIONS, ids=lambda v: str(v))
def test_botocore_parses_what_iotmock_encoded(service: str, operation: str) -> None:
    model = operation_model(service, operation)
    if model.output_shape is None:
        pytest.skip("no output shape")
    output = valid_value(model.output_shape)
    for name, member in model.output_shape.members.items():
        if member.serialization.get("location") == "statusCode":
            output[name] = 200
    response = encode_output(model, output)
    body: Any = response.body
    if model.has_streaming_output:
        body = StreamingBody(io.BytesIO(response.body), len(response.body))
    parsed = RestJSONParser().parse(
        {"headers": response.headers, "status_code": response.status, "body": body},
        model.output_shape,
    )
    parsed.pop("ResponseMetadata", None)
    assert _normalize(parsed) == output


# --------------------------------------------------------------------------- malformed input


def _dispatch_raw(request: RawRequest, service: str = "iot") -> tuple[int, str, str]:
    """(status, error code, message) of one raw request through the whole wire layer."""
    from iotmock import mock_iot
    from iotmock.core.dispatch import dispatch

    with mock_iot() as mock:
        _, response = dispatch(mock, service, request, "123456789012", "us-east-1")
    body = json.loads(response.body)
    return response.status, response.headers.get("x-amzn-errortype", ""), body.get("message", "")


@pytest.mark.parametrize(
    "request_",
    [
        RawRequest("GET", "/audit/tasks", {"startTime": ["1e30"], "endTime": ["2"]}),
        RawRequest("GET", "/audit/tasks", {"startTime": ["-1e20"], "endTime": ["2"]}),
        RawRequest("POST", "/audit/findings", body=b'{"startTime": 99999999999999999999}'),
        RawRequest("POST", "/audit/findings", body=b'{"startTime": true}'),
    ],
    ids=["query-huge", "query-negative-huge", "body-huge", "body-boolean"],
)
def test_unreadable_timestamps_are_invalid_requests(request_: RawRequest) -> None:
    status, code, message = _dispatch_raw(request_)
    assert (status, code) == (400, "InvalidRequestException")
    assert message.startswith("Could not read the request: ")


@pytest.mark.parametrize(
    ("path", "body", "member"),
    [
        ("/audit/tasks", b'{"targetCheckNames": [null]}', "targetCheckNames.1.member"),
        ("/streams/s", b'{"files": [null], "roleArn": "arn:aws:iam::1:role/r"}', "files.1.member"),
        ("/security-profile-behaviors/validate", b'{"behaviors": [null]}', "behaviors.1.member"),
    ],
)
def test_null_list_items_are_validation_errors(path: str, body: bytes, member: str) -> None:
    status, code, message = _dispatch_raw(RawRequest("POST", path, body=body))
    assert (status, code) == (400, "InvalidRequestException")
    assert message == (
        f"1 validation error detected: Value null at '{member}' failed to satisfy "
        "constraint: Member must not be null"
    )


@pytest.mark.parametrize(
    ("value", "rendered"),
    [(b"5", "5"), (b'{"x": "y"}', "{x=y}"), (b'["l"]', "[l]"), (b"true", "true")],
)
def test_map_values_of_the_wrong_type_are_validation_errors(value: bytes, rendered: str) -> None:
    body = b'{"attributePayload": {"attributes": {"a": ' + value + b"}}}"
    status, code, message = _dispatch_raw(RawRequest("POST", "/things/t", body=body))
    assert (status, code) == (400, "InvalidRequestException")
    assert message == (
        f"1 validation error detected: Value '{rendered}' at 'attributePayload.attributes.a' "
        "failed to satisfy constraint: Member must be of type string"
    )


def test_shadow_update_with_a_lone_surrogate_escape_is_invalid_json() -> None:
    body = b'{"state": {"reported": {"x": "\\ud800"}}}'
    request = RawRequest("POST", "/things/t/shadow", body=body)
    assert _dispatch_raw(request, "iot-data") == (400, "InvalidRequestException", "Invalid JSON")
    # A surrogate pair spelled with escapes is one valid character.
    paired = RawRequest("POST", "/things/t/shadow", body=body.replace(b"800", b"83d\\ude00"))
    assert _dispatch_raw(paired, "iot-data")[0] == 200
