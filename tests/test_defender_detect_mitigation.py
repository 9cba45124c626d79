"""Device Defender Detect mitigation actions tasks through boto3."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import error_of
from test_defender_mitigation_actions import ROLE
from test_defender_violations import FUTURE, PAST, active, few_messages, profile

from iotmock import IotMock


def statistics(*, executed: int, skipped: int, failed: int) -> dict[str, int]:
    """A task summary's taskStatistics."""
    return {"actionsExecuted": executed, "actionsSkipped": skipped, "actionsFailed": failed}


@pytest.fixture
def violating(iot: Any, iot_mock: IotMock) -> list[str]:
    """Two things violating profile "sp", a quarantine group and a quarantine action;
    the violation ids."""
    iot.create_thing_group(thingGroupName="quarantine")
    iot.create_mitigation_action(
        actionName="quarantine",
        roleArn=ROLE,
        actionParams={"addThingsToThingGroupParams": {"thingGroupNames": ["quarantine"]}},
    )
    profile(iot, [few_messages()])
    for thing in ("a", "b"):
        iot.create_thing(thingName=thing)
        iot_mock.defender.report_metric(thing, "aws:num-messages-sent", 50)
    return sorted(v["violationId"] for v in active(iot))


def start(iot: Any, task_id: str = "task", **kw: Any) -> Any:
    return iot.start_detect_mitigation_actions_task(
        taskId=task_id,
        target=kw.pop("target", {"securityProfileName": "sp"}),
        actions=kw.pop("actions", ["quarantine"]),
        clientRequestToken=kw.pop("token", "token"),
        **kw,
    )


def test_task_quarantines_violating_things(iot: Any, violating: list[str]) -> None:
    assert start(iot)["taskId"] == "task"
    members = iot.list_things_in_thing_group(thingGroupName="quarantine")["things"]
    assert sorted(members) == ["a", "b"]
    summary = iot.describe_detect_mitigation_actions_task(taskId="task")["taskSummary"]
    assert summary["taskStatus"] == "SUCCESSFUL"
    assert summary["target"] == {"securityProfileName": "sp"}
    assert summary["taskStatistics"] == statistics(executed=2, skipped=0, failed=0)
    assert summary["actionsDefinition"][0]["name"] == "quarantine"
    assert summary["onlyActiveViolationsIncluded"] is False
    assert summary["taskEndTime"] >= summary["taskStartTime"]
    executions = iot.list_detect_mitigation_actions_executions(taskId="task")["actionsExecutions"]
    assert sorted((e["thingName"], e["status"]) for e in executions) == [
        ("a", "SUCCESSFUL"),
        ("b", "SUCCESSFUL"),
    ]
    assert {e["violationId"] for e in executions} == set(violating)


def test_second_run_skips_and_idempotent_start(iot: Any, violating: list[str]) -> None:
    start(iot, "first")
    assert start(iot, "first")["taskId"] == "first"  # same token: the same task
    with pytest.raises(ClientError) as exc:
        start(iot, "first", token="other")
    assert error_of(exc)[:2] == ("TaskAlreadyExistsException", 400)
    start(iot, "second", target={"violationIds": violating[:1]})
    summary = iot.describe_detect_mitigation_actions_task(taskId="second")["taskSummary"]
    assert summary["taskStatistics"]["actionsSkipped"] == 1
    [execution] = iot.list_detect_mitigation_actions_executions(taskId="second")[
        "actionsExecutions"
    ]
    assert execution["status"] == "SKIPPED"
    assert execution["violationId"] == violating[0]


def test_failed_execution(iot: Any, violating: list[str]) -> None:
    iot.delete_thing(thingName="a")
    start(iot, includeOnlyActiveViolations=False)
    summary = iot.describe_detect_mitigation_actions_task(taskId="task")["taskSummary"]
    assert summary["taskStatus"] == "FAILED"
    assert summary["taskStatistics"] == statistics(executed=1, skipped=0, failed=1)
    failed = iot.list_detect_mitigation_actions_executions(taskId="task", thingName="a")[
        "actionsExecutions"
    ]
    assert failed[0]["status"] == "FAILED"
    assert failed[0]["errorCode"] == "ResourceNotFoundException"
    assert "a" in failed[0]["message"]


def test_only_active_violations(iot: Any, iot_mock: IotMock, violating: list[str]) -> None:
    iot_mock.defender.report_metric("a", "aws:num-messages-sent", 1)  # a's alarm clears
    start(iot, includeOnlyActiveViolations=True)
    executions = iot.list_detect_mitigation_actions_executions(taskId="task")["actionsExecutions"]
    assert [e["thingName"] for e in executions] == ["b"]
    start(iot, "window", violationEventOccurrenceRange={"startTime": FUTURE, "endTime": FUTURE})
    assert iot.list_detect_mitigation_actions_executions(taskId="window")["actionsExecutions"] == []


