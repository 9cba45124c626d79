"""Server routing (SigV4 scope, host name, path), the control API and the in-process form."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from server_helpers import ACCOUNT, REGION, request, served, signed_headers

from iotmock import IotMock, mock_iot
from iotmock.registry.records import registry_of
from iotmock.server import ENDPOINT_VARIABLES
from iotmock.server.http import IotServer

__all__ = ["served"]


def _wire_client(service: str, server: IotServer, key: str = "AKIAIOTMOCK", region: str = REGION):  # type: ignore[no-untyped-def]
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=server.url,
        aws_access_key_id=key,
        aws_secret_access_key="x",
    )


def test_signing_name_chooses_between_iot_and_jobs_data_on_shared_paths(
    served: IotServer,
) -> None:
    iot = _wire_client("iot", served)
    jobs_data = _wire_client("iot-jobs-data", served)
    thing_arn = iot.create_thing(thingName="t")["thingArn"]
    iot.create_job(jobId="j", targets=[thing_arn], document="{}")
    # GET /things/t/jobs is ListJobExecutionsForThing (iot) and GetPendingJobExecutions
    # (iot-jobs-data): each client gets its own operation's answer.
    listed = iot.list_job_executions_for_thing(thingName="t")["executionSummaries"]
    assert [e["jobId"] for e in listed] == ["j"]
    pending = jobs_data.get_pending_job_executions(thingName="t")
    assert [e["jobId"] for e in pending["queuedJobs"]] == ["j"]
    assert "executionSummaries" not in pending


def test_unsigned_requests_on_shared_paths_are_refused_with_a_way_out(served: IotServer) -> None:
    status, headers, body = request(served.port, "GET", "/things/t/jobs")
    assert (status, headers["x-amzn-errortype"]) == (400, "InvalidRequestException")
    message = json.loads(body)["message"]
    assert "both iot and iot-jobs-data" in message
    assert "signing name" in message and "Host header" in message
    # Paths only one service has route without either (CreateThing).
    status, _, body = request(served.port, "POST", "/things/t", b"{}")
    assert status == 200 and json.loads(body)["thingName"] == "t"
    # The host name says it: the jobs data-plane form answers iot-jobs-data.
    status, _, body = request(
        served.port, "GET", "/things/t/jobs", None, {"Host": "data.jobs.iot.us-east-1.localhost"}
    )
    assert status == 200 and json.loads(body) == {"inProgressJobs": [], "queuedJobs": []}
    status, _, body = request(
        served.port, "GET", "/things/t/jobs", None, {"Host": "iot.us-east-1.localhost"}
    )
    assert status == 200 and json.loads(body) == {"executionSummaries": []}


def test_account_comes_from_a_12_digit_access_key_and_region_from_the_scope(
    served: IotServer,
) -> None:
    other = _wire_client("iot", served, key="111122223333", region="eu-west-1")
    arn = other.create_thing(thingName="elsewhere")["thingArn"]
    assert arn == "arn:aws:iot:eu-west-1:111122223333:thing/elsewhere"
    assert "elsewhere" in registry_of(served.mock.backend("111122223333", "eu-west-1")).things
    assert _wire_client("iot", served).list_things()["things"] == []
    _, _, body = request(
        served.port, "GET", "/things", None, signed_headers("iot", "111122223333", "eu-west-1")
    )
    assert [t["thingName"] for t in json.loads(body)["things"]] == ["elsewhere"]


def test_presigned_credentials_and_host_names_carry_account_and_region(served: IotServer) -> None:
    scope = "111122223333/20260101/ap-south-1/iot/aws4_request"
    status, _, body = request(
        served.port, "POST", f"/things/presigned?X-Amz-Credential={scope}", b"{}"
    )
    assert status == 200
    assert json.loads(body)["thingArn"] == "arn:aws:iot:ap-south-1:111122223333:thing/presigned"
    status, _, body = request(
        served.port, "POST", "/things/by-host", b"{}", {"Host": "iot.eu-west-1.localhost:80"}
    )
    assert json.loads(body)["thingArn"] == f"arn:aws:iot:eu-west-1:{ACCOUNT}:thing/by-host"
    status, _, body = request(
        served.port,
        "POST",
        "/things/by-host/shadow",
        b'{"state": {"reported": {"on": true}}}',
        {"Host": "abc123-ats.iot.eu-west-1.localhost"},
    )
    assert status == 200
    assert served.mock.messages(account_id=ACCOUNT, region="eu-west-1")[0].topic == (
        "$aws/things/by-host/shadow/update/accepted"
    )


def test_requests_signed_for_another_service_are_refused(served: IotServer) -> None:
    status, headers, body = request(served.port, "GET", "/things", None, signed_headers("s3"))
    assert (status, headers["x-amzn-errortype"]) == (400, "InvalidRequestException")
    assert "signed for service 's3'" in json.loads(body)["message"]
    broken = {"Authorization": "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00"}
    assert request(served.port, "GET", "/things", None, broken)[0] == 400


def test_describe_endpoint_over_the_server_names_the_server(served: IotServer) -> None:
    iot = _wire_client("iot", served)
    address = iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
    assert address == served.url.removeprefix("http://")
    data = boto3.client(
        "iot-data",
        region_name=REGION,
        endpoint_url=f"http://{address}",
        aws_access_key_id="k",
        aws_secret_access_key="x",
    )
    data.publish(topic="a/b", payload=b"hi")
    assert [m.topic for m in served.mock.messages()] == ["a/b"]
    with pytest.raises(iot.exceptions.InvalidRequestException):
        iot.describe_endpoint(endpointType="iot:Nope")


def test_control_api_health_reset_and_messages(served: IotServer) -> None:
    status, _, body = request(served.port, "GET", "/_iotmock/health")
    assert status == 200
    assert json.loads(body) == {
        "status": "ok",
        "version": "0.1.0",
        "services": ["iot", "iot-data", "iot-jobs-data"],
        "accountId": ACCOUNT,
        "region": REGION,
    }
    data = _wire_client("iot-data", served)
    data.publish(topic="sensors/1/temp", payload=b'{"t": 1}', qos=1)
    data.publish(topic="sensors/2/temp", payload=b"\xff\x00")
    data.publish(topic="other", payload=b"x")
    _wire_client("iot-data", served, key="111122223333").publish(topic="sensors/9/temp")

    status, _, body = request(served.port, "GET", "/_iotmock/messages?topicFilter=sensors/%2B/temp")
    messages = json.loads(body)["messages"]
    # Every account and region unless narrowed, as m.messages(); each says where it was.
    assert [(m["topic"], m["payload"], m["qos"], m["accountId"]) for m in messages] == [
        ("sensors/1/temp", '{"t": 1}', 1, ACCOUNT),
        ("sensors/2/temp", None, 0, ACCOUNT),
        ("sensors/9/temp", "", 0, "111122223333"),
    ]
    assert messages[1]["payloadBase64"] == "/wA="
    status, _, body = request(
        served.port, "GET", "/_iotmock/messages?account=111122223333&region=us-east-1"
    )
    assert [m["topic"] for m in json.loads(body)["messages"]] == ["sensors/9/temp"]

    status, _, body = request(served.port, "POST", "/_iotmock/reset")
    assert (status, json.loads(body)) == (200, {"reset": True})
    status, _, body = request(served.port, "GET", "/_iotmock/messages")
    assert json.loads(body) == {"messages": []}


def test_control_api_refuses_what_it_does_not_serve(served: IotServer) -> None:
    status, headers, body = request(served.port, "GET", "/_iotmock/reset")
    assert (status, headers["allow"]) == (405, "POST")
    status, _, body = request(served.port, "GET", "/_iotmock/nothing")
    assert status == 404 and "GET /_iotmock/health" in json.loads(body)["message"]
    # The control endpoints live under the prefix only.
    status, headers, _ = request(served.port, "POST", "/reset")
    assert (status, headers["x-amzn-errortype"]) == (404, "UnknownOperationException")


@pytest.mark.parametrize(
    "path",
    [
        "/_iotmock/../things/t",
        "/_iotmock/..",
        "/_iotmock//health",
        "/_iotmock/./health",
        "/_iotmock/health/",
        "/_iotmock/faults//",
    ],
)
def test_control_paths_are_not_normalised(served: IotServer, path: str) -> None:
    assert request(served.port, "POST", "/things/t", b"{}", signed_headers("iot"))[0] == 200
    status, headers, body = request(served.port, "GET", path, None, signed_headers("iot"))
    # The control API answers (JSON, no AWS error type), and names no endpoint.
    assert status == 404 and "x-amzn-errortype" not in headers
    message = json.loads(body)["message"]
    assert message.startswith(f"No control endpoint {path}. Control paths are not normalised")
    assert "GET /_iotmock/health" in message


def test_in_process_server_exports_endpoints_and_restores_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_IOT", "http://previous.example")
    monkeypatch.delenv("AWS_ENDPOINT_URL_IOT_DATA_PLANE", raising=False)
    with mock_iot(server=True) as m:
        url = m.server.url
        assert url.startswith("http://127.0.0.1:") and m.server.port > 0
        assert m.server.ca_bundle is None
        assert {name: os.environ[name] for name in ENDPOINT_VARIABLES} == dict.fromkeys(
            ENDPOINT_VARIABLES, url
        )
        assert request(url, "POST", "/things/from-http", b"{}")[0] == 200
        iot = boto3.client("iot", region_name=REGION)
        assert iot.describe_thing(thingName="from-http")["version"] == 1
    assert os.environ["AWS_ENDPOINT_URL_IOT"] == "http://previous.example"
    assert "AWS_ENDPOINT_URL_IOT_DATA_PLANE" not in os.environ
    with pytest.raises(OSError):
        request(url, "GET", "/_iotmock/health")  # stopped with the mock
    with pytest.raises(RuntimeError, match=r"mock_iot\(server=True\)"):
        _ = m.server.url


@pytest.mark.parametrize("stop_order", ["AB", "BA"])
def test_two_server_mocks_in_two_threads_share_the_process_environment(
    monkeypatch: pytest.MonkeyPatch, stop_order: str
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_IOT", "http://previous.example")
    monkeypatch.delenv("AWS_ENDPOINT_URL_IOT_DATA_PLANE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_IOT_JOBS_DATA_PLANE", raising=False)
    before = {name: os.environ.get(name) for name in ENDPOINT_VARIABLES}

    def environment() -> dict[str, str | None]:
        return {name: os.environ.get(name) for name in ENDPOINT_VARIABLES}

    mocks = {"A": IotMock(server=True), "B": IotMock(server=True)}
    # Each mock lives in its own thread, as mocks of concurrent tests do.
    threads = {name: ThreadPoolExecutor(1) for name in mocks}
    try:
        urls = {}
        for name in "AB":
            threads[name].submit(mocks[name].start).result()
            urls[name] = mocks[name].server.url
            # The most recently started server mock is the one child processes reach.
            assert environment() == dict.fromkeys(ENDPOINT_VARIABLES, urls[name])
        first, last = stop_order
        threads[first].submit(mocks[first].stop).result()
        assert environment() == dict.fromkeys(ENDPOINT_VARIABLES, urls[last])
        assert request(urls[last], "GET", "/_iotmock/health")[0] == 200
        threads[last].submit(mocks[last].stop).result()
        assert environment() == before
    finally:
        for name, mock in mocks.items():
            if mock.started:
                threads[name].submit(mock.stop).result()
            threads[name].shutdown()


def test_mock_without_server_serves_nothing() -> None:
    with mock_iot() as m:
        assert not m.server.running
        assert "AWS_ENDPOINT_URL_IOT" not in os.environ or not os.environ[
            "AWS_ENDPOINT_URL_IOT"
        ].startswith("http://127.0.0.1:")


def test_fixture_marker_starts_the_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import json, os, urllib.request
        import pytest

        @pytest.mark.iot_mock(server=True)
        def test_served(iot_mock):
            assert os.environ["AWS_ENDPOINT_URL_IOT"] == iot_mock.server.url
            with urllib.request.urlopen(iot_mock.server.url + "/_iotmock/health") as answer:
                assert json.load(answer)["status"] == "ok"

        def test_not_served(iot_mock):
            assert not iot_mock.server.running
        """
    )
    result = pytester.runpytest("--strict-markers")
    result.assert_outcomes(passed=2)
