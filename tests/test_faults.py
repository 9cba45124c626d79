"""Fault injection through boto3: injected errors reach botocore's real retry logic."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config

from iotmock import IotMock
from iotmock.core.dispatch import dispatch
from iotmock.core.faults import FaultPredicateError
from iotmock.core.protocol import RawRequest

REGION = "us-east-1"
# `total_max_attempts` is the AWS config file's / AWS_MAX_ATTEMPTS's `max_attempts`
# (attempts in all); botocore's Config `max_attempts` counts retries after the first.
STANDARD_3 = Config(retries={"mode": "standard", "total_max_attempts": 3})


def _iot(config: Config | None = None) -> Any:
    return boto3.client("iot", region_name=REGION, config=config)


def test_two_throttles_are_retried_and_the_third_attempt_succeeds(
    iot_mock: IotMock, backoff: Any
) -> None:
    iot = _iot(STANDARD_3)
    iot_mock.faults.inject(operation="CreateThing", error="ThrottlingException", times=2)

    response = iot.create_thing(thingName="sensor-1")

    assert response["thingName"] == "sensor-1"
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert len(backoff.sleeps) == 2, "botocore's standard backoff ran between attempts"
    attempts = iot_mock.calls.filter("CreateThing")
    assert [(c.attempt, c.error, c.injected) for c in attempts] == [
        (1, "ThrottlingException", True),
        (2, "ThrottlingException", True),
        (3, None, False),
    ]
    assert iot.describe_thing(thingName="sensor-1")["thingName"] == "sensor-1"


def test_three_throttles_exhaust_three_attempts_and_raise(iot_mock: IotMock, backoff: Any) -> None:
    iot = _iot(STANDARD_3)
    fault = iot_mock.faults.inject(operation="CreateThing", error="ThrottlingException", times=3)

    with pytest.raises(iot.exceptions.ThrottlingException) as caught:
        iot.create_thing(thingName="sensor-1")

    metadata = caught.value.response["ResponseMetadata"]
    assert metadata["RetryAttempts"] == 2
    assert metadata["MaxAttemptsReached"] is True
    # IoT's model gives ThrottlingException HTTP 400; the data planes' is a 429.
    assert metadata["HTTPStatusCode"] == 400
    assert caught.value.response["Error"]["Message"] == "Rate exceeded"
    assert fault.fired == 3 and not fault.active
    assert iot.list_things()["things"] == [], "no attempt reached the handler"


def test_legacy_mode_default_retries_a_throttle_four_times(iot_mock: IotMock, backoff: Any) -> None:
    iot = _iot()  # botocore's default: legacy mode, 5 attempts
    iot_mock.faults.inject("ListThings", "ThrottlingException", times=4)
    assert iot.list_things()["ResponseMetadata"]["RetryAttempts"] == 4
    assert len(backoff.sleeps) == 4


def test_data_plane_throttle_is_a_429_and_service_unavailable_a_retried_503(
    iot_mock: IotMock, backoff: Any
) -> None:
    data = boto3.client("iot-data", region_name=REGION, config=STANDARD_3)
    iot_mock.faults.inject("Publish", "ThrottlingException", times=3)
    with pytest.raises(data.exceptions.ThrottlingException) as caught:
        data.publish(topic="a/b", payload=b"{}")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert iot_mock.messages() == []

    iot_mock.faults.inject("Publish", "ServiceUnavailableException", times=1)
    response = data.publish(topic="a/b", payload=b"{}")
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert [m.topic for m in iot_mock.messages()] == ["a/b"]
    assert iot_mock.calls.filter("Publish", error="ServiceUnavailableException")[0].status == 503


def test_internal_failure_on_an_operation_that_does_not_model_it(
    iot_mock: IotMock, backoff: Any
) -> None:
    jobs = boto3.client("iot-jobs-data", region_name=REGION, config=STANDARD_3)
    iot_mock.faults.inject("GetPendingJobExecutions", "InternalFailureException", times=5)
    with pytest.raises(jobs.exceptions.ClientError) as caught:
        jobs.get_pending_job_executions(thingName="t")
    assert caught.value.response["Error"]["Code"] == "InternalFailureException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == 2


def test_a_modeled_error_is_not_retried_and_raises_its_modeled_class(iot_mock: IotMock) -> None:
    iot = _iot(STANDARD_3)
    iot.create_thing(thingName="t")
    iot_mock.faults.inject(
        "DescribeThing", "ResourceNotFoundException", message="Thing t cannot be found."
    )
    with pytest.raises(iot.exceptions.ResourceNotFoundException) as caught:
        iot.describe_thing(thingName="t")
    assert caught.value.response["Error"]["Message"] == "Thing t cannot be found."
    assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_an_error_the_operation_cannot_answer_is_refused(iot_mock: IotMock) -> None:
    with pytest.raises(ValueError, match="CreateThing cannot answer 'VersionConflictException'"):
        iot_mock.faults.inject("CreateThing", "VersionConflictException")
    with pytest.raises(ValueError, match="no operation 'CreateThingy'"):
        iot_mock.faults.inject("CreateThingy", "ThrottlingException")
    with pytest.raises(ValueError, match="needs an error, a latency"):
        iot_mock.faults.inject("CreateThing")


def test_match_predicate_fails_only_the_matching_calls(iot_mock: IotMock) -> None:
    iot = _iot()
    iot_mock.faults.inject(
        "CreateThing",
        "InvalidRequestException",
        match=lambda params: params["thingName"].startswith("bad"),
    )
    iot.create_thing(thingName="good-1")
    with pytest.raises(iot.exceptions.InvalidRequestException):
        iot.create_thing(thingName="bad-1")
    iot.create_thing(thingName="good-2")
    assert [t["thingName"] for t in iot.list_things()["things"]] == ["good-1", "good-2"]


def _outcomes(iot_mock: IotMock, seed: int) -> list[bool]:
    iot = _iot(Config(retries={"total_max_attempts": 1}))
    iot_mock.faults.seed(seed)
    outcomes = []
    for index in range(40):
        try:
            iot.describe_endpoint(endpointType="iot:Data-ATS")
            outcomes.append(True)
        except iot.exceptions.ThrottlingException:
            outcomes.append(False)
        del index
    return outcomes


def test_probability_draws_from_the_seed(iot_mock: IotMock) -> None:
    iot_mock.faults.inject("DescribeEndpoint", "ThrottlingException", probability=0.5)
    first = _outcomes(iot_mock, seed=7)
    second = _outcomes(iot_mock, seed=7)
    other = _outcomes(iot_mock, seed=8)
    assert first == second, "the same seed fails the same calls"
    assert first != other
    assert 5 < first.count(False) < 35


def test_latency_delays_the_answer_and_can_come_without_an_error(iot_mock: IotMock) -> None:
    iot = _iot()
    fault = iot_mock.faults.inject("ListThings", latency=0.2, times=1)
    start = time.perf_counter()
    assert iot.list_things()["things"] == []
    assert time.perf_counter() - start >= 0.2
    assert fault.fired == 1
    iot.list_things()
    assert fault.fired == 1 and not fault.active, "times=1: the next call is not delayed"


def test_removing_a_handle_stops_the_fault(iot_mock: IotMock) -> None:
    iot = _iot(Config(retries={"total_max_attempts": 1}))
    fault = iot_mock.faults.inject("ListThings", "ServiceUnavailableException")
    for _ in range(2):
        with pytest.raises(iot.exceptions.ServiceUnavailableException):
            iot.list_things()
    assert iot_mock.faults.active() == [fault]
    fault.remove()
    fault.remove()  # idempotent
    assert iot.list_things()["things"] == []
    assert iot_mock.faults.active() == []

    with (
        iot_mock.faults.inject("ListThings", "ServiceUnavailableException"),
        pytest.raises(iot.exceptions.ServiceUnavailableException),
    ):
        iot.list_things()
    assert iot.list_things()["things"] == []


def test_a_fault_on_every_operation_and_clear(iot_mock: IotMock) -> None:
    iot = _iot(Config(retries={"total_max_attempts": 1}))
    data = boto3.client(
        "iot-data", region_name=REGION, config=Config(retries={"total_max_attempts": 1})
    )
    iot_mock.faults.inject(error="InternalFailureException", service="iot-data")
    with pytest.raises(data.exceptions.InternalFailureException):
        data.publish(topic="x")
    assert iot.list_things()["things"] == [], "other services answer"
    with pytest.raises(ValueError, match="every operation can only answer"):
        iot_mock.faults.inject(error="ResourceNotFoundException")
    iot_mock.faults.clear()
    data.publish(topic="x")


def test_the_aws_cli_retries_injected_throttles_per_its_retry_configuration(
    iot_mock: IotMock, backoff: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    clidriver = pytest.importorskip("awscli.clidriver")
    # The CLI's max_attempts counts every attempt (AWS_MAX_ATTEMPTS / config file).
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    iot_mock.faults.inject("ListThings", "ThrottlingException", times=2)
    assert clidriver.create_clidriver().main(["iot", "list-things"]) == 0
    assert json.loads(capsys.readouterr().out) == {"things": []}

    iot_mock.faults.inject("ListThings", "ThrottlingException", times=3)
    assert clidriver.create_clidriver().main(["iot", "list-things"]) == 255
    error = capsys.readouterr().err
    assert "(ThrottlingException)" in error and "reached max retries: 2" in error
    assert [c.attempt for c in iot_mock.calls.filter("ListThings")] == [1, 2, 3, 1, 2, 3]


def test_a_request_arriving_over_http_reports_its_attempt_from_the_sdk_header(
    iot_mock: IotMock,
) -> None:
    # What the server mode hands to the shared dispatch: a raw HTTP request, with the
    # attempt number botocore sends in `amz-sdk-request`.
    iot_mock.faults.inject("ListThings", "ServiceUnavailableException", times=1)
    request = RawRequest("GET", "/things", headers={"amz-sdk-request": "attempt=1; max=3"})
    operation, first = dispatch(iot_mock, "iot", request, "123456789012", REGION)
    retried = RawRequest("GET", "/things", headers={"amz-sdk-request": "attempt=2; max=3"})
    _, second = dispatch(iot_mock, "iot", retried, "123456789012", REGION)
    assert operation == "ListThings"
    assert (first.status, first.headers["x-amzn-errortype"]) == (
        503,
        "ServiceUnavailableException",
    )
    assert second.status == 200 and json.loads(second.body) == {"things": []}
    assert [(c.attempt, c.status) for c in iot_mock.calls] == [(1, 503), (2, 200)]


def test_adaptive_mode_retries_too(iot_mock: IotMock, backoff: Any) -> None:
    iot = _iot(Config(retries={"mode": "adaptive", "total_max_attempts": 3}))
    iot_mock.faults.inject("ListThings", "ThrottlingException", times=2)
    assert iot.list_things()["ResponseMetadata"]["RetryAttempts"] == 2


def test_service_picks_one_of_two_operations_of_the_same_name(iot_mock: IotMock) -> None:
    iot = _iot(Config(retries={"total_max_attempts": 1}))
    jobs = boto3.client(
        "iot-jobs-data", region_name=REGION, config=Config(retries={"total_max_attempts": 1})
    )
    iot_mock.faults.inject(
        "DescribeJobExecution", "CertificateValidationException", service="iot-jobs-data"
    )
    with pytest.raises(jobs.exceptions.CertificateValidationException):
        jobs.describe_job_execution(jobId="j", thingName="t")
    with pytest.raises(iot.exceptions.ResourceNotFoundException):
        iot.describe_job_execution(jobId="j", thingName="t")  # the control plane answers


def test_a_failing_match_predicate_is_raised_to_the_test(iot_mock: IotMock) -> None:
    iot = _iot()
    iot_mock.faults.inject(
        "ListThings", "ThrottlingException", match=lambda params: params["thingTypeName"]
    )
    with pytest.raises(FaultPredicateError, match="raised KeyError: 'thingTypeName'"):
        iot.list_things()
