"""Device notifications on `$aws/things/<thing>/jobs/notify` and `.../notify-next`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import time_machine

from iotmock import IotMock

ACCOUNT = "123456789012"
REGION = "us-east-1"
DOCUMENT = json.dumps({"operation": "update"})
START = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone.utc)
EPOCH = int(START.timestamp())


def thing_arn(name: str) -> str:
    return f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/{name}"


def payloads(iot_mock: IotMock, topic: str) -> list[Any]:
    return [m.json() for m in iot_mock.messages(topic)]


@time_machine.travel(START, tick=False)
def test_notify_and_notify_next_follow_the_pending_list(
    iot: Any, jobs_data: Any, iot_mock: IotMock
) -> None:
    iot.create_thing(thingName="dev")
    iot.create_job(jobId="one", targets=[thing_arn("dev")], document=DOCUMENT)

    notify = payloads(iot_mock, "$aws/things/dev/jobs/notify")
    assert notify == [
        {
            "timestamp": EPOCH,
            "jobs": {
                "QUEUED": [
                    {
                        "jobId": "one",
                        "queuedAt": EPOCH,
                        "lastUpdatedAt": EPOCH,
                        "versionNumber": 1,
                        "executionNumber": 1,
                    }
                ]
            },
        }
    ]
    assert payloads(iot_mock, "$aws/things/dev/jobs/notify-next") == [
        {
            "timestamp": EPOCH,
            "execution": {
                "jobId": "one",
                "thingName": "dev",
                "status": "QUEUED",
                "statusDetails": {},
                "queuedAt": EPOCH,
                "lastUpdatedAt": EPOCH,
                "versionNumber": 1,
                "executionNumber": 1,
                "jobDocument": json.loads(DOCUMENT),  # an object over MQTT
            },
        }
    ]
    assert {m.source for m in iot_mock.messages("$aws/things/dev/jobs/#")} == {"jobs"}

    iot.create_job(jobId="two", targets=[thing_arn("dev")], document=DOCUMENT)
    notify = payloads(iot_mock, "$aws/things/dev/jobs/notify")
    assert [j["jobId"] for j in notify[-1]["jobs"]["QUEUED"]] == ["one", "two"]
    assert len(payloads(iot_mock, "$aws/things/dev/jobs/notify-next")) == 1  # next unchanged

    jobs_data.start_next_pending_job_execution(thingName="dev")
    assert len(payloads(iot_mock, "$aws/things/dev/jobs/notify")) == 2  # same pending set

    jobs_data.update_job_execution(jobId="one", thingName="dev", status="SUCCEEDED")
    notify = payloads(iot_mock, "$aws/things/dev/jobs/notify")
    assert [j["jobId"] for j in notify[-1]["jobs"]["QUEUED"]] == ["two"]
    assert "IN_PROGRESS" not in notify[-1]["jobs"]
    next_messages = payloads(iot_mock, "$aws/things/dev/jobs/notify-next")
    assert next_messages[-1]["execution"]["jobId"] == "two"

    iot.cancel_job(jobId="two")
    assert payloads(iot_mock, "$aws/things/dev/jobs/notify")[-1] == {
        "timestamp": EPOCH,
        "jobs": {},
    }
    assert payloads(iot_mock, "$aws/things/dev/jobs/notify-next")[-1] == {"timestamp": EPOCH}


def test_in_progress_executions_are_listed_first(
    iot: Any, jobs_data: Any, iot_mock: IotMock
) -> None:
    iot.create_thing(thingName="dev")
    iot.create_job(jobId="one", targets=[thing_arn("dev")], document=DOCUMENT)
    jobs_data.start_next_pending_job_execution(thingName="dev")
    iot.create_job(jobId="two", targets=[thing_arn("dev")], document=DOCUMENT)
    last = payloads(iot_mock, "$aws/things/dev/jobs/notify")[-1]["jobs"]
    assert [j["jobId"] for j in last["IN_PROGRESS"]] == ["one"]
    assert [j["jobId"] for j in last["QUEUED"]] == ["two"]
    assert last["IN_PROGRESS"][0]["startedAt"] >= last["IN_PROGRESS"][0]["queuedAt"]


def test_namespaced_jobs_notify_on_namespace_topics(iot: Any, iot_mock: IotMock) -> None:
    iot.create_thing(thingName="core")
    iot.create_job(jobId="gg", targets=[thing_arn("core")], document=DOCUMENT, namespaceId="aws-gg")
    assert iot_mock.messages("$aws/things/core/jobs/notify") == []
    assert iot_mock.messages("$aws/things/core/jobs/notify-next") == []
    namespaced = payloads(iot_mock, "$aws/things/core/jobs/notify-next-namespace-aws-gg")
    assert namespaced[0]["execution"]["jobId"] == "gg"
    assert len(iot_mock.messages("$aws/things/core/jobs/notify-namespace-aws-gg")) == 1


def test_deleting_a_job_notifies_its_things(iot: Any, iot_mock: IotMock) -> None:
    iot.create_thing(thingName="dev")
    iot.create_job(jobId="gone", targets=[thing_arn("dev")], document=DOCUMENT)
    iot.delete_job(jobId="gone", force=True)
    assert payloads(iot_mock, "$aws/things/dev/jobs/notify")[-1]["jobs"] == {}
    assert "execution" not in payloads(iot_mock, "$aws/things/dev/jobs/notify-next")[-1]


def test_notify_next_embeds_the_document_as_json(iot: Any, iot_mock: IotMock) -> None:
    iot.create_thing(thingName="dev")
    iot.create_job(jobId="one", targets=[thing_arn("dev")], document='{"steps": [1, 2]}')
    [message] = payloads(iot_mock, "$aws/things/dev/jobs/notify-next")
    assert message["execution"]["jobDocument"] == {"steps": [1, 2]}
