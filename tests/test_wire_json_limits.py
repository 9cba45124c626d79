"""JSON bodies the wire layer must refuse with the operation's modeled 400, never a 500
(which botocore would retry): nesting deep enough to exhaust Python's recursion, and
valid JSON that is not the object an input structure needs."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from server_helpers import REGION, request, served, signed_headers

from iotmock import IotMock, mock_iot
from iotmock.registry.records import registry_of
from iotmock.server.http import IotServer, ServerOptions

__all__ = ["served"]

DEEP = 100_000


def _nested(depth: int, around: str = "@") -> str:
    """An array nested `depth` levels deep, put in place of the @ of `around`."""
    return around.replace("@", "[" * depth + "]" * depth)


@pytest.fixture
def roomy() -> Iterator[IotServer]:
    """A served mock whose body cap lets a 100 000-deep document through."""
    mock = IotMock()
    mock.reset()
    server = IotServer(mock, ServerOptions(port=0, socket_timeout=5, max_body=1 << 20)).start()
    yield server
    server.stop()


INVALID, VALIDATION = "InvalidRequestException", "ValidationException"
# id -> (service, method, path, body, the modeled error answered)
NESTED_BODIES = {
    "body": ("iot", "POST", "/things/n6", _nested(DEEP), INVALID),
    "member": ("iot", "POST", "/things/n6", _nested(DEEP, '{"attributePayload": @}'), INVALID),
    # Shallow enough to parse, deep enough for the recursive checks after decoding.
    "member-500": ("iot", "POST", "/things/n6", _nested(500, '{"thingTypeName": @}'), INVALID),
    "payload": ("iot", "POST", "/rules/r6", _nested(DEEP), INVALID),
    "jobs-data": ("iot-jobs-data", "PUT", "/things/n6/jobs/$next", _nested(DEEP), INVALID),
    # Operations that model no InvalidRequestException answer their equivalent.
    "validation": ("iot", "PUT", "/commands/c6", _nested(DEEP), VALIDATION),
    "jobs-validation": ("iot-jobs-data", "POST", "/command-executions", _nested(DEEP), VALIDATION),
}


@pytest.mark.parametrize(
    ("service", "method", "path", "body", "code"), NESTED_BODIES.values(), ids=NESTED_BODIES
)
def test_deeply_nested_json_bodies_are_malformed_requests(
    roomy: IotServer, service: str, method: str, path: str, body: str, code: str
) -> None:
    status, headers, answer = request(roomy.port, method, path, body, signed_headers(service))
    assert (status, headers["x-amzn-errortype"]) == (400, code), answer[:300]
    assert "Could not read the request" in json.loads(answer)["message"]
    assert len(registry_of(roomy.mock.backend()).things) == 0


@pytest.mark.parametrize("body", ["[]", '"x"', "1", "null", "true"])
def test_json_that_is_not_an_object_is_no_empty_input(served: IotServer, body: str) -> None:
    iot = signed_headers("iot")
    status, headers, answer = request(served.port, "POST", "/things/n6", body, iot)
    assert (status, headers["x-amzn-errortype"]) == (400, "InvalidRequestException")
    assert "not an object" in json.loads(answer)["message"]
    assert "n6" not in registry_of(served.mock.backend()).things
    # The same for an input whose body is a payload member (CreateTopicRule), and for
    # an operation that models ValidationException instead (StartCommandExecution).
    status, headers, _ = request(served.port, "POST", "/rules/r6", body, iot)
    assert (status, headers["x-amzn-errortype"]) == (400, "InvalidRequestException")
    jobs = signed_headers("iot-jobs-data")
    status, headers, _ = request(served.port, "POST", "/command-executions", body, jobs)
    assert (status, headers["x-amzn-errortype"]) == (400, "ValidationException")
    # An empty body is still an empty input.
    assert request(served.port, "POST", "/things/n6", b"", iot)[0] == 200


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(_nested(DEEP), id="document"),
        pytest.param(_nested(DEEP, '{"state": {"reported": {"a": @}}}'), id="state"),
        pytest.param(_nested(500, '{"state": {"reported": {"a": @}}}'), id="state-500"),
        pytest.param(_nested(DEEP, '{"state": {"reported": {}}, "clientToken": @}'), id="token"),
    ],
)
def test_deeply_nested_shadow_payloads_over_http(roomy: IotServer, payload: str) -> None:
    data = signed_headers("iotdata")
    status, headers, answer = request(roomy.port, "POST", "/things/s/shadow", payload, data)
    assert (status, headers["x-amzn-errortype"]) == (400, "InvalidRequestException"), answer
    assert json.loads(answer)["message"] in (
        "Invalid JSON",
        "JSON contains too many levels of nesting; maximum is 6",
    )


def test_deeply_nested_shadow_payload_through_boto3() -> None:
    with mock_iot() as m:
        data = boto3.client("iot-data", region_name=REGION)
        for payload in (_nested(DEEP), _nested(DEEP, '{"state": {"desired": {"a": @}}}')):
            with pytest.raises(data.exceptions.InvalidRequestException, match="Invalid JSON"):
                data.update_thing_shadow(thingName="s", payload=payload.encode())
        # A client error: botocore does not retry it.
        assert [c.attempt for c in m.calls.filter("UpdateThingShadow")] == [1, 1]
        rejected = m.messages("$aws/things/s/shadow/update/rejected")
        assert [json.loads(r.payload)["code"] for r in rejected] == [400, 400]
        assert m.shadow("s") is None
