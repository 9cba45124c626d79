"""Thing-group targets: recursive expansion, continuous jobs reaching things that join a
target group later, AssociateTargetsWithJob, ListJobs group filters.

Thing groups and memberships are made with the registry's operations (CreateThingGroup,
AddThingToThingGroup, RemoveThingFromThingGroup, UpdateThingGroupsForThing), so continuous
jobs see membership changes through the same events a real caller triggers.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from iotmock import IotMock

ACCOUNT = "123456789012"
REGION = "us-east-1"
DOCUMENT = json.dumps({"operation": "update"})


def thing_arn(name: str) -> str:
    return f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/{name}"


def group_arn(name: str) -> str:
    return f"arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/{name}"


class GroupSetup:
    """Thing groups and memberships through the registry's boto3 operations."""

    def __init__(self, iot: Any) -> None:
        self.iot = iot

    def group(self, name: str, parent: str | None = None) -> dict[str, Any]:
        """CreateThingGroup; returns its answer (name, ARN, id)."""
        extra = {"parentGroupName": parent} if parent else {}
        created: dict[str, Any] = self.iot.create_thing_group(thingGroupName=name, **extra)
        return created

    def add(self, thing_name: str, group_name: str) -> None:
        self.iot.add_thing_to_thing_group(thingName=thing_name, thingGroupName=group_name)

    def remove(self, thing_name: str, group_name: str) -> None:
        self.iot.remove_thing_from_thing_group(thingName=thing_name, thingGroupName=group_name)


@pytest.fixture
def groups(iot: Any) -> GroupSetup:
    return GroupSetup(iot)


def executions_of(iot: Any, job_id: str) -> dict[str, tuple[str, int]]:
    summaries = iot.list_job_executions_for_job(jobId=job_id)["executionSummaries"]
    return {
        s["thingArn"].rsplit("/", 1)[1]: (
            s["jobExecutionSummary"]["status"],
            s["jobExecutionSummary"]["executionNumber"],
        )
        for s in summaries
    }


def test_group_target_expands_recursively_to_member_things(iot: Any, groups: GroupSetup) -> None:
    for name in ("a", "b", "c", "d", "loner"):
        iot.create_thing(thingName=name)
    groups.group("fleet")
    groups.group("floor-1", parent="fleet")
    groups.group("room-9", parent="floor-1")
    groups.add("a", "fleet")
    groups.add("b", "floor-1")
    groups.add("c", "room-9")
    groups.group("spares")
    groups.add("a", "spares")  # a thing in two targeted groups gets one execution
    iot.create_job(
        jobId="g",
        targets=[group_arn("fleet"), group_arn("spares"), thing_arn("d")],
        document=DOCUMENT,
    )
    assert executions_of(iot, "g") == {
        "a": ("QUEUED", 1),
        "b": ("QUEUED", 1),
        "c": ("QUEUED", 1),
        "d": ("QUEUED", 1),
    }
    assert iot.describe_job(jobId="g")["job"]["jobProcessDetails"]["numberOfQueuedThings"] == 4


def test_snapshot_job_ignores_things_added_later(iot: Any, groups: GroupSetup) -> None:
    iot.create_thing(thingName="early")
    iot.create_thing(thingName="late")
    groups.group("fleet")
    groups.add("early", "fleet")
    iot.create_job(jobId="snap", targets=[group_arn("fleet")], document=DOCUMENT)
    groups.add("late", "fleet")
    assert set(executions_of(iot, "snap")) == {"early"}


def test_snapshot_job_on_empty_group_completes_at_once(iot: Any, groups: GroupSetup) -> None:
    groups.group("empty")
    iot.create_job(jobId="none", targets=[group_arn("empty")], document=DOCUMENT)
    assert iot.describe_job(jobId="none")["job"]["status"] == "COMPLETED"


