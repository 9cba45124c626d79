"""The job execution state machine across both services (iot and iot-jobs-data):
device updates, versions, status details, $next, timeouts, retries, aborts, cancel and
delete of executions, scheduling."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
REGION = "us-east-1"
DOCUMENT = json.dumps({"operation": "reboot"})
START = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def thing_arn(name: str) -> str:
    return f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/{name}"


def new_job(iot: Any, job_id: str, *things: str, **extra: Any) -> None:
    for name in things:
        iot.create_thing(thingName=name)
    iot.create_job(jobId=job_id, targets=[thing_arn(t) for t in things], document=DOCUMENT, **extra)


def code_status(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


# --------------------------------------------------------------------------- device updates


@pytest.mark.parametrize("status", ["QUEUED", "CANCELED", "TIMED_OUT", "REMOVED"])
def test_device_cannot_set_service_owned_statuses(iot: Any, jobs_data: Any, status: str) -> None:
    new_job(iot, "j", "dev")
    with pytest.raises(ClientError) as exc:
        jobs_data.update_job_execution(jobId="j", thingName="dev", status=status)
    assert code_status(exc) == ("InvalidRequestException", 400)
    assert status in exc.value.response["Error"]["Message"]


@pytest.mark.parametrize("final", ["SUCCEEDED", "FAILED", "REJECTED"])
def test_transition_from_terminal_state_is_invalid(iot: Any, jobs_data: Any, final: str) -> None:
    new_job(iot, "j", "dev")
    jobs_data.update_job_execution(jobId="j", thingName="dev", status=final)
    with pytest.raises(ClientError) as exc:
        jobs_data.update_job_execution(jobId="j", thingName="dev", status="IN_PROGRESS")
    assert code_status(exc) == ("InvalidStateTransitionException", 409)
    assert final in exc.value.response["Error"]["Message"]


def test_queued_may_go_straight_to_a_final_status(iot: Any, jobs_data: Any) -> None:
    new_job(iot, "j", "dev")
    jobs_data.update_job_execution(jobId="j", thingName="dev", status="REJECTED")
    job = iot.describe_job(jobId="j")["job"]
    assert job["jobProcessDetails"]["numberOfRejectedThings"] == 1
    assert job["status"] == "COMPLETED"


def test_versions_execution_numbers_and_merged_status_details(iot: Any, jobs_data: Any) -> None:
    new_job(iot, "j", "dev")
    first = jobs_data.describe_job_execution(jobId="j", thingName="dev")["execution"]
    assert (first["versionNumber"], first["executionNumber"]) == (1, 1)
    assert first["status"] == "QUEUED"
    answer = jobs_data.update_job_execution(
        jobId="j",
        thingName="dev",
        status="IN_PROGRESS",
        statusDetails={"progress": "10%", "phase": "download"},
        includeJobExecutionState=True,
    )
    assert answer["executionState"] == {
        "status": "IN_PROGRESS",
        "statusDetails": {"progress": "10%", "phase": "download"},
        "versionNumber": 2,
    }
    answer = jobs_data.update_job_execution(
        jobId="j",
        thingName="dev",
        status="IN_PROGRESS",
        statusDetails={"progress": "60%"},
        expectedVersion=2,
        includeJobExecutionState=True,
    )
    assert answer["executionState"]["statusDetails"] == {"progress": "60%", "phase": "download"}
    assert answer["executionState"]["versionNumber"] == 3
    control = iot.describe_job_execution(jobId="j", thingName="dev")["execution"]
    assert control["versionNumber"] == 3
    assert control["statusDetails"]["detailsMap"] == {"progress": "60%", "phase": "download"}
    assert control["thingArn"] == thing_arn("dev")


def test_expected_version_mismatch_is_refused(iot: Any, jobs_data: Any) -> None:
    new_job(iot, "j", "dev")
    with pytest.raises(ClientError) as exc:
        jobs_data.update_job_execution(
            jobId="j", thingName="dev", status="IN_PROGRESS", expectedVersion=7
        )
    assert code_status(exc) == ("InvalidStateTransitionException", 409)
    assert "VersionMismatch" in exc.value.response["Error"]["Message"]
    execution = jobs_data.describe_job_execution(jobId="j", thingName="dev")["execution"]
    assert (execution["status"], execution["versionNumber"]) == ("QUEUED", 1)


def test_status_details_are_limited_to_ten_pairs(iot: Any, jobs_data: Any) -> None:
    new_job(iot, "j", "dev")
    jobs_data.update_job_execution(
        jobId="j",
        thingName="dev",
        status="IN_PROGRESS",
        statusDetails={f"k{i}": "v" for i in range(8)},
    )
    with pytest.raises(ClientError) as exc:
        jobs_data.update_job_execution(
            jobId="j",
            thingName="dev",
            status="IN_PROGRESS",
            statusDetails={f"x{i}": "v" for i in range(3)},
        )
    assert code_status(exc) == ("InvalidRequestException", 400)


def test_update_response_members_follow_include_flags(iot: Any, jobs_data: Any) -> None:
    new_job(iot, "j", "dev")
    bare = jobs_data.update_job_execution(jobId="j", thingName="dev", status="IN_PROGRESS")
    assert "executionState" not in bare and "jobDocument" not in bare
    full = jobs_data.update_job_execution(
        jobId="j", thingName="dev", status="IN_PROGRESS", includeJobDocument=True
    )
    assert full["jobDocument"] == DOCUMENT


def test_describe_job_execution_document_default_and_timestamps_in_seconds(
    iot: Any, jobs_data: Any, clock: time_machine.Coordinates
) -> None:
    new_job(iot, "j", "dev")
    described = jobs_data.describe_job_execution(jobId="j", thingName="dev")["execution"]
    assert described["jobDocument"] == DOCUMENT
    assert described["thingName"] == "dev"
    assert described["queuedAt"] == int(START.timestamp())
    assert "startedAt" not in described
    without = jobs_data.describe_job_execution(
        jobId="j", thingName="dev", includeJobDocument=False
    )["execution"]
    assert "jobDocument" not in without
    # The control plane answers timestamps as dates.
    control = iot.describe_job_execution(jobId="j", thingName="dev")["execution"]
    assert control["queuedAt"] == START


def test_missing_execution_is_not_found(iot: Any, jobs_data: Any) -> None:
    new_job(iot, "j", "dev")
    with pytest.raises(ClientError) as exc:
        jobs_data.describe_job_execution(jobId="other", thingName="dev")
    assert code_status(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        jobs_data.update_job_execution(
            jobId="j", thingName="dev", status="FAILED", executionNumber=2
        )
    assert code_status(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        jobs_data.get_pending_job_executions(thingName="unknown")
    assert code_status(exc) == ("ResourceNotFoundException", 404)


# --------------------------------------------------------------------------- $next


def test_start_next_resumes_in_progress_then_takes_oldest_queued(
    iot: Any, jobs_data: Any, clock: time_machine.Coordinates
) -> None:
    new_job(iot, "first", "dev")
    clock.shift(60)
    iot.create_job(jobId="second", targets=[thing_arn("dev")], document=DOCUMENT)
    clock.shift(60)

    pending = jobs_data.get_pending_job_executions(thingName="dev")
    assert [j["jobId"] for j in pending["queuedJobs"]] == ["first", "second"]
    assert pending["inProgressJobs"] == []

    started = jobs_data.start_next_pending_job_execution(
        thingName="dev", statusDetails={"a": "1"}, stepTimeoutInMinutes=10
    )["execution"]
    assert (started["jobId"], started["status"], started["versionNumber"]) == (
        "first",
        "IN_PROGRESS",
        2,
    )
    assert started["startedAt"] == int(START.timestamp()) + 120
    assert started["statusDetails"] == {"a": "1"}
    assert started["approximateSecondsBeforeTimedOut"] == 600

    pending = jobs_data.get_pending_job_executions(thingName="dev")
    assert [j["jobId"] for j in pending["inProgressJobs"]] == ["first"]
    assert [j["jobId"] for j in pending["queuedJobs"]] == ["second"]

    again = jobs_data.start_next_pending_job_execution(thingName="dev")["execution"]
    assert (again["jobId"], again["versionNumber"]) == ("first", 2)
    assert (
        jobs_data.describe_job_execution(jobId="$next", thingName="dev")["execution"]["jobId"]
        == "first"
    )

    jobs_data.update_job_execution(jobId="first", thingName="dev", status="SUCCEEDED")
    assert (
        jobs_data.start_next_pending_job_execution(thingName="dev")["execution"]["jobId"]
        == "second"
    )
    jobs_data.update_job_execution(jobId="second", thingName="dev", status="SUCCEEDED")

    empty = jobs_data.start_next_pending_job_execution(thingName="dev")
    assert "execution" not in empty
    assert "execution" not in jobs_data.describe_job_execution(jobId="$next", thingName="dev")


def test_start_next_step_timeout_range(iot: Any, jobs_data: Any) -> None:
    new_job(iot, "j", "dev")
    with pytest.raises(ClientError) as exc:
        jobs_data.start_next_pending_job_execution(thingName="dev", stepTimeoutInMinutes=-1)
    assert code_status(exc) == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        jobs_data.update_job_execution(
            jobId="j", thingName="dev", status="IN_PROGRESS", stepTimeoutInMinutes=10081
        )
    assert code_status(exc) == ("InvalidRequestException", 400)


# --------------------------------------------------------------------------- timeouts


def test_step_timeout_times_out_after_advancing_the_clock(
    iot: Any, jobs_data: Any, clock: time_machine.Coordinates
) -> None:
    new_job(iot, "j", "dev")
    jobs_data.update_job_execution(
        jobId="j", thingName="dev", status="IN_PROGRESS", stepTimeoutInMinutes=5
    )
    clock.shift(4 * 60)
    execution = iot.describe_job_execution(jobId="j", thingName="dev")["execution"]
    assert execution["status"] == "IN_PROGRESS"
    assert execution["approximateSecondsBeforeTimedOut"] == 60
    clock.shift(61)
    execution = jobs_data.describe_job_execution(jobId="j", thingName="dev")["execution"]
    assert execution["status"] == "TIMED_OUT"
    assert execution["lastUpdatedAt"] == int(START.timestamp()) + 300
    job = iot.describe_job(jobId="j")["job"]
    assert job["status"] == "COMPLETED"
    assert job["jobProcessDetails"]["numberOfTimedOutThings"] == 1
    with pytest.raises(ClientError) as exc:
        jobs_data.update_job_execution(jobId="j", thingName="dev", status="SUCCEEDED")
    assert code_status(exc) == ("InvalidStateTransitionException", 409)


def test_step_timer_is_reset_and_canceled_by_updates(
    iot: Any, jobs_data: Any, clock: time_machine.Coordinates
) -> None:
    new_job(iot, "j", "dev")
    jobs_data.start_next_pending_job_execution(thingName="dev", stepTimeoutInMinutes=5)
    clock.shift(4 * 60)
    jobs_data.update_job_execution(
        jobId="j", thingName="dev", status="IN_PROGRESS", stepTimeoutInMinutes=5
    )
    clock.shift(4 * 60)
    assert (
        jobs_data.describe_job_execution(jobId="j", thingName="dev")["execution"]["status"]
        == "IN_PROGRESS"
    )
    jobs_data.update_job_execution(
        jobId="j", thingName="dev", status="IN_PROGRESS", stepTimeoutInMinutes=-1
    )
    clock.shift(3600)
    execution = jobs_data.describe_job_execution(jobId="j", thingName="dev")["execution"]
    assert execution["status"] == "IN_PROGRESS"
    assert "approximateSecondsBeforeTimedOut" not in execution


def test_job_in_progress_timeout_applies_from_start(
    iot: Any, jobs_data: Any, clock: time_machine.Coordinates
) -> None:
    new_job(iot, "j", "dev", timeoutConfig={"inProgressTimeoutInMinutes": 2})
    clock.shift(600)  # queued time does not count
    jobs_data.start_next_pending_job_execution(thingName="dev")
    clock.shift(119)
    assert (
        iot.describe_job_execution(jobId="j", thingName="dev")["execution"]["status"]
        == "IN_PROGRESS"
    )
    clock.shift(2)
    assert (
        iot.describe_job_execution(jobId="j", thingName="dev")["execution"]["status"] == "TIMED_OUT"
    )


@pytest.mark.parametrize("minutes", [0, -1, 10081])
def test_in_progress_timeout_must_be_one_minute_to_seven_days(iot: Any, minutes: int) -> None:
    # TimeoutConfig: "anywhere between 1 minute and 7 days (1 to 10080 minutes)".
    new_job(iot, "ok", "dev", timeoutConfig={"inProgressTimeoutInMinutes": 10080})
    bad = {"inProgressTimeoutInMinutes": minutes}
    attempts = [
        lambda: iot.create_job(
            jobId="j", targets=[thing_arn("dev")], document=DOCUMENT, timeoutConfig=bad
        ),
        lambda: iot.update_job(jobId="ok", timeoutConfig=bad),
        lambda: iot.create_job_template(
            jobTemplateId="t", description="d", document=DOCUMENT, timeoutConfig=bad
        ),
        lambda: iot.create_ota_update(
            otaUpdateId="o",
            targets=[thing_arn("dev")],
            files=[{"fileName": "f", "fileLocation": {"stream": {"streamId": "s", "fileId": 1}}}],
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/ota",
            awsJobTimeoutConfig=bad,
        ),
    ]
    for attempt in attempts:
        with pytest.raises(ClientError) as exc:
            attempt()
        assert code_status(exc) == ("InvalidRequestException", 400)
        assert "inProgressTimeoutInMinutes" in exc.value.response["Error"]["Message"]
    assert [j["jobId"] for j in iot.list_jobs()["jobs"]] == ["ok"]
    assert iot.list_job_templates()["jobTemplates"] == []
    assert iot.list_ota_updates()["otaUpdates"] == []
    timeout = iot.describe_job(jobId="ok")["job"]["timeoutConfig"]
    assert timeout == {"inProgressTimeoutInMinutes": 10080}


def test_retry_config_queues_a_new_execution_number(
    iot: Any, jobs_data: Any, clock: time_machine.Coordinates
) -> None:
    new_job(
        iot,
        "j",
        "dev",
        jobExecutionsRetryConfig={
            "criteriaList": [{"failureType": "FAILED", "numberOfRetries": 1}]
        },
    )
    jobs_data.update_job_execution(jobId="j", thingName="dev", status="FAILED")
    retried = jobs_data.describe_job_execution(jobId="j", thingName="dev")["execution"]
    assert (retried["executionNumber"], retried["status"]) == (2, "QUEUED")
    assert iot.describe_job(jobId="j")["job"]["status"] == "IN_PROGRESS"
    summaries = iot.list_job_executions_for_thing(thingName="dev")["executionSummaries"]
    assert [
        (s["jobExecutionSummary"]["executionNumber"], s["jobExecutionSummary"]["retryAttempt"])
        for s in summaries
    ] == [(1, 0), (2, 1)]
    first = iot.describe_job_execution(jobId="j", thingName="dev", executionNumber=1)
    assert first["execution"]["status"] == "FAILED"

    jobs_data.update_job_execution(jobId="j", thingName="dev", status="FAILED")
    job = iot.describe_job(jobId="j")["job"]
    assert job["status"] == "COMPLETED"  # the one retry is used up
    assert job["jobProcessDetails"]["numberOfFailedThings"] == 1


def test_abort_config_cancels_the_job(iot: Any, jobs_data: Any) -> None:
    new_job(
        iot,
        "j",
        "a",
        "b",
        "c",
        "d",
        abortConfig={
            "criteriaList": [
                {
                    "failureType": "FAILED",
                    "action": "CANCEL",
                    "thresholdPercentage": 50.0,
                    "minNumberOfExecutedThings": 2,
                }
            ]
        },
    )
    jobs_data.update_job_execution(jobId="j", thingName="a", status="FAILED")
    assert iot.describe_job(jobId="j")["job"]["status"] == "IN_PROGRESS"  # 1 < min 2
    jobs_data.update_job_execution(jobId="j", thingName="b", status="FAILED")
    job = iot.describe_job(jobId="j")["job"]
    assert job["status"] == "CANCELED"
    assert job["jobProcessDetails"]["numberOfCanceledThings"] == 2


# --------------------------------------------------------------------------- control plane


def test_cancel_job_execution_rules(iot: Any, jobs_data: Any) -> None:
    new_job(iot, "j", "a", "b")
    iot.cancel_job_execution(jobId="j", thingName="a", statusDetails={"why": "manual"})
    execution = iot.describe_job_execution(jobId="j", thingName="a")["execution"]
    assert execution["status"] == "CANCELED"
    assert execution["statusDetails"]["detailsMap"] == {"why": "manual"}
    with pytest.raises(ClientError) as exc:
        iot.cancel_job_execution(jobId="j", thingName="a")
    assert code_status(exc) == ("InvalidStateTransitionException", 409)

    jobs_data.start_next_pending_job_execution(thingName="b")
    with pytest.raises(ClientError) as exc:
        iot.cancel_job_execution(jobId="j", thingName="b")
    assert code_status(exc) == ("InvalidStateTransitionException", 409)
    with pytest.raises(ClientError) as exc:
        iot.cancel_job_execution(jobId="j", thingName="b", force=True, expectedVersion=9)
    assert code_status(exc) == ("VersionConflictException", 409)
    iot.cancel_job_execution(jobId="j", thingName="b", force=True, expectedVersion=2)
    execution = iot.describe_job_execution(jobId="j", thingName="b")["execution"]
    assert (execution["status"], execution["forceCanceled"]) == ("CANCELED", True)
    assert iot.describe_job(jobId="j")["job"]["status"] == "COMPLETED"
    with pytest.raises(ClientError) as exc:
        iot.cancel_job_execution(jobId="j", thingName="nobody")
    assert code_status(exc) == ("ResourceNotFoundException", 404)


def test_delete_job_execution_rules(iot: Any, jobs_data: Any) -> None:
    new_job(iot, "j", "a", "b")
    with pytest.raises(ClientError) as exc:
        iot.delete_job_execution(jobId="j", thingName="a", executionNumber=1)
    assert code_status(exc) == ("InvalidStateTransitionException", 409)
    with pytest.raises(ClientError) as exc:
        iot.delete_job_execution(jobId="j", thingName="a", executionNumber=2)
    assert code_status(exc) == ("ResourceNotFoundException", 404)
    jobs_data.update_job_execution(jobId="j", thingName="a", status="SUCCEEDED")
    iot.delete_job_execution(jobId="j", thingName="a", executionNumber=1)
    with pytest.raises(ClientError) as exc:
        iot.describe_job_execution(jobId="j", thingName="a")
    assert code_status(exc) == ("ResourceNotFoundException", 404)

    jobs_data.start_next_pending_job_execution(thingName="b")
    iot.delete_job_execution(jobId="j", thingName="b", executionNumber=1, force=True)
    job = iot.describe_job(jobId="j")["job"]
    assert job["status"] == "COMPLETED"  # nothing pending any more
    assert job["jobProcessDetails"]["numberOfSucceededThings"] == 0
    assert iot.list_job_executions_for_job(jobId="j")["executionSummaries"] == []


# --------------------------------------------------------------------------- scheduling


def test_scheduled_job_starts_at_its_start_time(
    iot: Any, jobs_data: Any, clock: time_machine.Coordinates
) -> None:
    new_job(
        iot,
        "later",
        "dev",
        schedulingConfig={
            "startTime": "2026-01-01T13:00",
            "endTime": "2026-01-01T14:00",
            "endBehavior": "CANCEL",
        },
    )
    job = iot.describe_job(jobId="later")["job"]
    assert job["status"] == "SCHEDULED"
    assert job["schedulingConfig"]["startTime"] == "2026-01-01T13:00"
    assert jobs_data.get_pending_job_executions(thingName="dev")["queuedJobs"] == []
    clock.shift(3600)
    assert iot.describe_job(jobId="later")["job"]["status"] == "IN_PROGRESS"
    assert [
        j["jobId"] for j in jobs_data.get_pending_job_executions(thingName="dev")["queuedJobs"]
    ] == ["later"]
    clock.shift(3600)
    assert iot.describe_job(jobId="later")["job"]["status"] == "CANCELED"
    assert (
        iot.describe_job_execution(jobId="later", thingName="dev")["execution"]["status"]
        == "CANCELED"
    )


def test_changes_caused_by_timers_carry_the_due_time_not_the_observation_time(
    iot: Any, jobs_data: Any, clock: time_machine.Coordinates
) -> None:
    # A timer that fell due while nobody called is applied late, but what it causes
    # happened at the due time: the retry is queued and the job completes then.
    new_job(
        iot,
        "j",
        "dev",
        timeoutConfig={"inProgressTimeoutInMinutes": 5},
        jobExecutionsRetryConfig={
            "criteriaList": [{"failureType": "TIMED_OUT", "numberOfRetries": 1}]
        },
    )
    jobs_data.start_next_pending_job_execution(thingName="dev")
    clock.shift(3600)
    timed_out_at = START + dt.timedelta(minutes=5)
    retry = jobs_data.describe_job_execution(jobId="j", thingName="dev")["execution"]
    assert (retry["executionNumber"], retry["status"]) == (2, "QUEUED")
    assert retry["queuedAt"] == int(timed_out_at.timestamp())

    jobs_data.start_next_pending_job_execution(thingName="dev")
    clock.shift(3600)
    second_timeout = START + dt.timedelta(hours=1, minutes=5)
    job = iot.describe_job(jobId="j")["job"]
    assert job["status"] == "COMPLETED"
    assert job["completedAt"] == second_timeout


def test_scheduled_job_observed_late_queues_at_its_start_time(
    iot_mock: Any, iot: Any, jobs_data: Any, clock: time_machine.Coordinates
) -> None:
    new_job(iot, "later", "dev", schedulingConfig={"startTime": "2026-01-01T13:00"})
    clock.shift(3 * 3600)
    (queued,) = jobs_data.get_pending_job_executions(thingName="dev")["queuedJobs"]
    started = int(dt.datetime(2026, 1, 1, 13, 0, tzinfo=dt.timezone.utc).timestamp())
    assert queued["queuedAt"] == started
    (notify,) = iot_mock.messages("$aws/things/dev/jobs/notify")
    assert notify.json()["timestamp"] == started


def test_schedule_must_be_thirty_minutes_ahead(iot: Any, clock: time_machine.Coordinates) -> None:
    iot.create_thing(thingName="dev")
    for config in (
        {"startTime": "2026-01-01T12:10"},
        {"startTime": "tomorrow"},
        {"startTime": "2026-01-01T13:00", "endTime": "2026-01-01T13:10"},
        # At most a year ahead for the start, two years for the end.
        {"startTime": "2027-01-01T12:01"},
        {"endTime": "2028-01-01T12:01"},
        {"startTime": "2026-06-01T12:00", "endTime": "2028-01-01T12:01"},
    ):
        with pytest.raises(ClientError) as exc:
            iot.create_job(
                jobId="s", targets=[thing_arn("dev")], document=DOCUMENT, schedulingConfig=config
            )
        assert code_status(exc) == ("InvalidRequestException", 400)
    iot.create_job(
        jobId="far",
        targets=[thing_arn("dev")],
        document=DOCUMENT,
        schedulingConfig={"startTime": "2027-01-01T12:00", "endTime": "2028-01-01T12:00"},
    )
    assert iot.describe_job(jobId="far")["job"]["status"] == "SCHEDULED"


def test_timers_of_a_deleted_job_do_not_touch_a_new_job_with_its_id(
    iot: Any, clock: time_machine.Coordinates
) -> None:
    new_job(
        iot,
        "reused",
        "dev",
        schedulingConfig={
            "startTime": "2026-01-01T13:00",
            "endTime": "2026-01-01T14:00",
            "endBehavior": "CANCEL",
        },
    )
    iot.delete_job(jobId="reused", force=True)
    iot.create_job(jobId="reused", targets=[thing_arn("dev")], document=DOCUMENT)
    clock.shift(3 * 3600)
    assert iot.describe_job(jobId="reused")["job"]["status"] == "IN_PROGRESS"


def test_devices_get_presigned_urls_for_placeholders(
    iot: Any, jobs_data: Any, clock: time_machine.Coordinates
) -> None:
    url = "https://s3.amazonaws.com/firmware/v2.bin"
    document = json.dumps({"url": f"${{aws:iot:s3-presigned-url:{url}}}"})
    iot.create_thing(thingName="dev")
    iot.create_job(
        jobId="fw",
        targets=[thing_arn("dev")],
        document=document,
        presignedUrlConfig={"roleArn": f"arn:aws:iam::{ACCOUNT}:role/s3", "expiresInSec": 900},
    )
    assert iot.get_job_document(jobId="fw")["document"] == document  # control plane: as given
    seen = json.loads(
        jobs_data.describe_job_execution(jobId="fw", thingName="dev")["execution"]["jobDocument"]
    )["url"]
    assert seen.startswith(f"{url}?X-Amz-Algorithm=AWS4-HMAC-SHA256&")
    assert "X-Amz-Date=20260101T120000Z" in seen
    assert "X-Amz-Expires=900" in seen
    assert "X-Amz-Signature=" in seen
