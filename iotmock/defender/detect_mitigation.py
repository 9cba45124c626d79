"""Device Defender Detect mitigation actions tasks: StartDetectMitigationActionsTask,
CancelDetectMitigationActionsTask, DescribeDetectMitigationActionsTask,
ListDetectMitigationActionsTasks, ListDetectMitigationActionsExecutions.

A task runs synchronously when it starts (or, while tasks are held for tests, when
`IotMock.defender.run_mitigation_tasks()` runs it): it selects the violations of its target
(violation ids, or a security profile and optionally one behavior) and applies each
mitigation action to each violating thing, recording one execution per (violation,
action). Detect mitigation supports ADD_THINGS_TO_THING_GROUP actions only
(DG:dd-detect-mitigation-actions); other action types are refused at start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iotmock.core import clock, crud
from iotmock.core.backend import Backend
from iotmock.core.errors import ServiceError, invalid_request
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex, key_range
from iotmock.core.task_kinds import TaskKind
from iotmock.defender.mitigation_actions import MitigationAction, get_mitigation_action
from iotmock.defender.security_profiles import get_profile
from iotmock.defender.violations import Violation, violation_store
from iotmock.registry.records import registry_of
from iotmock.registry.thing_groups import check_static, root_name, update_memberships

DEFAULT_PAGE_SIZE = 25
DETECT_ACTION_TYPES = frozenset({"ADD_THINGS_TO_THING_GROUP"})


@dataclass(slots=True)
class Execution:
    task_id: str
    violation_id: str
    action_name: str
    thing_name: str
    started_at: float
    ended_at: float
    status: str
    error_code: str | None = None
    message: str | None = None

    def shape(self) -> dict[str, Any]:
        return {
            "taskId": self.task_id,
            "violationId": self.violation_id,
            "actionName": self.action_name,
            "thingName": self.thing_name,
            "executionStartDate": self.started_at,
            "executionEndDate": self.ended_at,
            "status": self.status,
            "errorCode": self.error_code,
            "message": self.message,
        }


@dataclass(slots=True)
class DetectTask:
    task_id: str
    client_request_token: str
    status: str
    started_at: float
    ended_at: float | None
    target: dict[str, Any]
    occurrence_range: dict[str, Any] | None
    only_active: bool
    include_suppressed: bool
    actions: list[dict[str, Any]]
    executions: list[Execution] = field(default_factory=list)
    # What a held task will apply when it runs: its violations and actions.
    pending: list[tuple[Violation, MitigationAction]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        counts = {status: 0 for status in ("SUCCESSFUL", "SKIPPED", "FAILED")}
        for execution in self.executions:
            counts[execution.status] = counts.get(execution.status, 0) + 1
        return {
            "taskId": self.task_id,
            "taskStatus": self.status,
            "taskStartTime": self.started_at,
            "taskEndTime": self.ended_at,
            "target": self.target,
            "violationEventOccurrenceRange": self.occurrence_range,
            "onlyActiveViolationsIncluded": self.only_active,
            "suppressedAlertsIncluded": self.include_suppressed,
            "actionsDefinition": self.actions,
            "taskStatistics": {
                "actionsExecuted": counts["SUCCESSFUL"],
                "actionsSkipped": counts["SKIPPED"],
                "actionsFailed": counts["FAILED"],
            },
        }


@dataclass(slots=True)
class DetectTaskStore:
    tasks: SortedIndex[DetectTask] = field(default_factory=SortedIndex)
    # Executions of every task, keyed "<task id>\0<sequence>" (task, then run order).
    executions: SortedIndex[Execution] = field(default_factory=SortedIndex)
    # While held (IotMock.defender.hold_mitigation_tasks), new tasks stay
    # IN_PROGRESS until IotMock.defender.run_mitigation_tasks runs them.
    hold: bool = False


def _store(backend: Backend) -> DetectTaskStore:
    return backend.store(DetectTaskStore)


DETECT_TASKS: TaskKind[DetectTask] = TaskKind(
    "Detect mitigation actions task",
    lambda backend: _store(backend).tasks,
    client_token=lambda task: task.client_request_token,
)


def _actions(backend: Backend, names: list[str]) -> list[MitigationAction]:
    actions: list[MitigationAction] = []
    for name in names:
        try:
            action = get_mitigation_action(backend, name)
        except ServiceError:
            raise invalid_request(f"Mitigation action {name} does not exist.") from None
        if action.action_type not in DETECT_ACTION_TYPES:
            raise invalid_request(
                f"Mitigation action {name} is of type {action.action_type}; Detect mitigation "
                f"actions tasks apply only {', '.join(sorted(DETECT_ACTION_TYPES))} actions."
            )
        actions.append(action)
    return actions


def _select(backend: Backend, params: Params) -> list[Violation]:
    """The violations a task applies its actions to, oldest first."""
    target = params["target"]
    store = violation_store(backend)
    violation_ids = target.get("violationIds")
    profile_name = target.get("securityProfileName")
    behavior_name = target.get("behaviorName")
    if bool(violation_ids) == bool(profile_name):
        raise invalid_request("target needs either violationIds or a securityProfileName.")
    if behavior_name is not None and not profile_name:
        raise invalid_request("target behaviorName needs a securityProfileName.")
    if violation_ids:
        missing = [v for v in violation_ids if v not in store.violations]
        if missing:
            raise invalid_request(f"Violations {', '.join(missing)} do not exist.")
        chosen = [store.violations[v] for v in dict.fromkeys(violation_ids)]
    else:
        profile = get_profile(backend, profile_name)
        if behavior_name is not None and profile.behavior(behavior_name) is None:
            raise invalid_request(
                f"Security profile {profile_name} has no behavior {behavior_name}."
            )
        chosen = [
            v
            for v in store.by_profile.get(profile_name, ())
            if behavior_name is None or v.behavior["name"] == behavior_name
        ]
    window = params.get("violationEventOccurrenceRange")
    start = window["startTime"].timestamp() if window else None
    end = window["endTime"].timestamp() if window else None

    def included(violation: Violation) -> bool:
        return (
            (not params.get("includeOnlyActiveViolations") or violation.end_time is None)
            and (bool(params.get("includeSuppressedAlerts")) or not violation.suppressed)
            and (start is None or end is None or start <= violation.start_time <= end)
        )

    return sorted(filter(included, chosen), key=lambda v: v.start_time)


def _apply(
    ctx: RequestContext, action: MitigationAction, thing_name: str
) -> tuple[str, str | None, str | None]:
    """Apply an ADD_THINGS_TO_THING_GROUP action: (status, errorCode, message)."""
    backend = ctx.backend
    thing = registry_of(backend).things.get(thing_name)
    if thing is None:
        return "FAILED", "ResourceNotFoundException", f"Thing {thing_name} does not exist."
    params = action.params["addThingsToThingGroupParams"]
    groups = []
    for group_name in params["thingGroupNames"]:
        group = registry_of(backend).thing_groups.get(group_name)
        if group is None:
            return (
                "FAILED",
                "ResourceNotFoundException",
                f"Thing group {group_name} does not exist.",
            )
        groups.append(group)
    if all(thing_name in group.thing_names for group in groups):
        return "SKIPPED", None, f"Thing {thing_name} is already in every target thing group."
    try:
        for group in groups:
            check_static(group)
        # Moving a thing into a quarantine group takes it out of the other groups of the
        # same hierarchy: a thing is in at most one group of a hierarchy.
        roots = {root_name(backend, g.name) for g in groups}
        leaving = [
            registry_of(backend).thing_groups[name]
            for name in thing.group_names
            if root_name(backend, name) in roots and name not in {g.name for g in groups}
        ]
        update_memberships(ctx, thing, to_add=groups, to_remove=leaving)
    except ServiceError as error:
        return "FAILED", error.code, error.message
    return "SUCCESSFUL", None, None


def _run(ctx: RequestContext, store: DetectTaskStore, task: DetectTask) -> None:
    """Apply a task's actions to its violations, one execution each, and finish it."""
    for violation, action in task.pending:
        started = clock.now()
        status, code, message = _apply(ctx, action, violation.thing_name)
        execution = Execution(
            task.task_id,
            violation.violation_id,
            action.name,
            violation.thing_name,
            started,
            clock.now(),
            status,
            code,
            message,
        )
        task.executions.append(execution)
        store.executions[f"{task.task_id}\0{len(task.executions):08d}"] = execution
    task.pending = []
    failed = any(e.status == "FAILED" for e in task.executions)
    task.status = "FAILED" if failed else "SUCCESSFUL"
    task.ended_at = clock.now()