def test_start_errors(iot: Any, violating: list[str]) -> None:
    with pytest.raises(ClientError) as exc:
        start(iot, actions=["missing"])
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)
    iot.create_mitigation_action(
        actionName="deactivate",
        roleArn=ROLE,
        actionParams={"updateDeviceCertificateParams": {"action": "DEACTIVATE"}},
    )
    with pytest.raises(ClientError) as exc:
        start(iot, actions=["deactivate"])
    code, _, message = error_of(exc)
    assert code == "InvalidRequestException" and "ADD_THINGS_TO_THING_GROUP" in message
    with pytest.raises(ClientError) as exc:
        start(iot, target={"violationIds": ["nope"]})
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        start(iot, target={"securityProfileName": "sp", "behaviorName": "other"})
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        start(iot, target={"securityProfileName": "missing"})
    # StartDetectMitigationActionsTask models no 404: a missing profile is a bad request.
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        iot.describe_detect_mitigation_actions_task(taskId="task")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_cancel(iot: Any, violating: list[str]) -> None:
    with pytest.raises(ClientError) as exc:
        iot.cancel_detect_mitigation_actions_task(taskId="missing")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    start(iot)
    # Tasks run to completion when they start: a finished task cannot be canceled.
    with pytest.raises(ClientError) as exc:
        iot.cancel_detect_mitigation_actions_task(taskId="task")
    code, _, message = error_of(exc)
    assert code == "InvalidRequestException" and "SUCCESSFUL" in message


def test_list_tasks_and_executions(iot: Any, violating: list[str]) -> None:
    for index in range(3):
        start(iot, f"t{index}", target={"violationIds": violating})
    tasks = iot.list_detect_mitigation_actions_tasks(startTime=PAST, endTime=FUTURE, maxResults=2)
    rest = iot.list_detect_mitigation_actions_tasks(
        startTime=PAST, endTime=FUTURE, nextToken=tasks["nextToken"]
    )
    assert [t["taskId"] for t in tasks["tasks"] + rest["tasks"]] == ["t0", "t1", "t2"]
    long_ago = dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc)
    assert iot.list_detect_mitigation_actions_tasks(startTime=PAST, endTime=long_ago)["tasks"] == []
    everything = iot.list_detect_mitigation_actions_executions(startTime=PAST, endTime=FUTURE)
    assert len(everything["actionsExecutions"]) == 6
    by_violation = iot.list_detect_mitigation_actions_executions(
        startTime=PAST, endTime=FUTURE, violationId=violating[0]
    )
    assert [e["taskId"] for e in by_violation["actionsExecutions"]] == ["t0", "t1", "t2"]
    with pytest.raises(ClientError) as exc:
        iot.list_detect_mitigation_actions_executions(thingName="a")
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


def test_held_task_can_be_canceled_or_run(
    iot: Any, iot_mock: IotMock, violating: list[str]
) -> None:
    iot_mock.defender.hold_mitigation_tasks()
    start(iot, "held")
    start(iot, "canceled")
    summary = iot.describe_detect_mitigation_actions_task(taskId="held")["taskSummary"]
    assert summary["taskStatus"] == "IN_PROGRESS"
    assert "taskEndTime" not in summary
    assert iot.list_things_in_thing_group(thingGroupName="quarantine")["things"] == []
    iot.cancel_detect_mitigation_actions_task(taskId="canceled")
    canceled = iot.describe_detect_mitigation_actions_task(taskId="canceled")["taskSummary"]
    assert canceled["taskStatus"] == "CANCELED"
    assert iot_mock.defender.run_mitigation_tasks() == ["held"]
    summary = iot.describe_detect_mitigation_actions_task(taskId="held")["taskSummary"]
    assert summary["taskStatus"] == "SUCCESSFUL"
    assert sorted(iot.list_things_in_thing_group(thingGroupName="quarantine")["things"]) == [
        "a",
        "b",
    ]
    assert (
        iot.list_detect_mitigation_actions_executions(taskId="canceled")["actionsExecutions"] == []
    )
    iot_mock.defender.hold_mitigation_tasks(False)
    start(iot, "immediate")
    status = iot.describe_detect_mitigation_actions_task(taskId="immediate")["taskSummary"][
        "taskStatus"
    ]
    assert status == "SUCCESSFUL"


def test_recreated_profile_has_no_old_violations(iot: Any, violating: list[str]) -> None:
    iot.delete_security_profile(securityProfileName="sp")
    iot.create_security_profile(securityProfileName="sp", behaviors=[few_messages()])
    start(iot)
    summary = iot.describe_detect_mitigation_actions_task(taskId="task")["taskSummary"]
    assert summary["taskStatus"] == "SUCCESSFUL"
    assert summary["taskStatistics"] == statistics(executed=0, skipped=0, failed=0)
    history = iot.list_violation_events(startTime=PAST, endTime=FUTURE)["violationEvents"]
    assert sorted(e["violationEventType"] for e in history) == [
        "alarm-invalidated",
        "alarm-invalidated",
        "in-alarm",
        "in-alarm",
    ]
