"""Jobs outputs compared with what AWS returns (issue 10): the empty structures AWS shows
for a job created without configuration, and execution statusDetails without details."""

from __future__ import annotations

import json
from typing import Any

THING_ARN = "arn:aws:iot:us-east-1:123456789012:thing/MyRaspberryPi"


def _job(iot: Any, **extra: Any) -> None:
    iot.create_thing(thingName="MyRaspberryPi")
    iot.create_job(
        jobId="example-job-01",
        targets=[THING_ARN],
        document=json.dumps({"action": "test"}),
        description="example job test",
        **extra,
    )


def test_describe_job_shows_empty_configuration_as_aws_does(iot: Any) -> None:
    _job(iot)
    job = iot.describe_job(jobId="example-job-01")["job"]
    assert job["presignedUrlConfig"] == {}
    assert job["jobExecutionsRolloutConfig"] == {}
    assert job["timeoutConfig"] == {}
    # Not shown by AWS's example output for a job created without them.
    assert "abortConfig" not in job
    assert "jobExecutionsRetryConfig" not in job


def test_describe_job_shows_given_configuration(iot: Any) -> None:
    _job(
        iot,
        timeoutConfig={"inProgressTimeoutInMinutes": 30},
        jobExecutionsRolloutConfig={"maximumPerMinute": 5},
    )
    job = iot.describe_job(jobId="example-job-01")["job"]
    assert job["timeoutConfig"] == {"inProgressTimeoutInMinutes": 30}
    assert job["jobExecutionsRolloutConfig"] == {"maximumPerMinute": 5}
    assert job["presignedUrlConfig"] == {}


def test_execution_without_details_has_empty_status_details(iot: Any, jobs_data: Any) -> None:
    _job(iot)
    control = iot.describe_job_execution(jobId="example-job-01", thingName="MyRaspberryPi")
    assert control["execution"]["statusDetails"] == {}
    device = jobs_data.describe_job_execution(jobId="example-job-01", thingName="MyRaspberryPi")
    assert device["execution"]["statusDetails"] == {}
    jobs_data.update_job_execution(
        jobId="example-job-01",
        thingName="MyRaspberryPi",
        status="IN_PROGRESS",
        statusDetails={"progress": "10%"},
    )
    control = iot.describe_job_execution(jobId="example-job-01", thingName="MyRaspberryPi")
    assert control["execution"]["statusDetails"] == {"detailsMap": {"progress": "10%"}}
    device = jobs_data.describe_job_execution(jobId="example-job-01", thingName="MyRaspberryPi")
    assert device["execution"]["statusDetails"] == {"progress": "10%"}
