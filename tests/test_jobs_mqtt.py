"""The MQTT device API of AWS IoT Jobs: requests published with iot-data Publish on
`$aws/things/<thing>/jobs/...`, answers read from the message log, state checked through
the iot and iot-jobs-data clients."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from botocore.exceptions import ClientError

from iotmock import IotMock
from iotmock.core.errors import ServiceError
from iotmock.core.operations import RequestContext
from iotmock.jobs import mqtt as jobs_mqtt
from iotmock.messaging.log import publish as internal_publish

ACCOUNT = "123456789012"
REGION = "us-east-1"
DOCUMENT = {"operation": "install", "version": "2"}
START = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone.utc)
EPOCH = int(START.timestamp())
JOBS = "$aws/things/dev/jobs"


def thing_arn(name: str) -> str:
    return f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/{name}"


def make_job(iot: Any, job_id: str = "one", thing: str = "dev", **extra: Any) -> None:
    if thing not in {t["thingName"] for t in iot.list_things()["things"]}:
        iot.create_thing(thingName=thing)
    iot.create_job(jobId=job_id, targets=[thing_arn(thing)], document=json.dumps(DOCUMENT), **extra)


def request(iot_data: Any, topic: str, body: Any = None, raw: bytes | None = None) -> None:
    payload = raw if raw is not None else json.dumps(body if body is not None else {}).encode()
    iot_data.publish(topic=topic, qos=1, payload=payload)


def answers(iot_mock: IotMock, topic: str) -> tuple[list[Any], list[Any]]:
    """(accepted, rejected) payloads answered on `topic`."""
    accepted = [m.json() for m in iot_mock.messages(f"{topic}/accepted")]
    rejected = [m.json() for m in iot_mock.messages(f"{topic}/rejected")]
    return accepted, rejected


def ask(iot_data: Any, iot_mock: IotMock, topic: str, body: Any = None) -> Any:
    """Publish a request and return its single answer (accepted or rejected)."""
    before = len(iot_mock.messages(f"{topic}/+"))
    request(iot_data, topic, body)
    new = iot_mock.messages(f"{topic}/+")[before:]
    assert len(new) == 1, [m.topic for m in new]
    assert new[0].source == "jobs"
    return new[0].json()


# --------------------------------------------------------------------------- end to end


@time_machine.travel(START, tick=False)
def test_device_runs_a_job_only_over_mqtt(
    iot: Any, iot_data: Any, jobs_data: Any, iot_mock: IotMock
) -> None:
    make_job(iot)

    pending = ask(iot_data, iot_mock, f"{JOBS}/get", {"clientToken": "t1"})
    assert pending == {
        "inProgressJobs": [],
        "queuedJobs": [
            {
                "jobId": "one",
                "queuedAt": EPOCH,
                "lastUpdatedAt": EPOCH,
                "versionNumber": 1,
                "executionNumber": 1,
            }
        ],
        "timestamp": EPOCH,
        "clientToken": "t1",
    }

    started = ask(
        iot_data,
        iot_mock,
        f"{JOBS}/start-next",
        {"clientToken": "t2", "statusDetails": {"step": "download"}, "stepTimeoutInMinutes": 5},
    )
    assert started == {
        "execution": {
            "jobId": "one",
            "thingName": "dev",
            "status": "IN_PROGRESS",
            "statusDetails": {"step": "download"},
            "queuedAt": EPOCH,
            "startedAt": EPOCH,
            "lastUpdatedAt": EPOCH,
            "approximateSecondsBeforeTimedOut": 300,
            "versionNumber": 2,
            "executionNumber": 1,
            "jobDocument": DOCUMENT,
        },
        "timestamp": EPOCH,
        "clientToken": "t2",
    }

    done = ask(
        iot_data,
        iot_mock,
        f"{JOBS}/one/update",
        {
            "status": "SUCCEEDED",
            "expectedVersion": 2,
            "statusDetails": {"step": "done"},
            "includeJobExecutionState": True,
            "includeJobDocument": True,
            "clientToken": "t3",
        },
    )
    assert done == {
        "executionState": {
            "status": "SUCCEEDED",
            "statusDetails": {"step": "done"},
            "versionNumber": 3,
        },
        "jobDocument": DOCUMENT,
        "timestamp": EPOCH,
        "clientToken": "t3",
    }

    # The same execution, seen by the control plane and the device HTTP API.
    assert iot.describe_job(jobId="one")["job"]["status"] == "COMPLETED"
    described = iot.describe_job_execution(jobId="one", thingName="dev")["execution"]
    assert described["status"] == "SUCCEEDED"
    assert described["versionNumber"] == 3
    assert described["statusDetails"] == {"detailsMap": {"step": "done"}}
    http = jobs_data.describe_job_execution(jobId="one", thingName="dev")["execution"]
    assert (http["status"], http["versionNumber"]) == ("SUCCEEDED", 3)
    assert jobs_data.get_pending_job_executions(thingName="dev")["queuedJobs"] == []

    # notify / notify-next followed the changes: queued, then nothing pending.
    notify = [m.json() for m in iot_mock.messages(f"{JOBS}/notify")]
    assert notify[-1] == {"timestamp": EPOCH, "jobs": {}}
    assert iot_mock.messages(f"{JOBS}/notify-next")[-1].json() == {"timestamp": EPOCH}


def test_http_changes_are_seen_over_mqtt(
    iot: Any, iot_data: Any, jobs_data: Any, iot_mock: IotMock
) -> None:
    make_job(iot, "first")
    make_job(iot, "second")
    jobs_data.start_next_pending_job_execution(thingName="dev")

    pending = ask(iot_data, iot_mock, f"{JOBS}/get")
    assert [j["jobId"] for j in pending["inProgressJobs"]] == ["first"]
    assert [j["jobId"] for j in pending["queuedJobs"]] == ["second"]
    assert "clientToken" not in pending


# --------------------------------------------------------------------------- get / start-next


def test_start_next_resumes_in_progress_and_answers_empty_when_nothing_pending(
    iot: Any, iot_data: Any, iot_mock: IotMock
) -> None:
    make_job(iot)
    first = ask(iot_data, iot_mock, f"{JOBS}/start-next")
    again = ask(iot_data, iot_mock, f"{JOBS}/start-next", {"statusDetails": {"x": "y"}})
    assert again["execution"]["versionNumber"] == first["execution"]["versionNumber"] == 2
    assert again["execution"]["statusDetails"] == {}  # resumed as it is

    ask(iot_data, iot_mock, f"{JOBS}/one/update", {"status": "FAILED"})
    empty = ask(iot_data, iot_mock, f"{JOBS}/start-next", {"clientToken": "c"})
    assert set(empty) == {"timestamp", "clientToken"}


def test_unknown_thing_is_resource_not_found(iot_data: Any, iot_mock: IotMock) -> None:
    for topic in ("get", "start-next", "$next/get"):
        answer = ask(iot_data, iot_mock, f"$aws/things/ghost/jobs/{topic}", {"clientToken": "c"})
        assert answer["code"] == "ResourceNotFound"
        assert answer["message"] == "Thing ghost cannot be found."
        assert answer["clientToken"] == "c"
        assert isinstance(answer["timestamp"], int)


def test_start_next_checks_its_members(iot: Any, iot_data: Any, iot_mock: IotMock) -> None:
    make_job(iot)
    answer = ask(iot_data, iot_mock, f"{JOBS}/start-next", {"stepTimeoutInMinutes": 0})
    assert answer["code"] == "InvalidRequest"
    assert "stepTimeoutInMinutes" in answer["message"]
    answer = ask(iot_data, iot_mock, f"{JOBS}/start-next", {"statusDetails": {"a": 1}})
    assert answer == {
        "code": "InvalidRequest",
        "message": "statusDetails values must be strings.",
        "timestamp": answer["timestamp"],
    }
    # Nothing changed.
    assert iot.describe_job_execution(jobId="one", thingName="dev")["execution"]["status"] == (
        "QUEUED"
    )


# --------------------------------------------------------------------------- describe


def test_describe_named_and_next_execution(iot: Any, iot_data: Any, iot_mock: IotMock) -> None:
    make_job(iot)
    named = ask(iot_data, iot_mock, f"{JOBS}/one/get", {"clientToken": "d"})
    assert named["execution"]["jobDocument"] == DOCUMENT  # includeJobDocument defaults true
    assert named["execution"]["status"] == "QUEUED"
    assert named["clientToken"] == "d"

    bare = ask(iot_data, iot_mock, f"{JOBS}/one/get", {"includeJobDocument": False})
    assert "jobDocument" not in bare["execution"]

    nxt = ask(iot_data, iot_mock, f"{JOBS}/$next/get")
    assert nxt["execution"]["jobId"] == "one"

    numbered = ask(iot_data, iot_mock, f"{JOBS}/one/get", {"executionNumber": 2})
    assert numbered["code"] == "ResourceNotFound"
    assert numbered["message"] == "Job execution of job one on thing dev cannot be found."


def test_describe_next_with_nothing_pending_has_no_execution(
    iot: Any, iot_data: Any, iot_mock: IotMock
) -> None:
    iot.create_thing(thingName="dev")
    answer = ask(iot_data, iot_mock, f"{JOBS}/$next/get")
    assert set(answer) == {"timestamp"}


def test_describe_terminal_execution_is_answered(
    iot: Any, iot_data: Any, jobs_data: Any, iot_mock: IotMock
) -> None:
    make_job(iot)
    jobs_data.update_job_execution(jobId="one", thingName="dev", status="REJECTED")
    answer = ask(iot_data, iot_mock, f"{JOBS}/one/get")
    assert answer["execution"]["status"] == "REJECTED"


# --------------------------------------------------------------------------- update


def test_update_defaults_leave_state_and_document_out(
    iot: Any, iot_data: Any, iot_mock: IotMock
) -> None:
    make_job(iot)
    answer = ask(iot_data, iot_mock, f"{JOBS}/one/update", {"status": "IN_PROGRESS"})
    assert set(answer) == {"timestamp"}
    assert iot.describe_job_execution(jobId="one", thingName="dev")["execution"]["status"] == (
        "IN_PROGRESS"
    )


def test_version_mismatch_carries_the_execution_state(
    iot: Any, iot_data: Any, iot_mock: IotMock
) -> None:
    make_job(iot)
    answer = ask(
        iot_data,
        iot_mock,
        f"{JOBS}/one/update",
        {"status": "IN_PROGRESS", "expectedVersion": 7, "clientToken": "v"},
    )
    assert answer == {
        "code": "VersionMismatch",
        "message": "the job execution is at version 1, not the expected version 7.",
        "timestamp": answer["timestamp"],
        "clientToken": "v",
        "executionState": {"status": "QUEUED", "statusDetails": {}, "versionNumber": 1},
    }


def test_update_from_a_terminal_state_is_an_invalid_transition(
    iot: Any, iot_data: Any, iot_mock: IotMock
) -> None:
    make_job(iot)
    ask(iot_data, iot_mock, f"{JOBS}/one/update", {"status": "SUCCEEDED"})
    answer = ask(iot_data, iot_mock, f"{JOBS}/one/update", {"status": "IN_PROGRESS"})
    assert answer["code"] == "InvalidStateTransition"
    assert "already in the terminal state SUCCEEDED" in answer["message"]
    assert answer["executionState"] == {
        "status": "SUCCEEDED",
        "statusDetails": {},
        "versionNumber": 2,
    }


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "Value null at 'status' failed to satisfy constraint"),
        ({"status": "CANCELED"}, "A device cannot set a job execution to CANCELED"),
        ({"status": "DONE"}, "enum value set"),
        ({"status": "SUCCEEDED", "expectedVersion": "1"}, "must be of type long"),
        ({"status": "SUCCEEDED", "includeJobDocument": "yes"}, "must be of type boolean"),
        ({"status": "SUCCEEDED", "clientToken": "x" * 65}, "clientToken must be a string"),
        ({"status": "IN_PROGRESS", "stepTimeoutInMinutes": 0}, "stepTimeoutInMinutes"),
    ],
)
def test_update_invalid_requests(
    iot: Any, iot_data: Any, iot_mock: IotMock, body: dict[str, Any], fragment: str
) -> None:
    make_job(iot)
    answer = ask(iot_data, iot_mock, f"{JOBS}/one/update", body)
    assert answer["code"] == "InvalidRequest"
    assert fragment in answer["message"]
    assert "executionState" not in answer
    execution = iot.describe_job_execution(jobId="one", thingName="dev")["execution"]
    assert (execution["status"], execution["versionNumber"]) == ("QUEUED", 1)


def test_update_of_a_missing_job_is_resource_not_found(
    iot: Any, iot_data: Any, iot_mock: IotMock
) -> None:
    iot.create_thing(thingName="dev")
    answer = ask(iot_data, iot_mock, f"{JOBS}/nope/update", {"status": "SUCCEEDED"})
    assert answer["code"] == "ResourceNotFound"
    assert "executionState" not in answer


def test_step_timeout_set_over_mqtt_times_the_execution_out(
    iot: Any, iot_data: Any, jobs_data: Any, iot_mock: IotMock
) -> None:
    make_job(iot)
    with time_machine.travel(START, tick=False) as clock:
        ask(iot_data, iot_mock, f"{JOBS}/one/update", {"status": "IN_PROGRESS"})
        ask(
            iot_data,
            iot_mock,
            f"{JOBS}/one/update",
            {"status": "IN_PROGRESS", "stepTimeoutInMinutes": 1},
        )
        clock.shift(61)
        answer = ask(iot_data, iot_mock, f"{JOBS}/one/get")
        assert answer["execution"]["status"] == "TIMED_OUT"
        assert answer["timestamp"] == EPOCH + 61


# --------------------------------------------------------------------------- payloads, topics


def test_payload_that_is_not_json_is_invalid_json(
    iot: Any, iot_data: Any, iot_mock: IotMock
) -> None:
    make_job(iot)
    request(iot_data, f"{JOBS}/one/update", raw=b"{not json")
    request(iot_data, f"{JOBS}/get", raw=b"\xff\xfe")
    request(iot_data, f"{JOBS}/start-next", raw=b"[1, 2]")
    assert answers(iot_mock, f"{JOBS}/one/update")[1][0]["code"] == "InvalidJson"
    assert answers(iot_mock, f"{JOBS}/get")[1][0]["code"] == "InvalidJson"
    assert answers(iot_mock, f"{JOBS}/start-next")[1][0] == {
        "code": "InvalidRequest",
        "message": "The request payload must be a JSON object.",
        "timestamp": answers(iot_mock, f"{JOBS}/start-next")[1][0]["timestamp"],
    }


def test_empty_payload_is_an_empty_request(iot: Any, iot_data: Any, iot_mock: IotMock) -> None:
    make_job(iot)
    request(iot_data, f"{JOBS}/get", raw=b"")
    accepted, rejected = answers(iot_mock, f"{JOBS}/get")
    assert rejected == [] and [j["jobId"] for j in accepted[0]["queuedJobs"]] == ["one"]


def test_next_cannot_be_updated(iot: Any, iot_data: Any, iot_mock: IotMock) -> None:
    make_job(iot)
    answer = ask(iot_data, iot_mock, f"{JOBS}/$next/update", {"status": "SUCCEEDED"})
    assert answer["code"] == "InvalidTopic"


def test_unmapped_jobs_topic_from_inside_the_mock_is_invalid_topic(
    iot: Any, iot_mock: IotMock
) -> None:
    """Only the mock itself (e.g. a rule's republish) can reach topics Publish refuses."""
    iot.create_thing(thingName="dev")
    with iot_mock.lock:
        ctx = RequestContext(iot_mock, iot_mock.backend(), "iot-data", "Publish", ACCOUNT, REGION)
        internal_publish(ctx, f"{JOBS}/one/cancel", b"{}", source="rule:r")
        internal_publish(ctx, f"{JOBS}/notify", b"{}", source="rule:r")
    assert [m.json()["code"] for m in iot_mock.messages(f"{JOBS}/one/cancel/rejected")] == [
        "InvalidTopic"
    ]
    assert iot_mock.messages(f"{JOBS}/notify/#")[1:] == []


@pytest.mark.parametrize(
    "topic",
    [
        f"{JOBS}/get/accepted",
        f"{JOBS}/get/rejected",
        f"{JOBS}/start-next/accepted",
        f"{JOBS}/one/get/accepted",
        f"{JOBS}/one/update/rejected",
        f"{JOBS}/notify",
        f"{JOBS}/notify-next",
        f"{JOBS}/notify-namespace-ns",
    ],
)
def test_clients_cannot_publish_on_answer_and_notify_topics(iot_data: Any, topic: str) -> None:
    with pytest.raises(ClientError) as exc:
        iot_data.publish(topic=topic, payload=b"{}")
    assert exc.value.response["Error"]["Code"] == "InvalidRequestException"
    assert (
        "reserved topic that clients cannot publish to" in (exc.value.response["Error"]["Message"])
    )


@pytest.mark.parametrize(
    "topic", [f"{JOBS}/get", f"{JOBS}/start-next", f"{JOBS}/one/get", f"{JOBS}/one/update"]
)
def test_clients_can_publish_on_request_topics(iot_data: Any, topic: str) -> None:
    response = iot_data.publish(topic=topic, payload=b"{}")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_answers_are_not_answered_again(iot: Any, iot_data: Any, iot_mock: IotMock) -> None:
    make_job(iot)
    request(iot_data, f"{JOBS}/get", {})
    jobs_topics = [m.topic for m in iot_mock.messages(f"{JOBS}/#")]
    assert jobs_topics.count(f"{JOBS}/get/accepted") == 1
    assert not any(t.endswith("/accepted/rejected") for t in jobs_topics)


@pytest.mark.parametrize(
    ("error_code", "mqtt_code"),
    [
        ("InvalidRequestException", "InvalidRequest"),
        ("ResourceNotFoundException", "ResourceNotFound"),
        ("InvalidStateTransitionException", "InvalidStateTransition"),
        ("TerminalStateException", "TerminalStateReached"),
        ("ThrottlingException", "RequestThrottled"),
        ("ServiceUnavailableException", "InternalError"),
        ("CertificateValidationException", "InternalError"),
    ],
)
def test_engine_errors_map_to_the_documented_mqtt_codes(error_code: str, mqtt_code: str) -> None:
    assert jobs_mqtt.mqtt_code(ServiceError(error_code, "m")) == mqtt_code


def test_notify_next_moves_on_as_the_device_finishes_over_mqtt(
    iot: Any, iot_data: Any, iot_mock: IotMock
) -> None:
    make_job(iot, "first")
    make_job(iot, "second")
    assert iot_mock.messages(f"{JOBS}/notify-next")[-1].json()["execution"]["jobId"] == "first"
    ask(iot_data, iot_mock, f"{JOBS}/start-next")
    ask(iot_data, iot_mock, f"{JOBS}/first/update", {"status": "SUCCEEDED"})
    following = iot_mock.messages(f"{JOBS}/notify-next")[-1].json()["execution"]
    assert (following["jobId"], following["status"]) == ("second", "QUEUED")
    assert following["jobDocument"] == DOCUMENT
    queued = iot_mock.messages(f"{JOBS}/notify")[-1].json()["jobs"]
    assert [j["jobId"] for j in queued["QUEUED"]] == ["second"]
