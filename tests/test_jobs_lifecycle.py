"""Jobs on the control plane: creation, description, listing, update, cancel, delete, and
the end-to-end lifecycle with the device side (iot-jobs-data)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tag_checks import listed_tags

from iotmock import IotMock
from iotmock.core.tagging import tags_of

ACCOUNT = "123456789012"
REGION = "us-east-1"
DOCUMENT = json.dumps({"operation": "update", "version": "2.0"})


def thing_arn(name: str) -> str:
    return f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/{name}"


def make_things(iot: Any, *names: str) -> list[str]:
    for name in names:
        iot.create_thing(thingName=name)
    return [thing_arn(name) for name in names]


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = exc.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def test_create_job_returns_identity_and_queues_one_execution_per_thing(iot: Any) -> None:
    targets = make_things(iot, "t1", "t2")
    created = iot.create_job(
        jobId="job-1", targets=targets, document=DOCUMENT, description="firmware"
    )
    assert created["jobId"] == "job-1"
    assert created["jobArn"] == f"arn:aws:iot:{REGION}:{ACCOUNT}:job/job-1"
    assert created["description"] == "firmware"

    job = iot.describe_job(jobId="job-1")["job"]
    assert job["status"] == "IN_PROGRESS"
    assert job["targetSelection"] == "SNAPSHOT"
    assert job["targets"] == targets
    assert job["jobProcessDetails"]["numberOfQueuedThings"] == 2
    assert job["jobProcessDetails"]["numberOfSucceededThings"] == 0
    assert job["isConcurrent"] is False

    summaries = iot.list_job_executions_for_job(jobId="job-1")["executionSummaries"]
    assert [s["thingArn"] for s in summaries] == targets
    assert {s["jobExecutionSummary"]["status"] for s in summaries} == {"QUEUED"}
    assert {s["jobExecutionSummary"]["executionNumber"] for s in summaries} == {1}


def test_duplicate_job_id_is_resource_already_exists(iot: Any) -> None:
    targets = make_things(iot, "t1")
    iot.create_job(jobId="dup", targets=targets, document=DOCUMENT)
    with pytest.raises(ClientError) as exc:
        iot.create_job(jobId="dup", targets=targets, document=DOCUMENT)
    assert error_of(exc)[:2] == ("ResourceAlreadyExistsException", 409)
    assert exc.value.response["resourceId"] == "dup"
    assert exc.value.response["resourceArn"].endswith(":job/dup")


@pytest.mark.parametrize(
    "sources",
    [{}, {"document": DOCUMENT, "documentSource": "https://s3.amazonaws.com/b/k"}],
    ids=["none", "two"],
)
def test_create_job_needs_exactly_one_document_source(iot: Any, sources: dict[str, str]) -> None:
    targets = make_things(iot, "t1")
    with pytest.raises(ClientError) as exc:
        iot.create_job(jobId="j", targets=targets, **sources)
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "exactly one of document, documentSource or jobTemplateArn" in message


def test_targets_must_exist_and_be_thing_or_group_arns(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_job(jobId="j", targets=[thing_arn("ghost")], document=DOCUMENT)
    assert error_of(exc) == ("ResourceNotFoundException", 404, "Thing ghost cannot be found.")
    with pytest.raises(ClientError) as exc:
        iot.create_job(
            jobId="j",
            targets=[f"arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/none"],
            document=DOCUMENT,
        )
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.create_job(jobId="j", targets=["arn:aws:s3:::bucket"], document=DOCUMENT)
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)
    assert iot.list_jobs()["jobs"] == []


def test_document_source_is_kept_and_returned(iot: Any) -> None:
    source = "https://s3.us-east-1.amazonaws.com/firmware/job.json"
    iot.create_job(jobId="s3", targets=make_things(iot, "t1"), documentSource=source)
    described = iot.describe_job(jobId="s3")
    assert described["documentSource"] == source
    # S3 is not served: the document itself is unknown to the mock.
    assert "document" not in iot.get_job_document(jobId="s3")


def test_get_job_document(iot: Any) -> None:
    iot.create_job(jobId="doc", targets=make_things(iot, "t1"), document=DOCUMENT)
    assert iot.get_job_document(jobId="doc")["document"] == DOCUMENT
    with pytest.raises(ClientError) as exc:
        iot.get_job_document(jobId="nope")
    assert error_of(exc) == ("ResourceNotFoundException", 404, "Job nope cannot be found.")


def test_configs_are_stored_and_returned(iot: Any) -> None:
    configs: dict[str, Any] = {
        "presignedUrlConfig": {
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/presign",
            "expiresInSec": 600,
        },
        "jobExecutionsRolloutConfig": {
            "exponentialRate": {
                "baseRatePerMinute": 5,
                "incrementFactor": 1.5,
                "rateIncreaseCriteria": {"numberOfSucceededThings": 2},
            }
        },
        "abortConfig": {
            "criteriaList": [
                {
                    "failureType": "FAILED",
                    "action": "CANCEL",
                    "thresholdPercentage": 50.0,
                    "minNumberOfExecutedThings": 10,
                }
            ]
        },
        "timeoutConfig": {"inProgressTimeoutInMinutes": 30},
        "jobExecutionsRetryConfig": {
            "criteriaList": [{"failureType": "TIMED_OUT", "numberOfRetries": 2}]
        },
    }
    iot.create_job(
        jobId="cfg",
        targets=make_things(iot, "t1"),
        document=DOCUMENT,
        namespaceId="ns1",
        **configs,
    )
    job = iot.describe_job(jobId="cfg")["job"]
    for member, value in configs.items():
        assert job[member] == value
    assert job["namespaceId"] == "ns1"


def test_list_jobs_filters_and_paging(iot: Any) -> None:
    targets = make_things(iot, "t1")
    for index in range(5):
        iot.create_job(
            jobId=f"job-{index}",
            targets=targets,
            document=DOCUMENT,
            targetSelection="CONTINUOUS" if index % 2 else "SNAPSHOT",
            **({"namespaceId": "green"} if index == 4 else {}),
        )
    iot.cancel_job(jobId="job-0")

    everything = iot.list_jobs()["jobs"]
    assert [j["jobId"] for j in everything] == [f"job-{i}" for i in range(5)]
    assert everything[0]["status"] == "CANCELED"
    assert "createdAt" in everything[0]

    def ids(**filters: Any) -> list[str]:
        return [j["jobId"] for j in iot.list_jobs(**filters)["jobs"]]

    assert ids(status="CANCELED") == ["job-0"]
    assert ids(targetSelection="CONTINUOUS") == ["job-1", "job-3"]
    assert ids(namespaceId="green") == ["job-4"]
    assert ids(status="IN_PROGRESS", targetSelection="SNAPSHOT") == ["job-2", "job-4"]

    first = iot.list_jobs(maxResults=2)
    assert [j["jobId"] for j in first["jobs"]] == ["job-0", "job-1"]
    second = iot.list_jobs(maxResults=2, nextToken=first["nextToken"])
    assert [j["jobId"] for j in second["jobs"]] == ["job-2", "job-3"]
    third = iot.list_jobs(maxResults=2, nextToken=second["nextToken"])
    assert [j["jobId"] for j in third["jobs"]] == ["job-4"]
    assert "nextToken" not in third

    paginated = [
        j["jobId"] for page in iot.get_paginator("list_jobs").paginate() for j in page["jobs"]
    ]
    assert paginated == [f"job-{i}" for i in range(5)]

    with pytest.raises(ClientError) as exc:
        iot.list_jobs(nextToken="garbage")
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


def test_update_job_changes_description_and_configs(iot: Any) -> None:
    iot.create_job(jobId="u", targets=make_things(iot, "t1"), document=DOCUMENT)
    before = iot.describe_job(jobId="u")["job"]
    iot.update_job(
        jobId="u",
        description="new text",
        timeoutConfig={"inProgressTimeoutInMinutes": 5},
        abortConfig={
            "criteriaList": [
                {
                    "failureType": "ALL",
                    "action": "CANCEL",
                    "thresholdPercentage": 10.0,
                    "minNumberOfExecutedThings": 1,
                }
            ]
        },
    )
    after = iot.describe_job(jobId="u")["job"]
    assert after["description"] == "new text"
    assert after["timeoutConfig"] == {"inProgressTimeoutInMinutes": 5}
    assert after["abortConfig"]["criteriaList"][0]["failureType"] == "ALL"
    assert after["lastUpdatedAt"] >= before["lastUpdatedAt"]
    with pytest.raises(ClientError) as exc:
        iot.update_job(jobId="missing", description="x")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_cancel_job_without_force_cancels_only_queued_executions(iot: Any, jobs_data: Any) -> None:
    iot.create_job(jobId="c", targets=make_things(iot, "a", "b"), document=DOCUMENT)
    jobs_data.start_next_pending_job_execution(thingName="a")
    answer = iot.cancel_job(jobId="c", reasonCode="BAD_FIRMWARE", comment="rollback")
    assert answer["jobId"] == "c"

    job = iot.describe_job(jobId="c")["job"]
    assert job["status"] == "CANCELED"
    assert job["reasonCode"] == "BAD_FIRMWARE"
    assert job["comment"] == "rollback"
    assert job["forceCanceled"] is False
    assert job["jobProcessDetails"]["numberOfCanceledThings"] == 1
    assert job["jobProcessDetails"]["numberOfInProgressThings"] == 1
    assert iot.describe_job_execution(jobId="c", thingName="b")["execution"]["status"] == (
        "CANCELED"
    )
    # The device still running it may finish; the job stays CANCELED.
    jobs_data.update_job_execution(jobId="c", thingName="a", status="SUCCEEDED")
    assert iot.describe_job(jobId="c")["job"]["status"] == "CANCELED"


def test_cancel_job_with_force_cancels_in_progress_executions(iot: Any, jobs_data: Any) -> None:
    iot.create_job(jobId="f", targets=make_things(iot, "a"), document=DOCUMENT)
    jobs_data.start_next_pending_job_execution(thingName="a")
    iot.cancel_job(jobId="f", force=True)
    execution = iot.describe_job_execution(jobId="f", thingName="a")["execution"]
    assert execution["status"] == "CANCELED"
    assert execution["forceCanceled"] is True
    assert iot.describe_job(jobId="f")["job"]["forceCanceled"] is True
    with pytest.raises(ClientError) as exc:
        jobs_data.update_job_execution(jobId="f", thingName="a", status="SUCCEEDED")
    assert error_of(exc)[:2] == ("InvalidStateTransitionException", 409)


def test_canceled_job_can_be_force_canceled_later(iot: Any, jobs_data: Any) -> None:
    iot.create_job(jobId="twice", targets=make_things(iot, "a"), document=DOCUMENT)
    jobs_data.start_next_pending_job_execution(thingName="a")
    iot.cancel_job(jobId="twice")
    assert (
        iot.describe_job_execution(jobId="twice", thingName="a")["execution"]["status"]
        == "IN_PROGRESS"
    )
    iot.cancel_job(jobId="twice", force=True)
    assert (
        iot.describe_job_execution(jobId="twice", thingName="a")["execution"]["status"]
        == "CANCELED"
    )
    assert iot.describe_job(jobId="twice")["job"]["forceCanceled"] is True


def test_cancel_completed_job_is_refused(iot: Any, jobs_data: Any) -> None:
    iot.create_job(jobId="done", targets=make_things(iot, "a"), document=DOCUMENT)
    jobs_data.update_job_execution(jobId="done", thingName="a", status="SUCCEEDED")
    with pytest.raises(ClientError) as exc:
        iot.cancel_job(jobId="done")
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


def test_delete_job_refused_while_in_progress_unless_forced(iot: Any) -> None:
    iot.create_job(jobId="d", targets=make_things(iot, "a"), document=DOCUMENT)
    with pytest.raises(ClientError) as exc:
        iot.delete_job(jobId="d")
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidStateTransitionException", 409)
    assert "force" in message
    iot.delete_job(jobId="d", force=True)
    with pytest.raises(ClientError) as exc:
        iot.describe_job(jobId="d")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    assert iot.list_job_executions_for_thing(thingName="a")["executionSummaries"] == []
    # The id is free again once deleted.
    iot.create_job(jobId="d", targets=[thing_arn("a")], document=DOCUMENT)
    assert iot.describe_job(jobId="d")["job"]["status"] == "IN_PROGRESS"


def test_delete_canceled_job_without_force(iot: Any) -> None:
    iot.create_job(jobId="x", targets=make_things(iot, "a"), document=DOCUMENT)
    iot.cancel_job(jobId="x")
    iot.delete_job(jobId="x")
    assert iot.list_jobs()["jobs"] == []


def test_job_tags_are_kept_and_dropped_with_the_job(iot: Any, iot_mock: IotMock) -> None:
    created = iot.create_job(
        jobId="tagged",
        targets=make_things(iot, "a"),
        document=DOCUMENT,
        tags=[{"Key": "env", "Value": "test"}],
    )
    arn = created["jobArn"]
    backend = iot_mock.backend()
    assert tags_of(backend, arn) == {"env": "test"}
    assert listed_tags(iot, arn) == {"env": "test"}  # "job" is a taggable ARN type
    iot.delete_job(jobId="tagged", force=True)
    assert tags_of(backend, arn) == {}


def test_job_execution_lists_for_thing_filters(iot: Any, jobs_data: Any) -> None:
    targets = make_things(iot, "a")
    iot.create_job(jobId="one", targets=targets, document=DOCUMENT)
    iot.create_job(jobId="two", targets=targets, document=DOCUMENT, namespaceId="ns")
    jobs_data.update_job_execution(jobId="one", thingName="a", status="SUCCEEDED")

    def job_ids(**filters: Any) -> list[str]:
        found = iot.list_job_executions_for_thing(thingName="a", **filters)
        return [s["jobId"] for s in found["executionSummaries"]]

    assert job_ids() == ["one", "two"]
    assert job_ids(status="SUCCEEDED") == ["one"]
    assert job_ids(status="QUEUED") == ["two"]
    assert job_ids(namespaceId="ns") == ["two"]
    assert job_ids(jobId="one") == ["one"]
    page = iot.list_job_executions_for_thing(thingName="a", maxResults=1)
    assert len(page["executionSummaries"]) == 1
    rest = iot.list_job_executions_for_thing(thingName="a", nextToken=page["nextToken"])
    assert [s["jobId"] for s in rest["executionSummaries"]] == ["two"]
    with pytest.raises(ClientError) as exc:
        iot.list_job_executions_for_thing(thingName="nobody")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_list_job_executions_for_job_status_filter_and_missing_job(
    iot: Any, jobs_data: Any
) -> None:
    iot.create_job(jobId="j", targets=make_things(iot, "a", "b", "c"), document=DOCUMENT)
    jobs_data.update_job_execution(jobId="j", thingName="b", status="FAILED")
    found = iot.list_job_executions_for_job(jobId="j", status="FAILED")["executionSummaries"]
    assert [s["thingArn"] for s in found] == [thing_arn("b")]
    page = iot.list_job_executions_for_job(jobId="j", maxResults=2)
    assert len(page["executionSummaries"]) == 2 and "nextToken" in page
    with pytest.raises(ClientError) as exc:
        iot.list_job_executions_for_job(jobId="none")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_end_to_end_control_plane_device_control_plane(
    iot: Any, jobs_data: Any, iot_mock: IotMock
) -> None:
    """Control plane creates a job, the device runs it to completion, the control plane
    sees the job COMPLETED."""
    targets = make_things(iot, "sensor-1", "sensor-2")
    iot.create_job(jobId="rollout", targets=targets, document=DOCUMENT)

    for thing in ("sensor-1", "sensor-2"):
        pending = jobs_data.get_pending_job_executions(thingName=thing)
        assert [j["jobId"] for j in pending["queuedJobs"]] == ["rollout"]
        started = jobs_data.start_next_pending_job_execution(
            thingName=thing, statusDetails={"step": "downloading"}
        )["execution"]
        assert started["status"] == "IN_PROGRESS"
        assert started["jobDocument"] == DOCUMENT
        assert iot.describe_job(jobId="rollout")["job"]["status"] == "IN_PROGRESS"
        done = jobs_data.update_job_execution(
            jobId="rollout",
            thingName=thing,
            status="SUCCEEDED",
            statusDetails={"step": "done"},
            expectedVersion=started["versionNumber"],
            includeJobExecutionState=True,
        )
        assert done["executionState"]["status"] == "SUCCEEDED"
        after = jobs_data.get_pending_job_executions(thingName=thing)
        assert (after["inProgressJobs"], after["queuedJobs"]) == ([], [])

    job = iot.describe_job(jobId="rollout")["job"]
    assert job["status"] == "COMPLETED"
    assert job["completedAt"] >= job["createdAt"]
    assert job["jobProcessDetails"]["numberOfSucceededThings"] == 2
    assert job["jobProcessDetails"]["numberOfQueuedThings"] == 0
    assert "processingTargets" not in job["jobProcessDetails"]
    assert [j["jobId"] for j in iot.list_jobs(status="COMPLETED")["jobs"]] == ["rollout"]
    execution = iot.describe_job_execution(jobId="rollout", thingName="sensor-1")["execution"]
    assert execution["status"] == "SUCCEEDED"
    assert execution["statusDetails"] == {"detailsMap": {"step": "done"}}
    assert execution["versionNumber"] == 3
    # The device was told about the job and about it being done.
    next_messages = iot_mock.messages("$aws/things/sensor-1/jobs/notify-next")
    assert next_messages[0].json()["execution"]["jobId"] == "rollout"
    assert "execution" not in next_messages[-1].json()


def test_refused_tags_create_no_job(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_job(
            jobId="t",
            targets=make_things(iot, "a"),
            document=DOCUMENT,
            tags=[{"Key": "aws:reserved", "Value": "x"}],
        )
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)
    assert iot.list_jobs()["jobs"] == []
    assert iot.list_job_executions_for_thing(thingName="a")["executionSummaries"] == []