def run_held(ctx: RequestContext) -> list[str]:
    """Run every IN_PROGRESS task to completion; their ids."""
    store = _store(ctx.backend)
    return DETECT_TASKS.run_held(ctx.backend, lambda task: _run(ctx, store, task))


def hold(backend: Backend, held: bool) -> None:
    _store(backend).hold = held


@operation("iot", "StartDetectMitigationActionsTask")
def start_detect_mitigation_actions_task(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    store = _store(backend)
    task_id = params["taskId"]
    if DETECT_TASKS.repeated(backend, task_id, params["clientRequestToken"]):
        return {"taskId": task_id}  # An idempotent retry.
    actions = _actions(backend, params["actions"])
    violations = _select(backend, params)
    now = clock.now()
    task = DetectTask(
        task_id=task_id,
        client_request_token=params["clientRequestToken"],
        status="IN_PROGRESS",
        started_at=now,
        ended_at=None,
        target=params["target"],
        occurrence_range=params.get("violationEventOccurrenceRange"),
        only_active=bool(params.get("includeOnlyActiveViolations")),
        include_suppressed=bool(params.get("includeSuppressedAlerts")),
        actions=[a.definition() for a in actions],
    )
    task.pending = [(violation, action) for violation in violations for action in actions]
    store.tasks[task_id] = task
    if not store.hold:
        _run(ctx, store, task)
    return {"taskId": task_id}


@operation("iot", "CancelDetectMitigationActionsTask")
def cancel_detect_mitigation_actions_task(ctx: RequestContext, params: Params) -> dict[str, Any]:
    task = DETECT_TASKS.cancel(ctx.backend, params["taskId"])
    task.pending = []
    task.ended_at = clock.now()
    return {}


@operation("iot", "DescribeDetectMitigationActionsTask")
def describe_detect_mitigation_actions_task(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return {"taskSummary": DETECT_TASKS.get(ctx.backend, params["taskId"]).summary()}


@operation("iot", "ListDetectMitigationActionsTasks")
def list_detect_mitigation_actions_tasks(ctx: RequestContext, params: Params) -> dict[str, Any]:
    start, end = params["startTime"].timestamp(), params["endTime"].timestamp()
    return crud.page(
        ctx,
        params,
        _store(ctx.backend).tasks.items_after,
        "tasks",
        DetectTask.summary,
        scope=f"{start}:{end}",
        keep=lambda task: start <= task.started_at <= end,
        default_limit=DEFAULT_PAGE_SIZE,
    )


@operation("iot", "ListDetectMitigationActionsExecutions")
def list_detect_mitigation_actions_executions(
    ctx: RequestContext, params: Params
) -> dict[str, Any]:
    store = _store(ctx.backend)
    task_id = params.get("taskId")
    start_time, end_time = params.get("startTime"), params.get("endTime")
    if task_id is None and (start_time is None or end_time is None):
        raise invalid_request("Specify either a taskId or both startTime and endTime.")
    start = start_time.timestamp() if start_time is not None else None
    end = end_time.timestamp() if end_time is not None else None
    violation_id, thing_name = params.get("violationId"), params.get("thingName")

    def keep(execution: Execution) -> bool:
        return (
            (violation_id is None or execution.violation_id == violation_id)
            and (thing_name is None or execution.thing_name == thing_name)
            and (start is None or execution.started_at >= start)
            and (end is None or execution.started_at <= end)
        )

    # With a taskId, the executions keyed "<task id>\0<sequence>", in run order.
    executions = store.executions
    source = (
        executions.items_after
        if task_id is None
        else key_range(executions, f"{task_id}\0", f"{task_id}\1")
    )
    return crud.page(
        ctx,
        params,
        source,
        "actionsExecutions",
        Execution.shape,
        scope=f"{task_id}:{violation_id}:{thing_name}:{start}:{end}",
        keep=keep,
        default_limit=DEFAULT_PAGE_SIZE,
    )