def test_continuous_job_reaches_things_added_later_even_to_subgroups(
    iot: Any, jobs_data: Any, groups: GroupSetup, iot_mock: IotMock
) -> None:
    for name in ("late", "nested"):
        iot.create_thing(thingName=name)
    groups.group("fleet")
    groups.group("sub", parent="fleet")
    iot.create_job(
        jobId="cont",
        targets=[group_arn("fleet")],
        document=DOCUMENT,
        targetSelection="CONTINUOUS",
    )
    assert iot.describe_job(jobId="cont")["job"]["status"] == "IN_PROGRESS"  # never completes
    groups.add("late", "fleet")
    groups.add("nested", "sub")
    assert executions_of(iot, "cont") == {"late": ("QUEUED", 1), "nested": ("QUEUED", 1)}
    assert (
        iot_mock.messages("$aws/things/late/jobs/notify-next")[0].json()["execution"]["jobId"]
        == "cont"
    )

    started = jobs_data.start_next_pending_job_execution(thingName="late")["execution"]
    assert started["status"] == "IN_PROGRESS"
    jobs_data.update_job_execution(jobId="cont", thingName="late", status="SUCCEEDED")
    pending = jobs_data.get_pending_job_executions(thingName="late")
    assert (pending["inProgressJobs"], pending["queuedJobs"]) == ([], [])
    jobs_data.update_job_execution(jobId="cont", thingName="nested", status="SUCCEEDED")
    assert iot.describe_job(jobId="cont")["job"]["status"] == "IN_PROGRESS"


def test_continuous_job_removes_and_requeues_things_leaving_and_rejoining(
    iot: Any, groups: GroupSetup
) -> None:
    iot.create_thing(thingName="dev")
    groups.group("fleet")
    groups.add("dev", "fleet")
    iot.create_job(
        jobId="cont",
        targets=[group_arn("fleet")],
        document=DOCUMENT,
        targetSelection="CONTINUOUS",
    )
    groups.remove("dev", "fleet")
    assert executions_of(iot, "cont") == {"dev": ("REMOVED", 1)}
    job = iot.describe_job(jobId="cont")["job"]
    assert job["jobProcessDetails"]["numberOfRemovedThings"] == 1
    groups.add("dev", "fleet")
    execution = iot.describe_job_execution(jobId="cont", thingName="dev")["execution"]
    assert (execution["status"], execution["executionNumber"]) == ("QUEUED", 2)


def test_update_thing_groups_for_thing_drives_continuous_jobs(iot: Any, groups: GroupSetup) -> None:
    iot.create_thing(thingName="dev")
    groups.group("fleet")
    groups.group("sub", parent="fleet")
    groups.group("lab")
    iot.create_job(
        jobId="cont", targets=[group_arn("fleet")], document=DOCUMENT, targetSelection="CONTINUOUS"
    )
    iot.update_thing_groups_for_thing(thingName="dev", thingGroupsToAdd=["sub"])
    assert executions_of(iot, "cont") == {"dev": ("QUEUED", 1)}
    iot.update_thing_groups_for_thing(
        thingName="dev", thingGroupsToAdd=["lab"], thingGroupsToRemove=["sub"]
    )
    assert executions_of(iot, "cont") == {"dev": ("REMOVED", 1)}
    iot.update_thing_groups_for_thing(
        thingName="dev", thingGroupsToAdd=["sub"], thingGroupsToRemove=["lab"]
    )
    assert executions_of(iot, "cont") == {"dev": ("QUEUED", 2)}


def test_moving_within_the_targets_keeps_the_execution(
    iot: Any, jobs_data: Any, groups: GroupSetup
) -> None:
    """UpdateThingGroupsForThing is one change: a thing moved between two groups that
    are both reached by a continuous job never leaves its targets."""
    iot.create_thing(thingName="dev")
    groups.group("fleet")
    groups.group("floor-1", parent="fleet")
    groups.group("floor-2", parent="fleet")
    groups.add("dev", "floor-1")
    iot.create_job(
        jobId="cont", targets=[group_arn("fleet")], document=DOCUMENT, targetSelection="CONTINUOUS"
    )
    jobs_data.start_next_pending_job_execution(thingName="dev")
    iot.update_thing_groups_for_thing(
        thingName="dev", thingGroupsToAdd=["floor-2"], thingGroupsToRemove=["floor-1"]
    )
    assert executions_of(iot, "cont") == {"dev": ("IN_PROGRESS", 1)}
    assert iot.list_thing_groups_for_thing(thingName="dev")["thingGroups"] == [
        {"groupName": "floor-2", "groupArn": group_arn("floor-2")}
    ]


def test_completed_continuous_execution_is_not_requeued(
    iot: Any, jobs_data: Any, groups: GroupSetup
) -> None:
    iot.create_thing(thingName="dev")
    groups.group("fleet")
    groups.group("other")
    groups.add("dev", "fleet")
    iot.create_job(
        jobId="cont",
        targets=[group_arn("fleet"), group_arn("other")],
        document=DOCUMENT,
        targetSelection="CONTINUOUS",
    )
    jobs_data.update_job_execution(jobId="cont", thingName="dev", status="SUCCEEDED")
    groups.add("dev", "other")
    assert executions_of(iot, "cont") == {"dev": ("SUCCEEDED", 1)}


def test_associate_targets_with_continuous_job(iot: Any, groups: GroupSetup) -> None:
    for name in ("a", "b"):
        iot.create_thing(thingName=name)
    groups.group("first")
    groups.group("second")
    groups.add("a", "first")
    groups.add("b", "second")
    iot.create_job(
        jobId="cont",
        targets=[group_arn("first")],
        document=DOCUMENT,
        targetSelection="CONTINUOUS",
        description="desc",
    )
    answer = iot.associate_targets_with_job(
        jobId="cont", targets=[group_arn("second")], comment="more"
    )
    assert (answer["jobId"], answer["description"]) == ("cont", "desc")
    assert iot.describe_job(jobId="cont")["job"]["targets"] == [
        group_arn("first"),
        group_arn("second"),
    ]
    assert set(executions_of(iot, "cont")) == {"a", "b"}
    assert [j["jobId"] for j in iot.list_jobs(thingGroupName="second")["jobs"]] == ["cont"]


def test_associate_targets_refusals(iot: Any, groups: GroupSetup) -> None:
    iot.create_thing(thingName="a")
    groups.group("g")
    iot.create_job(jobId="snap", targets=[thing_arn("a")], document=DOCUMENT)
    with pytest.raises(ClientError) as exc:
        iot.associate_targets_with_job(jobId="snap", targets=[group_arn("g")])
    assert exc.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "CONTINUOUS" in exc.value.response["Error"]["Message"]

    iot.create_job(
        jobId="cont", targets=[thing_arn("a")], document=DOCUMENT, targetSelection="CONTINUOUS"
    )
    for index in range(99):
        groups.group(f"extra-{index}")
    iot.associate_targets_with_job(
        jobId="cont", targets=[group_arn(f"extra-{i}") for i in range(99)]
    )
    with pytest.raises(ClientError) as exc:
        iot.associate_targets_with_job(jobId="cont", targets=[group_arn("g")])
    assert exc.value.response["Error"]["Code"] == "LimitExceededException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410

    iot.cancel_job(jobId="cont")
    with pytest.raises(ClientError) as exc:
        iot.associate_targets_with_job(jobId="cont", targets=[group_arn("g")])
    assert exc.value.response["Error"]["Code"] == "InvalidRequestException"
    with pytest.raises(ClientError) as exc:
        iot.associate_targets_with_job(jobId="ghost", targets=[group_arn("g")])
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_list_jobs_by_thing_group_name_and_id(iot: Any, groups: GroupSetup) -> None:
    iot.create_thing(thingName="a")
    fleet = groups.group("fleet")
    groups.group("other")
    iot.create_job(jobId="j1", targets=[group_arn("fleet")], document=DOCUMENT)
    iot.create_job(jobId="j2", targets=[group_arn("other")], document=DOCUMENT)
    iot.create_job(jobId="j3", targets=[thing_arn("a")], document=DOCUMENT)
    by_name = iot.list_jobs(thingGroupName="fleet")["jobs"]
    assert [j["jobId"] for j in by_name] == ["j1"]
    assert by_name[0]["thingGroupId"] == fleet["thingGroupId"]
    assert [j["jobId"] for j in iot.list_jobs(thingGroupId=fleet["thingGroupId"])["jobs"]] == ["j1"]
    assert iot.list_jobs(thingGroupName="unknown")["jobs"] == []
